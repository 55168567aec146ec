#!/usr/bin/env bash
# The one command that runs every test: installs the real peers where missing (dnsmasq, postfix's
# smtp-sink/smtp-source, swaks, openssl, aiosmtpd, dkimpy), builds, and runs the whole suite.
# Peer tests never skip: a missing peer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
swift build --build-tests
# Tests start many child processes and sockets; the default parallelism is fine on 2 cores.
swift test --skip-build "$@"
