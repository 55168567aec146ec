#!/usr/bin/env bash
# Runs every benchmark figure, mailroot against Postfix on loopback, and prints each table.
#   bench/run-all.sh            full figures (about 30-40 minutes on 2 cores)
#   bench/run-all.sh --tiny     ~200 messages, one round: checks that the scripts work
# MAILROOT_BIN=path selects the binary (otherwise a release build of this checkout is made);
# BENCH_ROUNDS=n sets the rounds per side; BENCH_RESULTS=dir keeps the JSON results.
# Needs root (fake MX hosts bind 127.0.x.y:25; Postfix runs its own instance). Installs Postfix,
# dnsmasq and smtp-sink where missing (scripts/install-peers.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
args=("$@")
if [ -z "${MAILROOT_BIN:-}" ]; then
  scratch="${BENCH_SCRATCH:-$here/../.build-bench}"
  echo "run-all: building mailroot (release) in $scratch; set MAILROOT_BIN to skip" >&2
  (cd "$here/.." && swift build -c release --product mailroot --scratch-path "$scratch")
  export MAILROOT_BIN="$scratch/release/mailroot"
fi
echo "# mailroot benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r)"
echo "# binary: $MAILROOT_BIN; $(/usr/sbin/postconf -d mail_version 2>/dev/null || echo 'postfix ?')"
for script in disk_ceiling.py file_reuse.py sink_ceiling.py pickup.py smtp_inbound.py latency.py memory.py growth.py; do
  echo
  echo "## $script ${args[*]:-}"
  python3 "$here/$script" "${args[@]}"
done
