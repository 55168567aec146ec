#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The harness ceiling: `smtp-source` straight into `smtp-sink`, no MTA between, with the same
message size and session counts as figure 2. If an MTA's figure comes near this, the sink (or
the load generator sharing the two cores) is the bottleneck, not the MTA.

Usage: sink_ceiling.py [--tiny] [--count N] [--sessions 20,100]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402
from smtp_inbound import SIZE, smtp_source  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--count", type=int, default=b.scaled(20_000, 200))
    parser.add_argument("--sessions", default="20,100")
    args = parser.parse_args()
    b.ensure_peers()
    net = b.pick_network()
    address = f"{net}.200"
    sink = b.Sink([address])
    rows, saved = [], {}
    try:
        for sessions in [int(s) for s in args.sessions.split(",")]:
            rates = []
            for round_number in range(1, b.ROUNDS + 1):
                base = sink.total
                start = time.monotonic()
                seconds, _ = smtp_source_to(address, sessions, args.count)
                end = sink.wait_for_total(base + args.count, 60, "sink ceiling")
                rates.append(args.count / max(seconds, end - start))
                b.log(f"round {round_number}: {sessions} sessions: {rates[-1]:,.0f}/s")
            rows.append([sessions, b.fmt(rates)])
            saved[str(sessions)] = rates
    finally:
        sink.stop()
    b.print_table(f"Sink ceiling: smtp-source -> smtp-sink, {args.count:,} messages of {SIZE // 1024} KiB, "
                  f"{b.ROUNDS} round(s), messages/s median (min-max)", ["sessions", "messages/s"], rows)
    b.save_results("sink-ceiling", {"count": args.count, "results": saved})


def smtp_source_to(address, sessions, count):
    return smtp_source(f"{address}:25", sessions, count, target=address)


if __name__ == "__main__":
    main()
