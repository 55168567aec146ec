// SPDX-License-Identifier: Apache-2.0
import MailMessage
import SMTPProtocol
import Testing

private let alice = MailAddress("alice@example.org")!
private let bob = MailAddress("bob@example.net")!

@Test func formatsSimpleCommands() throws {
    #expect(try SMTPClientCommand.ehlo("relay.example").encoded() == "EHLO relay.example\r\n")
    #expect(try SMTPClientCommand.helo("relay.example").encoded() == "HELO relay.example\r\n")
    #expect(try SMTPClientCommand.data.encoded() == "DATA\r\n")
    #expect(try SMTPClientCommand.rset.encoded() == "RSET\r\n")
    #expect(try SMTPClientCommand.quit.encoded() == "QUIT\r\n")
    #expect(try SMTPClientCommand.noop.encoded() == "NOOP\r\n")
    #expect(try SMTPClientCommand.startTLS.encoded() == "STARTTLS\r\n")
}

@Test func formatsMailWithEveryParameter() throws {
    let parameters = MailParameters(eightBitMIME: true, smtpUTF8: true, size: 1234, ret: "hdrs", envelopeID: "QID 1=x")
    #expect(try SMTPClientCommand.mail(from: alice, parameters).encoded()
        == "MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8 SIZE=1234 RET=HDRS ENVID=QID+201+3Dx\r\n")
    #expect(try SMTPClientCommand.mail(from: nil, MailParameters()).encoded() == "MAIL FROM:<>\r\n")
}

@Test func formatsRcptWithDSNParameters() throws {
    let parameters = RecipientParameters(notify: "success,failure", originalRecipient: "rfc822;bob@example.net")
    #expect(try SMTPClientCommand.rcpt(to: bob, parameters).encoded()
        == "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net\r\n")
    #expect(try SMTPClientCommand.rcpt(to: bob, RecipientParameters()).encoded() == "RCPT TO:<bob@example.net>\r\n")
}

@Test func refusesCRLFOrNULInAnyField() {
    for evil in ["a\r\nRCPT TO:<x@y>", "a\nb", "a\rb", "a\u{0}b"] {
        #expect(throws: SMTPProtocolError.self) { try SMTPClientCommand.ehlo(evil).encoded() }
        #expect(throws: SMTPProtocolError.self) {
            try SMTPClientCommand.mail(from: alice, MailParameters(envelopeID: evil)).encoded()
        }
        #expect(throws: SMTPProtocolError.self) {
            try SMTPClientCommand.rcpt(to: bob, RecipientParameters(originalRecipient: "rfc822;" + evil)).encoded()
        }
        #expect(throws: SMTPProtocolError.self) {
            try SMTPClientCommand.rcpt(to: bob, RecipientParameters(notify: evil)).encoded()
        }
    }
}

@Test func refusesInvalidDSNValues() {
    #expect(throws: SMTPProtocolError.self) { try SMTPClientCommand.rcpt(to: bob, RecipientParameters(notify: "NEVER,SUCCESS")).encoded() }
    #expect(throws: SMTPProtocolError.self) { try SMTPClientCommand.rcpt(to: bob, RecipientParameters(notify: "")).encoded() }
    #expect(throws: SMTPProtocolError.self) { try SMTPClientCommand.rcpt(to: bob, RecipientParameters(originalRecipient: "bob")).encoded() }
    #expect(throws: SMTPProtocolError.self) { try SMTPClientCommand.mail(from: alice, MailParameters(ret: "ALL")).encoded() }
}

@Test func encodesSpacesAndEqualsInXtextSoTheyCannotForgeParameters() throws {
    let line = try SMTPClientCommand.rcpt(to: bob, RecipientParameters(originalRecipient: "rfc822;a NOTIFY=NEVER")).encoded()
    #expect(line == "RCPT TO:<bob@example.net> ORCPT=rfc822;a+20NOTIFY+3DNEVER\r\n")
}
