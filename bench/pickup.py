#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figure 1, pickup throughput: N messages of 2-20 KiB to 100 domains (MX records from dnsmasq
pointing at smtp-sink on four 127.0.x.y addresses); messages/second from the first file dropped
(or from the daemon's start, for a backlog) until the sink has received every one.

  mailroot live     daemon running; files written into pickup/ as fast as one writer can
  mailroot backlog  files already in pickup/ when the daemon starts; timed from exec
  postfix live      Postfix running; PARALLEL `sendmail` processes at once
  postfix backlog   maildrop filled by `sendmail` while Postfix was stopped; timed from `postfix start`

Usage: pickup.py [--tiny] [--count N] [--sides mailroot,postfix] [--modes live,backlog]
                 [--pairs mailroot:live,postfix:backlog]
Prints one table (median with min-max over the rounds) and the mailroot/Postfix ratio against
the faster Postfix mode.
"""
import argparse
import concurrent.futures
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

DOMAINS = 100
SENDER = "sender@origin.bench"
PARALLEL_SENDMAIL = 8
PLAN_DOMAINS = DOMAINS


class World:
    """dnsmasq + sinks shared by every run of one invocation."""

    def __init__(self, label):
        b.ensure_peers()
        b.mailroot_binary()
        self.directory = b.workdir(label)
        self.net = b.pick_network()
        self.mx_addresses = [f"{self.net}.{h}" for h in (1, 2, 3, 4)]
        mx = {f"d{i}.bench": f"mx{i % 4}.bench" for i in range(DOMAINS)}
        hosts = {f"mx{k}.bench": a for k, a in enumerate(self.mx_addresses)}
        self.transport = {f"d{i}.bench": f"{self.mx_addresses[i % 4]}:25" for i in range(DOMAINS)}
        self.dns = b.Dnsmasq(self.directory, mx, hosts)
        self.sink = b.Sink(self.mx_addresses)
        self.disk = b.fresh_filesystem()
        self.runs = 0

    def run_directory(self, label):
        """Where one timed run keeps its MTA (spool, queue, logs): a fresh file system each time
        (benchlib.FreshFilesystem), or the work directory with BENCH_FRESH_FS=0."""
        self.runs += 1
        return self._new_directory(self.disk.fresh() if self.disk else self.directory, label)

    def scratch_directory(self, label):
        """For the harness's own files (Postfix's message files to feed sendmail): the work
        directory, so that only the MTA's files are on the fresh file system."""
        return self._new_directory(self.directory, label)

    def _new_directory(self, parent, label):
        path = os.path.join(parent, f"{self.runs:02d}-{label}")
        os.makedirs(path)
        os.chmod(path, 0o755)  # Postfix's daemons run as `postfix` and must reach their queue.
        return path

    def close(self):
        self.sink.stop()
        self.dns.stop()
        if self.disk:
            self.disk.close()
        b.cleanup_workdir(self.directory)


def settle():
    """A backlog is what piled up while the MTA was down, so its newest file is not seconds old.
    mailroot's start-up scan leaves files younger than its settle time (2 s) for a later scan, in
    case their writer is still writing, which would charge up to 2 s of waiting to a run that
    starts right after the last file was written. Both sides wait the same, and then the few
    seconds of quiet that every timed run starts with (benchlib.quiet_disk)."""
    time.sleep(2.5)
    b.quiet_disk()


def timeout_for(count):
    return 120 + count / 50


def mailroot_run(world, plan, mode):
    directory = world.run_directory(f"mailroot-{mode}")
    mailroot = b.Mailroot(directory, b.mailroot_config(world.dns.port))
    base = world.sink.total
    # Made before the clock starts, as Postfix's side writes its message files before it times
    # the sendmail calls: the timed loop is only the drop into pickup/.
    messages = [(index, recipient, b.make_message(index, recipient, size)) for index, recipient, size in plan]
    try:
        if mode == "backlog":
            for index, recipient, message in messages:
                b.write_pickup_file(mailroot.pickup, index, SENDER, recipient, message)
            settle()
            start = mailroot.start(wait_for_line=None)
        else:
            b.quiet_disk()
            mailroot.start(wait_for_line="pickup: watching")
            start = time.monotonic()
            for index, recipient, message in messages:
                b.write_pickup_file(mailroot.pickup, index, SENDER, recipient, message)
            # When this is close to the end, the writer, not mailroot, set the pace.
            b.log(f"mailroot live: the writer dropped the last file after {time.monotonic() - start:.1f} s")
        end = world.sink.wait_for_total(base + len(plan), timeout_for(len(plan)), f"mailroot {mode}")
        peak = mailroot.rss()[1]
        b.log(f"mailroot {mode}: {mailroot.cpu_seconds() * 1e6 / len(plan):,.0f} us CPU per message, "
              f"{end - start:.1f} s wall")
        if mailroot.badmail():
            raise RuntimeError(f"mailroot put {len(mailroot.badmail())} files in badmail")
        return len(plan) / (end - start), peak
    except Exception:
        b.log(f"mailroot log tail:\n{mailroot.log_text()[-3000:]}")
        raise
    finally:
        mailroot.stop()
        b.cleanup_workdir(directory) if os.environ.get("BENCH_KEEP") != "1" else None


def sendmail_all(postfix, files):
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_SENDMAIL) as pool:
        list(pool.map(lambda item: postfix.sendmail(SENDER, item[0], item[1]), files))


def postfix_run(world, plan, mode):
    directory = world.run_directory(f"postfix-{mode}")
    postfix = b.Postfix(directory, world.transport)
    base = world.sink.total
    messages = world.scratch_directory("postfix-messages")
    files = []
    for index, recipient, size in plan:
        path = os.path.join(messages, f"{index}.eml")
        with open(path, "wb") as f:
            f.write(b.make_message(index, recipient, size))
        files.append((recipient, path))
    try:
        if mode == "backlog":
            sendmail_all(postfix, files)
            settle()
            start = postfix.start()
        else:
            b.quiet_disk()
            postfix.start()
            postfix.wait_ready()
            start = time.monotonic()
            sendmail_all(postfix, files)
        end = world.sink.wait_for_total(base + len(plan), timeout_for(len(plan)), f"postfix {mode}")
        return len(plan) / (end - start), None
    except Exception:
        b.log(f"postfix log tail:\n{b.read(postfix.logpath)[-3000:]}")
        raise
    finally:
        postfix.stop()
        b.cleanup_workdir(directory) if os.environ.get("BENCH_KEEP") != "1" else None
        b.cleanup_workdir(messages) if os.environ.get("BENCH_KEEP") != "1" else None


def measure(world, count, runs, rounds):
    """{(side, mode): [messages/s per round]}, each round running `runs` ((side, mode) pairs) in order."""
    plan = b.message_plan(count, PLAN_DOMAINS)
    results = {run: [] for run in runs}
    peaks = []
    for round_number in range(1, rounds + 1):
        for side, mode in runs:
            rate, peak = (mailroot_run if side == "mailroot" else postfix_run)(world, plan, mode)
            results[(side, mode)].append(rate)
            if peak:
                peaks.append(peak)
            b.log(f"round {round_number}: {side} {mode} {count} messages: {rate:,.0f}/s")
    return results, peaks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--count", type=int, default=b.scaled(10_000, 200))
    parser.add_argument("--sides", default="mailroot,postfix")
    parser.add_argument("--modes", default="live,backlog")
    parser.add_argument("--domains", type=int, default=DOMAINS, help="spread over this many of the 100 domains")
    parser.add_argument("--pairs", help="only these side:mode runs, in this order each round "
                                        "(e.g. mailroot:live,postfix:backlog); overrides --sides and --modes")
    args = parser.parse_args()
    sides, modes = args.sides.split(","), args.modes.split(",")
    runs = [(side, mode) for mode in modes for side in sides]  # the sides alternate within each mode
    if args.pairs:
        runs = [tuple(pair.split(":", 1)) for pair in args.pairs.split(",")]
        if any(side not in ("mailroot", "postfix") or mode not in ("live", "backlog") for side, mode in runs):
            parser.error("--pairs: each pair is mailroot|postfix:live|backlog")
    global PLAN_DOMAINS
    PLAN_DOMAINS = args.domains
    world = World("pickup")
    try:
        results, peaks = measure(world, args.count, runs, b.ROUNDS)
    finally:
        world.close()
    rows = [[side, mode, b.fmt(results[(side, mode)])] for side, mode in sorted(runs)]
    b.print_table(f"Figure 1: pickup throughput, {args.count:,} messages of 2-20 KiB to {PLAN_DOMAINS} domains, "
                  f"{b.ROUNDS} round(s), messages/s median (min-max)", ["side", "mode", "messages/s"], rows)
    if PLAN_DOMAINS != DOMAINS:
        print(f"(messages spread over {PLAN_DOMAINS} domains only)")
    postfix_modes = [mode for side, mode in runs if side == "postfix"]
    mailroot_modes = [mode for side, mode in runs if side == "mailroot"]
    if postfix_modes and mailroot_modes:
        best_postfix = max((results[("postfix", m)] for m in postfix_modes), key=lambda v: sorted(v)[len(v) // 2])
        for mode in mailroot_modes:
            print(f"ratio mailroot {mode} / faster Postfix mode measured: {b.ratio(results[('mailroot', mode)], best_postfix)}")
    if peaks:
        print(f"mailroot peak RSS: {max(peaks) / 1024:.0f} MiB")
    b.save_results(f"pickup-{args.count}", {"count": args.count,
                                            "results": {f"{s} {m}": v for (s, m), v in results.items()},
                                            "mailroot_peak_rss_kib": max(peaks) if peaks else None})


if __name__ == "__main__":
    main()
