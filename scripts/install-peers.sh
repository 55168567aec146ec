#!/usr/bin/env bash
# Installs the real peers the test suite runs against: dnsmasq (DNS), postfix (smtp-sink,
# smtp-source, a real MTA), swaks, openssl, and Python's aiosmtpd and dkimpy.
# Idempotent: does nothing for what is already present. Needs root (apt-get, pip).
set -euo pipefail

need_apt=()
command -v dnsmasq >/dev/null 2>&1 || need_apt+=(dnsmasq-base)
command -v swaks >/dev/null 2>&1 || need_apt+=(swaks)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v dig >/dev/null 2>&1 || need_apt+=(bind9-dnsutils)
# swaks needs Net::SSLeay for --tls.
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || need_apt+=(libnet-ssleay-perl)
[ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-peers: need root to install: ${need_apt[*]}" >&2
    exit 1
  fi
  # "No configuration" keeps Debian from starting a Postfix on port 25, which would collide
  # with the fake MX hosts the tests bind on 127.0.0.x:25.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PyNaCl is what dkimpy verifies Ed25519 signatures with (RFC 8463).
if ! python3 -c 'import aiosmtpd, dkim, nacl.signing' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd dkimpy pynacl
fi
echo "install-peers: dnsmasq, postfix (smtp-sink/smtp-source), swaks, openssl, aiosmtpd, dkimpy, pynacl present"
