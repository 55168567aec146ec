// SPDX-License-Identifier: Apache-2.0

/// Recursive descent over `AddressToken`s for RFC 5322 §3.4 (and the cheap parts of §4.4).
struct AddressTokenParser {
    let tokens: [AddressToken]
    var position = 0

    init(tokens: [AddressToken]) { self.tokens = tokens }

    private var peek: AddressToken { tokens[position] }
    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }
    private func isSpecial(_ char: Character) -> Bool { peek == .special(char.asciiValue!) }

    mutating func addressList() throws(AddressListError) -> [HeaderMailbox] {
        var result: [HeaderMailbox] = []
        while peek != .end {
            if isSpecial(",") { advance(); continue }   // obs-addr-list: empty entries
            result += try address(allowGroup: true)
            guard peek == .end || isSpecial(",") else { throw unexpected("after an address") }
        }
        return result
    }

    /// `address = mailbox / group`; `mailbox = name-addr / addr-spec`.
    private mutating func address(allowGroup: Bool) throws(AddressListError) -> [HeaderMailbox] {
        let start = position
        let phrase = collectPhrase()
        if isSpecial("<") {
            let address = try angleAddress()
            return [HeaderMailbox(address: address, displayName: phrase, group: nil)]
        }
        if isSpecial(":") {
            guard let phrase else { throw AddressListError(reason: "a group has no name") }
            guard allowGroup else { throw AddressListError(reason: "groups cannot be nested") }
            advance()
            return try groupMembers(name: phrase)
        }
        if isSpecial("@") {
            position = start
            return [HeaderMailbox(address: try addrSpec(), displayName: nil, group: nil)]
        }
        if let phrase { throw AddressListError(reason: "\"\(phrase)\" is not an address (no @domain)") }
        throw unexpected("where an address should be")
    }

    /// `group-list` after `name:` up to `;`. A missing final `;` at the end of the field is
    /// tolerated: `undisclosed-recipients:` is common in the wild.
    private mutating func groupMembers(name: String) throws(AddressListError) -> [HeaderMailbox] {
        var members: [HeaderMailbox] = []
        while true {
            if isSpecial(";") { advance(); return members }
            if peek == .end { return members }
            if isSpecial(",") { advance(); continue }
            for var member in try address(allowGroup: false) {
                member.group = name
                members.append(member)
            }
            guard isSpecial(",") || isSpecial(";") || peek == .end else { throw unexpected("in group \"\(name)\"") }
        }
    }

    /// Words and dots (obs-phrase) forming a display name, or nil when there are none.
    private mutating func collectPhrase() -> String? {
        var text = ""
        var any = false
        while true {
            switch peek {
            case .atom(let word), .quoted(_, let word):
                if any { text += " " }
                text += word
            case .special(UInt8(ascii: ".")):
                text += "."
            default:
                return any ? text : nil
            }
            any = true
            advance()
        }
    }

    /// `angle-addr = "<" [obs-route] addr-spec ">"`. The source route is dropped: RFC 5321
    /// §3.3 says relays may ignore it and letting it steer delivery would make us an open relay.
    private mutating func angleAddress() throws(AddressListError) -> MailAddress {
        advance()
        if isSpecial(">") { throw AddressListError(reason: "empty address <>") }
        if isSpecial("@") || isSpecial(",") {
            while isSpecial("@") || isSpecial(",") {
                if isSpecial(",") { advance(); continue }
                advance()
                _ = try domain()
            }
            guard isSpecial(":") else { throw unexpected("in a source route") }
            advance()
        }
        let address = try addrSpec()
        guard isSpecial(">") else { throw unexpected("before \">\"") }
        advance()
        return address
    }

    /// `addr-spec = local-part "@" domain`; CFWS between the pieces was already dropped,
    /// which also normalises obs-local-part `john . doe`.
    private mutating func addrSpec() throws(AddressListError) -> MailAddress {
        var local = ""
        while true {
            switch peek {
            case .atom(let word): local += word
            case .quoted(let raw, _): local += raw
            default: throw unexpected("in the local part")
            }
            advance()
            guard isSpecial(".") else { break }
            local += "."
            advance()
        }
        guard isSpecial("@") else { throw AddressListError(reason: "\"\(local)\" is not an address (no @domain)") }
        advance()
        let domain = try domain()
        guard let address = MailAddress("\(local)@\(domain)") else {
            throw AddressListError(reason: "\"\(local)@\(domain)\" is not a valid address")
        }
        return address
    }

    private mutating func domain() throws(AddressListError) -> String {
        if case .domainLiteral(let literal) = peek { advance(); return literal }
        var domain = ""
        while true {
            guard case .atom(let label) = peek else { throw unexpected("in the domain") }
            domain += label
            advance()
            guard isSpecial(".") else { return domain }
            domain += "."
            advance()
        }
    }

    private func unexpected(_ place: String) -> AddressListError {
        let what: String
        switch peek {
        case .end: what = "end of field"
        case .atom(let text), .domainLiteral(let text), .quoted(let text, _): what = "\"\(text)\""
        case .special(let byte): what = "\"\(Character(Unicode.Scalar(byte)))\""
        }
        return AddressListError(reason: "unexpected \(what) \(place)")
    }
}
