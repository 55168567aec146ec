// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Byte-level checks and clean-ups applied to a message before it is queued.
public enum MessageBytes {
    /// Converts every line ending to CRLF (RFC 5322 §2.1): a bare LF and a lone CR each become
    /// CRLF, an existing CRLF stays. Leaving bare CR or LF in place would let the next hop read
    /// line boundaries differently from us, which is how SMTP smuggling works. When
    /// `terminateLastLine` is true, a final line without an ending gets CRLF.
    public static func normalizingLineEndings(_ bytes: [UInt8], terminateLastLine: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 32 + 2)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D {
                out.append(0x0D); out.append(0x0A)
                index += index + 1 < bytes.count && bytes[index + 1] == 0x0A ? 2 : 1
                continue
            }
            if byte == 0x0A {
                out.append(0x0D); out.append(0x0A)
            } else {
                out.append(byte)
            }
            index += 1
        }
        if terminateLastLine, let last = out.last, last != 0x0A {
            out.append(0x0D); out.append(0x0A)
        }
        return out
    }

    /// True when the bytes are already CRLF-only (no lone CR, no bare LF).
    public static func hasOnlyCRLFLineEndings(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 0x0D:
                guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { return false }
                index += 2
            case 0x0A:
                return false
            default:
                index += 1
            }
        }
        return true
    }

    /// Offset of the first NUL byte. RFC 5322 §2.3 forbids NUL anywhere in a message, and many
    /// C-based MTAs and filters truncate strings at it: what they check and what they deliver
    /// would differ.
    public static func firstNUL(in bytes: some Sequence<UInt8>) -> Int? {
        var offset = 0
        for byte in bytes {
            if byte == 0 { return offset }
            offset += 1
        }
        return nil
    }

    /// True when any byte is ≥ 0x80: the message needs `BODY=8BITMIME` (RFC 6152).
    public static func hasEightBitBytes(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.contains { $0 >= 0x80 }
    }

    // Whole messages are scanned as concrete `[UInt8]`: called from another module, the generic
    // versions above run unspecialised, one witness-table call per byte (`perf` showed them at
    // 30% of the daemon's CPU per picked-up message; BENCHMARKS.md "Profile findings").

    /// `firstNUL(in:)` for a whole message: memchr.
    public static func firstNUL(in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress, let hit = memchr(base, 0, buffer.count) else { return nil }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        }
    }

    /// `hasEightBitBytes(_:)` for a whole message: one OR over every byte, no early branch.
    public static func hasEightBitBytes(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var combined: UInt8 = 0
            for byte in buffer { combined |= byte }
            return combined & 0x80 != 0
        }
    }

    /// True when the bytes are valid UTF-8 (RFC 6532 headers must be).
    public static func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }
}
