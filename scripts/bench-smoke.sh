#!/usr/bin/env bash
# Runs every benchmark script once in its tiny configuration (about 200 messages, one round)
# with the debug binary, so the benchmarks cannot rot; fails if any script fails. The figures
# it prints mean nothing (debug build, tiny counts). Needs `swift build` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAILROOT_BIN="${MAILROOT_BIN:-$PWD/.build/debug/mailroot}"
[ -x "$MAILROOT_BIN" ] || { echo "bench-smoke: $MAILROOT_BIN missing (run swift build first)" >&2; exit 1; }
export BENCH_TINY=1 BENCH_ROUNDS=1
bash bench/run-all.sh --tiny
echo "bench-smoke: every benchmark script ran"
