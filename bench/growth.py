#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figure 5, cost growth: figure 1 (mailroot, live pickup and backlog) at 1,000, 10,000 and
100,000 messages. Throughput must stay flat: a per-message cost that grows with the queue's size
(a scan per message, a sorted insert, a directory that slows down) shows as a falling rate.

Usage: growth.py [--tiny] [--counts 1000,10000,100000] [--modes live,backlog]
The largest count runs one round (it takes minutes); the others run BENCH_ROUNDS rounds.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402
from pickup import World, measure  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--counts", default=b.scaled("1000,10000,100000", "50,100,200"))
    parser.add_argument("--modes", default="live,backlog")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    modes = args.modes.split(",")
    world = World("growth")
    results = {}
    try:
        for count in counts:
            rounds = 1 if count == max(counts) and len(counts) > 1 and not b.TINY else b.ROUNDS
            measured, _ = measure(world, count, [("mailroot", mode) for mode in modes], rounds)
            for mode in modes:
                results[(count, mode)] = measured[("mailroot", mode)]
    finally:
        world.close()
    rows = [[f"{count:,}"] + [b.fmt(results[(count, mode)]) for mode in modes] for count in counts]
    rows.append([f"{counts[-1]:,} / {counts[0]:,}"] +
                [b.ratio(results[(counts[-1], mode)], results[(counts[0], mode)]) for mode in modes])
    b.print_table("Figure 5: cost growth, mailroot pickup throughput (messages/s, median (min-max))",
                  ["messages"] + modes, rows)
    b.save_results("growth", {"results": {f"{c} {m}": v for (c, m), v in results.items()}})


if __name__ == "__main__":
    main()
