#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The disk's ceiling for durable queue files: how many files of 11 KiB per second can be
created, written, fsynced and renamed into place (what any MTA that fsyncs before acknowledging
must do at least once per message), with 1, 2, 4 and 8 threads at once. mailroot needs one such
file per message plus shared directory fsyncs, so this bounds figure 1 from above whatever the
code does. Written in the work directory's file system (the same one the figures use).

Usage: disk_ceiling.py [--tiny] [--files N]
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402


def durable_files(directory, thread, count, data):
    for i in range(count):
        path = os.path.join(directory, f"{thread}-{i}")
        fd = os.open(path + ".tmp", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--files", type=int, default=b.scaled(4000, 200))
    args = parser.parse_args()
    data = os.urandom(11 * 1024)
    directory = b.workdir("disk")
    rows, saved = [], {}
    try:
        for threads in (1, 2, 4, 8):
            rates = []
            for _ in range(b.ROUNDS):
                per_thread = args.files // threads
                workers = [threading.Thread(target=durable_files, args=(directory, t, per_thread, data))
                           for t in range(threads)]
                start = time.monotonic()
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
                rates.append(per_thread * threads / (time.monotonic() - start))
                for name in os.listdir(directory):
                    os.unlink(os.path.join(directory, name))
            rows.append([threads, b.fmt(rates)])
            saved[str(threads)] = rates
    finally:
        b.cleanup_workdir(directory)
    b.print_table(f"Disk ceiling: durable 11 KiB files (create, write, fsync, rename), {b.ROUNDS} round(s), "
                  "files/s median (min-max)", ["threads", "files/s"], rows)
    b.save_results("disk-ceiling", {"results": saved})


if __name__ == "__main__":
    main()
