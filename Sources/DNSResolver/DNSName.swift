// SPDX-License-Identifier: Apache-2.0

/// Domain names in presentation form (`mx1.example.com`, no trailing dot, `""` for the root).
/// Names are checked before they go on the wire, and names read off the wire are escaped so that
/// hostile bytes (NUL, CR LF, `.` inside a label) cannot reach a log line or be mistaken for a
/// different name later.
enum DNSName {
    /// RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 on the wire.
    static let maxLabelLength = 63
    static let maxWireLength = 255

    /// The form used for queries and cache keys: one trailing dot removed, ASCII lower-cased, and
    /// only letters, digits, `-` and `_` (SRV/DKIM-style names) in labels of 1…63 octets.
    static func normalize(_ name: String) throws(DNSError) -> String {
        var text = Substring(name)
        if text.hasSuffix(".") { text = text.dropLast() }
        guard !text.isEmpty else { throw .invalidName(name) }
        let lowered = lowercased(String(text))
        var wireLength = 1
        for label in lowered.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard (1...maxLabelLength).contains(label.count),
                  label.allSatisfy(isHostnameByte) else { throw .invalidName(escapeForDisplay(name)) }
            wireLength += label.count + 1
        }
        guard wireLength <= maxWireLength else { throw .invalidName(escapeForDisplay(name)) }
        return lowered
    }

    /// Appends the uncompressed wire form. `name` is a presentation name whose labels contain no
    /// escapes (a normalised name or one built by a test); `""` is the root.
    static func encode(_ name: String, into bytes: inout [UInt8]) {
        if !name.isEmpty {
            for label in name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
                let clipped = label.prefix(maxLabelLength)
                bytes.append(UInt8(clipped.count))
                bytes.append(contentsOf: clipped)
            }
        }
        bytes.append(0)
    }

    /// Case-insensitive comparison, as RFC 4343 requires for DNS names (ASCII only).
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && zip(lhs.utf8, rhs.utf8).allSatisfy { lowerByte($0) == lowerByte($1) }
    }

    static func lowercased(_ name: String) -> String {
        String(decoding: name.utf8.map(lowerByte), as: UTF8.self)
    }

    /// A label read off the wire. Bytes other than printable ASCII, and the `.` and `\` that would
    /// change how the name splits, become RFC 1035 §5.1 `\DDD` escapes.
    static func formatLabel(_ bytes: ArraySlice<UInt8>, keepingDots: Bool = false) -> String {
        var text = ""
        text.reserveCapacity(bytes.count)
        for byte in bytes {
            let plain = (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "\\")
            if plain && (keepingDots || byte != UInt8(ascii: ".")) {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let digits = String(byte)
                text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        return text
    }

    /// A rejected name as it may appear in an error message: bounded and without control bytes.
    private static func escapeForDisplay(_ name: String) -> String {
        formatLabel(ArraySlice(name.utf8.prefix(300)), keepingDots: true)
    }

    private static func isHostnameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    private static func lowerByte(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
