#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The disk's ceiling for durable queue files: how many files of 11 KiB per second can be
created, written, fsynced and renamed into place (what any MTA that fsyncs before acknowledging
must do at least once per message), with 1, 2, 4 and 8 threads at once. mailroot needs one such
file per message plus shared directory fsyncs, so this bounds figure 1 from above whatever the
code does. Measured on a fresh file system for each row, like every timed run of figures 1 and 2
(benchlib.FreshFilesystem), and, for comparison, in the work directory on the host's file system,
whose inode tables carry the history of every earlier run (BENCHMARKS.md, finding 15).

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


def host_disk_flushes():
    """Flush requests completed by the disk that holds the work directory (and the fresh file
    systems' image), from /sys/dev/block/M:N/stat; None where the kernel does not count them.
    One per file proves that each fsync reached the disk, through the loop device too."""
    device = os.stat("/var/tmp").st_dev
    fields = b.read(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}/stat").split()
    return int(fields[15]) if len(fields) >= 17 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--files", type=int, default=b.scaled(4000, 200))
    args = parser.parse_args()
    data = os.urandom(11 * 1024)
    disk = b.fresh_filesystem()
    workdir = b.workdir("disk")
    places = ([("fresh file system", disk.fresh)] if disk else []) + [("work directory", lambda: workdir)]
    rows, saved = [], {}
    try:
        for place, prepare in places:
            for threads in (1, 2, 4, 8):
                rates, flushes = [], []
                for _ in range(b.ROUNDS):
                    directory = os.path.join(prepare(), f"ceiling-{threads}")
                    os.makedirs(directory, exist_ok=True)
                    per_thread = args.files // threads
                    workers = [threading.Thread(target=durable_files, args=(directory, t, per_thread, data))
                               for t in range(threads)]
                    flushes_before = host_disk_flushes()
                    start = time.monotonic()
                    for w in workers:
                        w.start()
                    for w in workers:
                        w.join()
                    rates.append(per_thread * threads / (time.monotonic() - start))
                    if flushes_before is not None:
                        flushes.append((host_disk_flushes() - flushes_before) / (per_thread * threads))
                    for name in os.listdir(directory):
                        os.unlink(os.path.join(directory, name))
                rows.append([place, threads, b.fmt(rates), b.fmt(flushes, 2)])
                saved[f"{place} {threads}"] = rates
                saved[f"{place} {threads} flushes per file"] = flushes
    finally:
        if disk:
            disk.close()
        b.cleanup_workdir(workdir)
    b.print_table(f"Disk ceiling: durable 11 KiB files (create, write, fsync, rename), {b.ROUNDS} round(s), "
                  "files/s median (min-max)", ["where", "threads", "files/s", "host disk flushes per file"], rows)
    b.save_results("disk-ceiling", {"results": saved})


if __name__ == "__main__":
    main()
