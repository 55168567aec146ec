// SPDX-License-Identifier: Apache-2.0
import SMTPProtocol
import Testing

@Test func parsesTheExtensionsMailrootActsOnCaseInsensitively() {
    let reply = SMTPReply(code: 250, lines: [
        "mx.test Hello", "pipelining", "SIZE 10240000", "8bitmime", "SmtpUtf8", "STARTTLS",
        "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "AUTH PLAIN login", "X-UNKNOWN a b",
    ])
    let capabilities = ESMTPCapabilities(ehloReply: reply)
    #expect(capabilities.pipelining)
    #expect(capabilities.size)
    #expect(capabilities.sizeLimit == 10_240_000)
    #expect(capabilities.eightBitMIME && capabilities.smtpUTF8 && capabilities.startTLS)
    #expect(capabilities.enhancedStatusCodes && capabilities.chunking && capabilities.dsn)
    #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN"])
    #expect(capabilities.keywords["X-UNKNOWN"] == ["a", "b"])
}

@Test func theGreetingLineIsNotAKeyword() {
    let capabilities = ESMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["STARTTLS"]))
    #expect(!capabilities.startTLS)
}

@Test func sizeWithoutOrWithZeroLimitAnnouncesNoLimit() {
    #expect(ESMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["x", "SIZE"])).sizeLimit == nil)
    #expect(ESMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["x", "SIZE 0"])).sizeLimit == nil)
    #expect(ESMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["x", "SIZE junk"])).sizeLimit == nil)
    #expect(ESMTPCapabilities.none.sizeLimit == nil && !ESMTPCapabilities.none.pipelining)
}

@Test func oldStyleAuthEqualsIsUnderstood() {
    let capabilities = ESMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["x", "AUTH=LOGIN PLAIN"]))
    #expect(capabilities.authMechanisms == ["LOGIN", "PLAIN"])
}
