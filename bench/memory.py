#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figure 4, memory and scale (mailroot only; targets are absolute):

  queued     N messages of 4 KiB for a domain whose MX is down (connection refused), dropped into
             pickup/ before start; RSS (and peak, VmHWM) once pickup/ is empty and every message
             is queued and deferred.
  restart    the MX comes back (smtp-sink on its address); mailroot is stopped and started again
             with the N messages due: time from exec to the first message at the sink, and to the
             last (the drain rate after an outage).
  sessions   S concurrent idle inbound SMTP sessions (greeting read, EHLO answered, then silent):
             RSS before and with all of them open.

The retry interval is short (RETRY) so that, after the restart, every deferred message is due.

Usage: memory.py [--tiny] [--queued N] [--sessions S] [--skip-drain]
"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

SENDER = "sender@origin.bench"
RETRY = b.scaled("30s", "2s")


def queued_files(mailroot):
    try:
        return len(os.listdir(os.path.join(mailroot.queue, "msg")))
    except FileNotFoundError:
        return 0


def pickup_files(mailroot):
    return sum(1 for n in os.listdir(mailroot.pickup) if not n.startswith("."))


def queued_and_restart(directory, count, drain):
    net = b.pick_network()
    down = f"{net}.250"
    dns = b.Dnsmasq(directory, {"down.bench": "mx.down.bench"}, {"mx.down.bench": down})
    mailroot = b.Mailroot(os.path.join(directory, "queued"),
                          b.mailroot_config(dns.port, extra_delivery=f'retry = ["{RETRY}"]\nexpire = "2d"'))
    sink = None
    result = {}
    try:
        b.log(f"writing {count:,} pickup files")
        for i in range(count):
            recipient = f"user{i}@down.bench"
            b.write_pickup_file(mailroot.pickup, i, SENDER, recipient, b.make_message(i, recipient, 4096))
        time.sleep(2.5)  # a backlog is not seconds old (see pickup.settle)
        start = mailroot.start(wait_for_line=None)
        peak_rss = 0
        deadline = time.monotonic() + 120 + count / 20
        while pickup_files(mailroot) > 0 or queued_files(mailroot) < count:
            if time.monotonic() > deadline or mailroot.process.poll() is not None:
                raise RuntimeError(f"queueing stalled: {pickup_files(mailroot)} in pickup, "
                                   f"{queued_files(mailroot)} queued")
            peak_rss = max(peak_rss, mailroot.rss()[0])
            time.sleep(0.25)
        ingest = time.monotonic() - start
        time.sleep(2)  # let deferrals of the last messages settle
        rss, hwm = mailroot.rss()
        result.update(queued=count, ingest_seconds=ingest, ingest_rate=count / ingest,
                      rss_kib=rss, peak_rss_kib=max(peak_rss, hwm))
        b.log(f"{count:,} queued in {ingest:.1f} s ({count / ingest:,.0f}/s); RSS {rss / 1024:.0f} MiB, "
              f"peak {max(peak_rss, hwm) / 1024:.0f} MiB")
        mailroot.stop()
        stopped = time.monotonic()

        sink = b.Sink([down])
        # Every message must be due at the restart: wait out the retry interval.
        time.sleep(max(0, int(RETRY.rstrip("s")) + 1 - (time.monotonic() - stopped)))
        start = mailroot.start(wait_for_line=None)
        first = sink.wait_for_total(1, 120, "first delivery after restart")
        result["first_delivery_seconds"] = first - start
        b.log(f"first delivery {first - start:.2f} s after start with {count:,} queued")
        if drain:
            last = sink.wait_for_total(count, 120 + count / 20, "drain after restart")
            result["drain_rate"] = count / (last - start)
            result["drain_peak_rss_kib"] = mailroot.rss()[1]
            b.log(f"drained {count:,} in {last - start:.1f} s ({count / (last - start):,.0f}/s)")
        return result
    except Exception:
        b.log(f"mailroot log tail:\n{mailroot.log_text()[-3000:]}")
        raise
    finally:
        mailroot.stop()
        if sink:
            sink.stop()
        dns.stop()


def idle_sessions(directory, sessions):
    port = b.free_port()
    smtp = f'listen = ["127.0.0.1:{port}"]\nmax_connections = {sessions + 100}\nmax_connections_per_ip = {sessions + 100}'
    mailroot = b.Mailroot(os.path.join(directory, "sessions"), b.mailroot_config(1, smtp=smtp))
    sockets = []
    try:
        mailroot.start(wait_for_line="smtp: listening on")
        time.sleep(1)
        before = mailroot.rss()[0]
        for i in range(sessions):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            sockets.append(s)
            reply = read_reply(s)
            if not reply.startswith(b"220"):
                raise RuntimeError(f"session {i}: greeting {reply!r}")
            s.sendall(b"EHLO client.bench\r\n")
            reply = read_reply(s)
            if not reply.startswith(b"250"):
                raise RuntimeError(f"session {i}: EHLO {reply!r}")
        time.sleep(2)
        with_sessions, hwm = mailroot.rss()
        b.log(f"{sessions} idle sessions: RSS {before / 1024:.0f} -> {with_sessions / 1024:.0f} MiB (peak {hwm / 1024:.0f})")
        return dict(sessions=sessions, rss_before_kib=before, rss_kib=with_sessions, peak_rss_kib=hwm)
    except Exception:
        b.log(f"mailroot log tail:\n{mailroot.log_text()[-3000:]}")
        raise
    finally:
        for s in sockets:
            s.close()
        mailroot.stop()


def read_reply(s):
    """Reads one (possibly multi-line) SMTP reply."""
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) > 1 and any(len(line) >= 4 and line[3:4] == b" " for line in lines[:-1]):
            return data


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--queued", type=int, default=b.scaled(100_000, 200))
    parser.add_argument("--sessions", type=int, default=b.scaled(1000, 100))
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    b.ensure_peers()
    b.mailroot_binary()
    directory = b.workdir("memory")
    try:
        queued = queued_and_restart(directory, args.queued, not args.skip_drain)
        sessions = idle_sessions(directory, args.sessions)
    finally:
        b.cleanup_workdir(directory)
    mib = lambda kib: f"{kib / 1024:.0f} MiB"  # noqa: E731
    rows = [[f"RSS, {args.queued:,} queued (MX down)", mib(queued["rss_kib"]), "<= 150 MB"],
            [f"peak RSS while queueing {args.queued:,}", mib(queued["peak_rss_kib"]), ""],
            [f"queueing rate (backlog in pickup/)", f"{queued['ingest_rate']:,.0f}/s", ""],
            [f"start -> first delivery, {args.queued:,} queued", f"{queued['first_delivery_seconds']:.2f} s", "<= 3 s"]]
    if "drain_rate" in queued:
        rows.append([f"drain after restart, {args.queued:,} due", f"{queued['drain_rate']:,.0f}/s", ""])
        rows.append(["peak RSS during the drain", mib(queued["drain_peak_rss_kib"]), ""])
    rows += [[f"RSS, {args.sessions:,} idle SMTP sessions", mib(sessions["rss_kib"]), "<= 200 MB"],
             ["RSS, listener with no session", mib(sessions["rss_before_kib"]), ""]]
    b.print_table("Figure 4: memory and scale (mailroot)", ["measure", "value", "target"], rows)
    b.save_results("memory", {"queued": queued, "sessions": sessions})


if __name__ == "__main__":
    main()
