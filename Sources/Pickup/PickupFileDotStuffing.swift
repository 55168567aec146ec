// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// Undoes SMTP dot-stuffing in a pickup file written for IIS with `SmtpDotStuffPickupDirFiles`.
///
/// Decision: in this mode the file is treated as the DATA stream it imitates. RFC 5321 §4.5.2:
/// a line that starts with "." and has more characters loses that first ".", and a line that is
/// only "." ends the data (IIS stopped reading there). Anything but blank lines after that end
/// line is refused rather than dropped, so no part of a message disappears silently. Without
/// this mode (the default) lines are left exactly as written and "." is an ordinary line.
enum PickupDotStuffing {
    /// Takes CRLF-normalised bytes.
    static func unstuff(_ bytes: [UInt8]) throws(PickupRejection) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var lineStart = 0
        while lineStart < bytes.count {
            let lineEnd = lineEndIndex(bytes, from: lineStart)
            let content = bytes[lineStart..<lineEnd]
            if content.first == UInt8(ascii: ".") {
                if content.count == 1 {
                    try requireOnlyBlankLines(bytes[min(bytes.count, lineEnd + 2)...])
                    return out
                }
                out.append(contentsOf: bytes[(lineStart + 1)..<min(bytes.count, lineEnd + 2)])
            } else {
                out.append(contentsOf: bytes[lineStart..<min(bytes.count, lineEnd + 2)])
            }
            lineStart = lineEnd + 2
        }
        return out
    }

    private static func lineEndIndex(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        while index + 1 < bytes.count, !(bytes[index] == 0x0D && bytes[index + 1] == 0x0A) { index += 1 }
        return index + 1 < bytes.count ? index : bytes.count
    }

    private static func requireOnlyBlankLines(_ rest: ArraySlice<UInt8>) throws(PickupRejection) {
        guard rest.allSatisfy({ $0 == 0x0D || $0 == 0x0A || $0 == 0x20 || $0 == 0x09 }) else {
            throw PickupRejection(reason: "text follows the \".\" end-of-data line of a dot-stuffed pickup file", status: .mediaError)
        }
    }
}
