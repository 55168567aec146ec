// SPDX-License-Identifier: Apache-2.0

/// `%XX` escaping for queue-file and journal values, so a value is always one token on one line.
/// Escaped: every byte ≤ 0x20 (space, CR, LF, NUL, controls), 0x7F and `%` itself. UTF-8 ≥ 0x80
/// stays as is so that internationalised addresses remain readable.
enum FieldEscaping {
    static func escape(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            if byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "%") {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for a malformed escape or for bytes that are not UTF-8.
    static func unescape(_ value: Substring) -> String? {
        var out: [UInt8] = []
        var bytes = value.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else { out.append(byte); continue }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else { return nil }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Replies from remote servers go in the journal as one line: control bytes become spaces,
    /// invalid UTF-8 is repaired, and the length is capped (a hostile server could send megabytes).
    static func oneLine(_ text: String, limit: Int = 2000) -> String {
        let cleaned = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : String($0) }.joined()
        let trimmed = cleaned.trimmingSpaces()
        guard trimmed.utf8.count > limit else { return trimmed }
        return String(decoding: trimmed.utf8.prefix(limit), as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }),
              let last = scalars.lastIndex(where: { $0 != " " }) else { return "" }
        return String(scalars[first...last])
    }
}
