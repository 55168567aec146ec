#!/usr/bin/env bash
# The one command that runs every test: installs the real peers where missing (dnsmasq, postfix's
# smtp-sink/smtp-source, swaks, openssl, aiosmtpd, dkimpy), builds, and runs the whole suite.
# Peer tests never skip: a missing peer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
swift build --build-tests
# One test at a time: most suites start real peers (dnsmasq, aiosmtpd, the mailroot binary) and
# time out on replies; run all at once on two cores, they starve each other and fail for no
# reason of their own. Serially the whole suite takes about a minute.
swift test --skip-build --no-parallel "$@"
# Every benchmark script once, in its tiny configuration with the debug binary, so none of them
# can rot (the real runs and their figures: BENCHMARKS.md). Skipped when the tests were filtered.
if [ "$#" -eq 0 ]; then
    bash scripts/bench-smoke.sh
fi
