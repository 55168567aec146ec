#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The kernel's side of finding 12: what a queue file per message costs when each one is created
and later deleted, against writing each new message over the file of one delivered earlier (the
queue's spare files). One thread, files of 11 KiB, each written and fsynced, renamed into msg/, and
retired 50 files later (deleted, or renamed back into tmp/ as a spare); msg/ fsynced every 8 files.
Files per second and CPU (user + system) per file, alternating the two ways for several rounds.
Each run on a fresh file system, like the figures' timed runs (benchlib.FreshFilesystem). No MTA
is involved.

Usage: file_reuse.py [--tiny] [--files N]
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

IN_FLIGHT = 50


def run(root, files, reuse, data):
    tmp, msg = os.path.join(root, "tmp"), os.path.join(root, "msg")
    for directory in (tmp, msg):
        os.makedirs(directory, exist_ok=True)
    spares = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    for i in range(files):
        if reuse and spares:
            temporary = spares.pop()
            fd = os.open(temporary, os.O_WRONLY)
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        else:
            temporary = os.path.join(tmp, str(i))
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.rename(temporary, os.path.join(msg, str(i)))
        if i >= IN_FLIGHT:
            finished = os.path.join(msg, str(i - IN_FLIGHT))
            if reuse:
                spare = os.path.join(tmp, f"spare-{i}")
                os.rename(finished, spare)
                spares.append(spare)
            else:
                os.unlink(finished)
        if i % 8 == 0:
            directory = os.open(msg, os.O_RDONLY)
            os.fsync(directory)
            os.close(directory)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for directory in (tmp, msg):
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
    return files / elapsed, cpu * 1e6 / files


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--files", type=int, default=b.scaled(15_000, 200))
    args = parser.parse_args()
    data = os.urandom(11 * 1024)
    disk = b.fresh_filesystem()
    workdir = b.workdir("file-reuse")
    results = {"create and delete": [], "rewrite a spare": []}
    try:
        for _ in range(b.ROUNDS):
            for label, reuse in (("create and delete", False), ("rewrite a spare", True)):
                directory = os.path.join(disk.fresh() if disk else workdir, "reuse")
                b.quiet_disk()
                rate, cpu = run(directory, args.files, reuse, data)
                results[label].append(rate)
                b.log(f"{label}: {rate:,.0f} files/s, {cpu:,.0f} us CPU per file")
    finally:
        if disk:
            disk.close()
        b.cleanup_workdir(workdir)
    b.print_table(f"File reuse: {args.files:,} queue-like files of 11 KiB, one thread, {b.ROUNDS} round(s), "
                  "files/s median (min-max)", ["way", "files/s"], [[k, b.fmt(v)] for k, v in results.items()])
    print(f"ratio rewrite / create: {b.ratio(results['rewrite a spare'], results['create and delete'])}")
    b.save_results("file-reuse", {"files": args.files, "results": results})


if __name__ == "__main__":
    main()
