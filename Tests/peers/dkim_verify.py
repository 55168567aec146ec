#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Verifies a message's DKIM signatures with dkimpy, the independent verifier the tests trust.
The selector's TXT record comes from the command line instead of DNS, so no resolver is asked.

Usage: dkim_verify.py MESSAGE --name SELECTOR._domainkey.DOMAIN --record "v=DKIM1; k=...; p=..."
Prints PASS or FAIL, then dkimpy's own log; exits 0 when every signature verifies, 1 otherwise,
2 when the message has no signature at all, and 3 when the script itself fails (dkimpy missing,
an exception), so that a crash is never mistaken for a rejected signature.
"""
import argparse
import logging
import re
import sys
import traceback


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("message")
    parser.add_argument("--name", required=True)
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    import dkim
    with open(args.message, "rb") as f:
        message = f.read()

    def txt(name, timeout=5):
        asked = (name.decode() if isinstance(name, bytes) else name).rstrip(".").lower()
        return args.record.encode() if asked == args.name.lower() else None

    logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="dkimpy: %(message)s")
    signatures = len(re.findall(rb"(?im)^dkim-signature:", message.split(b"\r\n\r\n", 1)[0]))
    if signatures == 0:
        print("FAIL: no DKIM-Signature field")
        sys.exit(2)
    verifier = dkim.DKIM(message, logger=logging.getLogger("dkim"))
    results = []
    for index in range(signatures):
        try:
            results.append(verifier.verify(idx=index, dnsfunc=txt))
        except dkim.DKIMException as error:  # a signature that does not verify, with the reason
            print(f"signature {index}: {type(error).__name__}: {error}")
            results.append(False)
    print(("PASS" if all(results) else "FAIL") + f": {signatures} signature(s), results {results}")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc(file=sys.stdout)
        sys.exit(3)
