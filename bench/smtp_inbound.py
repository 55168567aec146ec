#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figure 2, SMTP inbound throughput: Postfix's `smtp-source` with 20 and 100 parallel sessions
(one message of 10 KiB per session, as `smtp-source` does by default, so every message pays for
its own connection, greeting and EHLO) into the listener, which relays to smtp-sink.

  accepted/s   messages / smtp-source's wall time (each acknowledged only after it is fsynced)
  delivered/s  messages / time from the first connection until the sink has every one

Any error (smtp-source failing, a message missing at the sink, a badmail file) fails the run.

Usage: smtp_inbound.py [--tiny] [--count N] [--sessions 20,100] [--sides mailroot,postfix]
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402
from pickup import World, timeout_for  # noqa: E402

SIZE = 10240
RECIPIENT_DOMAIN = "d7.bench"


def smtp_source(port, sessions, count, target=None):
    """Runs smtp-source against 127.0.0.1:port (or `target` when given, as "address:port" in
    `port`); returns (seconds, output). Raises on any error it reports."""
    server = port if target else f"127.0.0.1:{port}"
    start = time.monotonic()
    run = subprocess.run([b.SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(SIZE),
                          "-f", "sender@origin.bench", "-t", f"user@{RECIPIENT_DOMAIN}", server],
                         capture_output=True, text=True, timeout=timeout_for(count))
    elapsed = time.monotonic() - start
    output = run.stdout + run.stderr
    if run.returncode != 0 or "fatal" in output or "error" in output.lower():
        raise RuntimeError(f"smtp-source -s {sessions} failed ({run.returncode}): {output[-2000:]}")
    return elapsed, output


def mailroot_run(world, sessions, count):
    directory = world.run_directory("mailroot-smtp")
    port = b.free_port()
    smtp = (f'listen = ["127.0.0.1:{port}"]\nmax_connections = 2000\nmax_connections_per_ip = 1000')
    mailroot = b.Mailroot(directory, b.mailroot_config(world.dns.port, smtp=smtp))
    base = world.sink.total
    try:
        b.quiet_disk()
        mailroot.start(wait_for_line="smtp: listening on")
        start = time.monotonic()
        accepted, _ = smtp_source(port, sessions, count)
        end = world.sink.wait_for_total(base + count, timeout_for(count), "mailroot smtp")
        b.log(f"mailroot smtp: {mailroot.cpu_seconds() * 1e6 / count:,.0f} us CPU per message")
        if mailroot.badmail():
            raise RuntimeError("mailroot put files in badmail")
        return count / accepted, count / (end - start)
    except Exception:
        b.log(f"mailroot log tail:\n{mailroot.log_text()[-3000:]}")
        raise
    finally:
        mailroot.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            b.cleanup_workdir(directory)


def postfix_run(world, sessions, count):
    directory = world.run_directory("postfix-smtp")
    port = b.free_port()
    postfix = b.Postfix(directory, world.transport, smtpd_port=port)
    base = world.sink.total
    try:
        b.quiet_disk()
        postfix.start()
        postfix.wait_ready()
        b.wait_for(lambda: not b.port_is_free("127.0.0.1", port), 10, "postfix smtpd")
        start = time.monotonic()
        accepted, _ = smtp_source(port, sessions, count)
        end = world.sink.wait_for_total(base + count, timeout_for(count), "postfix smtp")
        return count / accepted, count / (end - start)
    except Exception:
        b.log(f"postfix log tail:\n{b.read(postfix.logpath)[-3000:]}")
        raise
    finally:
        postfix.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            b.cleanup_workdir(directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--count", type=int, default=b.scaled(10_000, 200))
    parser.add_argument("--sessions", default="20,100")
    parser.add_argument("--sides", default="mailroot,postfix")
    args = parser.parse_args()
    sides = args.sides.split(",")
    session_counts = [int(s) for s in args.sessions.split(",")]
    world = World("smtp")
    results = {}
    try:
        for sessions in session_counts:
            for round_number in range(1, b.ROUNDS + 1):
                for side in sides:
                    accepted, delivered = (mailroot_run if side == "mailroot" else postfix_run)(world, sessions, args.count)
                    results.setdefault((side, sessions), ([], []))
                    results[(side, sessions)][0].append(accepted)
                    results[(side, sessions)][1].append(delivered)
                    b.log(f"round {round_number}: {side} {sessions} sessions: accepted {accepted:,.0f}/s, "
                          f"delivered {delivered:,.0f}/s")
    finally:
        world.close()
    rows = []
    for sessions in session_counts:
        for side in sides:
            accepted, delivered = results[(side, sessions)]
            rows.append([sessions, side, b.fmt(accepted), b.fmt(delivered)])
        if "mailroot" in sides and "postfix" in sides:
            m, p = results[("mailroot", sessions)], results[("postfix", sessions)]
            rows.append([sessions, "ratio", b.ratio(m[0], p[0]), b.ratio(m[1], p[1])])
    b.print_table(f"Figure 2: SMTP inbound, {args.count:,} messages of {SIZE // 1024} KiB, {b.ROUNDS} round(s), "
                  "median (min-max)", ["sessions", "side", "accepted/s", "delivered/s"], rows)
    b.save_results("smtp-inbound", {"count": args.count,
                                    "results": {f"{s} {n}": {"accepted": v[0], "delivered": v[1]}
                                                for (s, n), v in results.items()}})


if __name__ == "__main__":
    main()
