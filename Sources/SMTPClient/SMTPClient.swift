// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   One SMTP conversation with one host: connect, greeting, EHLO (HELO fallback), opportunistic
//   STARTTLS, then transactions (MAIL, RCPT, DATA with a streamed body), RSET, QUIT.
//
// DESCRIPTION
//   `SMTPConnection.connect` returns a connection that has been greeted and has said EHLO (again
//   after TLS). `send(_:)` runs one transaction and returns every reply: it decides nothing
//   about retries or bounces; that is the caller's (Delivery's) job. Replies the server was never
//   asked for (a message over the announced SIZE, a UTF-8 address for a server without SMTPUTF8,
//   recipients after a refused MAIL) are synthesised so there is always one reply per recipient.
//   PIPELINING (RFC 2920) is used when offered. The body is read from the queue file in 64 KiB
//   chunks and written with back-pressure, never held whole.
//
// SAFETY
//   The server is untrusted: replies are bounded by `SMTPReplyDecoder`, every read and write has
//   a deadline (RFC 5321 §4.5.3.2), commands refuse CR/LF/NUL, and the body goes through
//   `DotStuffer`, so no bare CR/LF reaches the wire (SMTP smuggling). Bytes buffered behind the
//   `220` to STARTTLS end the connection (CVE-2011-0411). Opportunistic TLS does not verify the
//   certificate (RFC 7435): it defeats passive eavesdropping only, like Postfix's `may` level.
//
// SEE ALSO
//   Sources/SMTPProtocol (replies, commands, dot-stuffing); RFC 5321, RFC 3207, RFC 2920,
//   RFC 1870, RFC 6152, RFC 6531, RFC 3461.

/// The deadlines of one conversation. Defaults are RFC 5321 §4.5.3.2's minimums; the TLS, RSET
/// and QUIT values follow Postfix (`smtp_starttls_timeout`, `smtp_rset_timeout`, `smtp_quit_timeout`).
public struct SMTPTimeouts: Sendable, Hashable {
    public var connect: Duration = .seconds(30)
    public var greeting: Duration = .seconds(300)
    public var ehlo: Duration = .seconds(300)
    /// The STARTTLS reply and the TLS handshake after it.
    public var startTLS: Duration = .seconds(300)
    public var mail: Duration = .seconds(300)
    public var rcpt: Duration = .seconds(300)
    public var dataInitiation: Duration = .seconds(120)
    /// Each write of a body chunk.
    public var dataBlock: Duration = .seconds(180)
    /// The reply to the final `.`: the server may be scanning the message.
    public var finalDot: Duration = .seconds(600)
    public var rset: Duration = .seconds(20)
    public var quit: Duration = .seconds(5)

    public init() {}

    /// Every deadline set to `duration`: for tests that want a quick failure.
    public static func all(_ duration: Duration) -> SMTPTimeouts {
        var timeouts = SMTPTimeouts()
        timeouts.connect = duration; timeouts.greeting = duration; timeouts.ehlo = duration
        timeouts.startTLS = duration; timeouts.mail = duration; timeouts.rcpt = duration
        timeouts.dataInitiation = duration; timeouts.dataBlock = duration; timeouts.finalDot = duration
        timeouts.rset = duration; timeouts.quit = duration
        return timeouts
    }
}

public struct SMTPClientConfiguration: Sendable {
    /// The name said in EHLO/HELO: this host's fully qualified name (RFC 5321 §4.1.1.1).
    public var heloName: String
    /// STARTTLS whenever the server offers it, without verifying its certificate (RFC 3207,
    /// RFC 7435 opportunistic security, as Postfix's `smtp_tls_security_level = may`). If the
    /// handshake fails, `connect` throws `.tlsHandshakeFailed`; the caller may reconnect with
    /// this set to false, as Postfix does, rather than give up on the host.
    public var opportunisticTLS: Bool = true
    public var timeouts: SMTPTimeouts

    public init(heloName: String, opportunisticTLS: Bool = true, timeouts: SMTPTimeouts = SMTPTimeouts()) {
        self.heloName = heloName
        self.opportunisticTLS = opportunisticTLS
        self.timeouts = timeouts
    }
}
