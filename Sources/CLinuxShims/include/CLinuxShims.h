// SPDX-License-Identifier: Apache-2.0
// Linux calls that Swift's Glibc module does not import because glibc declares them only under
// _GNU_SOURCE. One inline wrapper each, nothing else.
#ifndef MAILROOT_CLINUXSHIMS_H
#define MAILROOT_CLINUXSHIMS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/// rename(2) that fails with EEXIST instead of replacing `newpath` (renameat2, Linux 3.15+).
/// EINVAL where the file system does not support the flag.
static inline int mailroot_rename_noreplace(const char *oldpath, const char *newpath) {
    return renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, RENAME_NOREPLACE);
}

/// mallopt(M_ARENA_MAX, n): at most `n` malloc arenas for the whole process.
static inline int mailroot_limit_malloc_arenas(int n) {
    return mallopt(M_ARENA_MAX, n);
}

#endif
