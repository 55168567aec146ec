#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scriptable SMTP server (aiosmtpd) that records what it accepts, for mailroot's tests.

Each accepted message N (from 1) is written to --record-dir as N.eml (the DATA content
byte-exact, after de-dot-stuffing) and then N.json (mail_from, rcpt_tos, helo, tls,
mail_options, rcpt_options). N.json appears last and atomically, so a reader that sees it
can read both. Prints READY on stdout once listening.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, Envelope, Session


class Recorder:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.transactions = 0
        self.reject = {a.lower() for a in args.reject_rcpt}
        self.defer = {a.lower() for a in args.defer_rcpt}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.no_8bitmime:
            responses = [r for r in responses if "8BITMIME" not in r.upper()]
        if self.args.pipelining or self.args.dsn:
            last = responses.pop()
            extra = (["250-PIPELINING"] if self.args.pipelining else []) + (["250-DSN"] if self.args.dsn else [])
            responses = responses + extra + [last]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        if address.lower() in self.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.transactions += 1
        if self.args.stall_data:
            # A delivery held in progress for as long as the test wants: it sees N.started,
            # does what must race the delivery, then creates "release" to let the reply go.
            open(os.path.join(self.args.record_dir, f"{self.transactions}.started"), "w").close()
            while not os.path.exists(os.path.join(self.args.record_dir, "release")):
                await asyncio.sleep(0.02)
        if self.transactions <= self.args.defer_first:
            return "451 4.3.0 Deferred by test server"
        self.count += 1
        base = os.path.join(self.args.record_dir, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or b"")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "helo": session.host_name,
            "tls": session.ssl is not None,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(record, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


class DSNSMTP(SMTP):
    """aiosmtpd refuses parameters it does not know; with --dsn the RFC 3461 ones are let
    through (and recorded upper-cased in mail_options / rcpt_options), not acted on."""
    dsn = False

    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None and self.dsn:
            for key in ("ENVID", "RET", "NOTIFY", "ORCPT"):
                result.pop(key, None)
        return result


async def refusing_server(args):
    """A server whose greeting is not 220: RFC 5321 §3.1 says it then waits for QUIT."""
    async def handle(reader, writer):
        writer.write(f"{args.greeting_code} 5.7.1 No SMTP service here\r\n".encode())
        await writer.drain()
        while line := await reader.readline():
            if line.strip().upper() == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                break
            writer.write(b"503 5.5.1 No service\r\n")
            await writer.drain()
        writer.close()
    return await asyncio.start_server(handle, args.host, args.port)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record-dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-broken", action="store_true",
                        help="offer STARTTLS but only with TLS 1.0, which mailroot refuses: the handshake fails")
    parser.add_argument("--reject-rcpt", action="append", default=[])
    parser.add_argument("--defer-rcpt", action="append", default=[])
    parser.add_argument("--defer-first", type=int, default=0)
    parser.add_argument("--greeting-code", type=int, default=220)
    parser.add_argument("--no-8bitmime", action="store_true")
    parser.add_argument("--size", type=int, default=0, help="announced SIZE limit (0: none)")
    parser.add_argument("--smtputf8", action="store_true")
    parser.add_argument("--pipelining", action="store_true", help="announce PIPELINING (aiosmtpd reads commands in order)")
    parser.add_argument("--dsn", action="store_true", help="announce DSN (parameters are recorded, not acted on)")
    parser.add_argument("--stall-data", action="store_true",
                        help="after DATA, write N.started in --record-dir and reply only once a file 'release' appears there")
    args = parser.parse_args()
    os.makedirs(args.record_dir, exist_ok=True)

    loop = asyncio.get_running_loop()
    if args.greeting_code != 220:
        server = await refusing_server(args)
    else:
        tls_context = None
        if args.tls_cert:
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(args.tls_cert, args.tls_key)
            if args.tls_broken:
                tls_context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                tls_context.maximum_version = ssl.TLSVersion.TLSv1
        handler = Recorder(args)

        DSNSMTP.dsn = args.dsn

        def factory():
            return DSNSMTP(handler, hostname="mx.test", data_size_limit=args.size or None,
                        enable_SMTPUTF8=args.smtputf8, decode_data=False, tls_context=tls_context,
                        require_starttls=False, ident="mailroot-test-peer")
        server = await loop.create_server(factory, host=args.host, port=args.port)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("READY", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
