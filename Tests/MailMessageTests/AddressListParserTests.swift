// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailMessage

private func addresses(_ value: String) throws -> [String] {
    try AddressListParser.parse(value).map(\.description)
}

@Test(arguments: [
    ("a@b.example", ["a@b.example"]),
    ("John Doe <john@example.com>", ["john@example.com"]),
    ("\"Doe, John\" <john@example.com>, jane@example.com", ["john@example.com", "jane@example.com"]),
    ("=?utf-8?Q?J=C3=B6rg?= <jorg@example.de>", ["jorg@example.de"]),
    ("<@relay1.example,@relay2.example:user@final.example>", ["user@final.example"]),
    ("undisclosed-recipients:;", []),
    ("undisclosed-recipients:", []),
    ("team: a@b.example, c@d.example;, e@f.example", ["a@b.example", "c@d.example", "e@f.example"]),
    ("a@b.example (Alice (the (nested) one) \\) ok), b@c.example", ["a@b.example", "b@c.example"]),
    ("john . doe @ Example.COM", ["john.doe@example.com"]),
    ("\"john smith\"@example.com", ["\"john smith\"@example.com"]),
    ("a@b.example,, ,c@d.example", ["a@b.example", "c@d.example"]),
    ("Jörg <jörg@bücher.example>", ["jörg@bücher.example"]),
    ("user@[192.0.2.1]", ["user@[192.0.2.1]"]),
    ("John Q. Public <jqp@example.com>", ["jqp@example.com"]),
])
func validAddressListsYieldTheirMailboxes(_ value: String, _ expected: [String]) throws {
    #expect(try addresses(value) == expected)
}

@Test(arguments: [
    "Doe, John <john@example.com>",
    "bob",
    "<>",
    "a@b.example c@d.example",
    "\"unterminated <a@b.example>",
    "a@b.example (unterminated",
    "outer: inner: a@b;;",
    "a@@b.example",
    "<a@b.example",
    "a@b.example>",
    "user@-bad-.example",
    "a@b\u{01}.example",
])
func invalidEntriesMakeTheWholeFieldInvalid(_ value: String) {
    #expect(throws: AddressListError.self) { try AddressListParser.parse(value) }
}

@Test func displayNamesAndGroupsAreReported() throws {
    let boxes = try AddressListParser.parseMailboxes("\"Doe, J\\\"ohn\" <j@d.example>, crew: k@e.example;")
    #expect(boxes.count == 2)
    #expect(boxes[0].displayName == "Doe, J\"ohn")
    #expect(boxes[0].group == nil)
    #expect(boxes[1].group == "crew")
}

@Test func deeplyNestedCommentsAreRefusedNotRecursed() {
    let hostile = "a@b.example " + String(repeating: "(", count: 10_000) + String(repeating: ")", count: 10_000)
    #expect(throws: AddressListError.self) { try AddressListParser.parse(hostile) }
}
