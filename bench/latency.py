#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figure 3, latency: one message every 100 ms for 60 s; from the moment the pickup file is
complete (mailroot: renamed into pickup/; Postfix: `sendmail` has exited, i.e. postdrop has
written the maildrop file and poked pickup) until the remote MX answers `250` to the final dot.

The remote MX here is a small SMTP server in this process (a thread with its own event loop)
that timestamps each end of DATA with the same monotonic clock the sender uses and reads the
message's `X-Bench-Seq:` field. It does not offer PIPELINING, so each reply is its own round trip.

Usage: latency.py [--tiny] [--seconds S] [--interval-ms MS] [--sides mailroot,postfix]
"""
import argparse
import asyncio
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

SENDER = "sender@origin.bench"
RECIPIENT = "user@lat.bench"


class TimestampingSink:
    def __init__(self, address):
        self.arrivals = {}
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(address, ready), daemon=True).start()
        if not ready.wait(5):
            raise RuntimeError("timestamping sink did not start")

    def _run(self, address, ready):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._session, address, 25, backlog=256))
        ready.set()
        self.loop.run_forever()

    async def _session(self, reader, writer):
        writer.write(b"220 sink.bench ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    data = await reader.readuntil(b"\r\n.\r\n")
                    now = time.monotonic()
                    match = re.search(rb"X-Bench-Seq: (\d+)", data)
                    if match:
                        self.arrivals[int(match.group(1))] = now
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    await writer.drain()
                    return
                elif verb == b"EHLO":
                    writer.write(b"250-sink.bench\r\n250 8BITMIME\r\n")
                else:
                    writer.write(b"250 2.0.0 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def paced(count, interval, submit):
    """Calls submit(seq) every `interval` seconds on an absolute schedule; returns {seq: t0}."""
    written = {}
    start = time.monotonic()
    for seq in range(count):
        delay = start + seq * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        written[seq] = submit(seq)
    return written


def message(seq):
    return b.make_message(100_000 + seq, RECIPIENT, 4096, sender=SENDER, extra_headers=f"X-Bench-Seq: {seq}\r\n")


def latencies(written, sink, count, what):
    b.wait_for(lambda: len(sink.arrivals) >= count, 60, f"{what}: {len(sink.arrivals)} of {count} at the sink")
    values = [(sink.arrivals[s] - written[s]) * 1000 for s in written]
    sink.arrivals.clear()
    return values


def run_mailroot(directory, dns_port, sink, count, interval):
    os.makedirs(os.path.join(directory, "mailroot"))
    mailroot = b.Mailroot(os.path.join(directory, "mailroot"), b.mailroot_config(dns_port))
    mailroot.start(wait_for_line="pickup: watching")
    try:
        def submit(seq):
            b.write_pickup_file(mailroot.pickup, seq, SENDER, RECIPIENT, message(seq))
            return time.monotonic()
        written = paced(count, interval, submit)
        return latencies(written, sink, count, "mailroot")
    except Exception:
        b.log(f"mailroot log tail:\n{mailroot.log_text()[-3000:]}")
        raise
    finally:
        mailroot.stop()


def run_postfix(directory, address, sink, count, interval):
    path = os.path.join(directory, "postfix")
    os.makedirs(path)
    os.chmod(path, 0o755)
    postfix = b.Postfix(path, {"lat.bench": f"{address}:25"})
    postfix.start()
    postfix.wait_ready()
    files = os.path.join(path, "messages")
    os.makedirs(files)
    for seq in range(count):
        with open(os.path.join(files, f"{seq}.eml"), "wb") as f:
            f.write(message(seq))
    try:
        def submit(seq):
            postfix.sendmail(SENDER, RECIPIENT, os.path.join(files, f"{seq}.eml"))
            return time.monotonic()
        written = paced(count, interval, submit)
        return latencies(written, sink, count, "postfix")
    except Exception:
        b.log(f"postfix log tail:\n{b.read(postfix.logpath)[-3000:]}")
        raise
    finally:
        postfix.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--seconds", type=float, default=b.scaled(60, 3))
    parser.add_argument("--interval-ms", type=float, default=100)
    parser.add_argument("--sides", default="mailroot,postfix")
    args = parser.parse_args()
    sides = args.sides.split(",")
    interval = args.interval_ms / 1000
    count = int(args.seconds / interval)
    b.ensure_peers()
    b.mailroot_binary()
    directory = b.workdir("latency")
    net = b.pick_network()
    address = f"{net}.50"
    dns = b.Dnsmasq(directory, {"lat.bench": "mx.lat.bench"}, {"mx.lat.bench": address})
    sink = TimestampingSink(address)
    results = {}
    try:
        for side in sides:
            if side == "mailroot":
                results[side] = run_mailroot(directory, dns.port, sink, count, interval)
            else:
                results[side] = run_postfix(directory, address, sink, count, interval)
            v = results[side]
            b.log(f"{side}: p50 {percentile(v, 50):.1f} ms, p99 {percentile(v, 99):.1f} ms, max {max(v):.1f} ms")
    finally:
        sink.stop()
        dns.stop()
        b.cleanup_workdir(directory)
    rows = [[side, len(v), f"{percentile(v, 50):.1f}", f"{percentile(v, 99):.1f}", f"{max(v):.1f}"]
            for side, v in results.items()]
    b.print_table(f"Figure 3: latency, one message every {args.interval_ms:.0f} ms for {args.seconds:.0f} s, "
                  "file complete -> remote 250 (ms)", ["side", "messages", "p50", "p99", "max"], rows)
    b.save_results("latency", {"interval_ms": args.interval_ms, "seconds": args.seconds,
                               "results": {s: {"p50": percentile(v, 50), "p99": percentile(v, 99), "max": max(v)}
                                           for s, v in results.items()}})


if __name__ == "__main__":
    main()
