// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailQueue

/// Text from outside (headers, addresses, replies, file names) made safe to print: C0 and C1
/// control characters and DEL become `\xNN` (tab kept), so a hostile header cannot move the
/// cursor, retitle the terminal or hide a line (CVE-2021-3156-style terminal escape injection).
func terminalSafe(_ text: String) -> String {
    var result = ""
    result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
        let value = scalar.value
        if (value < 0x20 && value != 0x09) || (0x7F...0x9F).contains(value) {
            result += String(format: "\\x%02X", value)
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// Bytes decoded as UTF-8 (invalid sequences become U+FFFD), then made terminal-safe.
func terminalSafe(_ bytes: some Collection<UInt8>) -> String {
    terminalSafe(String(decoding: bytes, as: UTF8.self))
}

/// A header section split into lines (CRLF or LF), each terminal-safe, without the empty last line.
func headerLines(_ bytes: [UInt8]) -> [String] {
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
        terminalSafe(line.last == 0x0D ? line.dropLast() : line[...])
    }
    while lines.last == "" { lines.removeLast() }
    return lines
}

/// `3d4h`, `2h13m`, `41m`, `12s`: the two largest units, as mailq users expect.
func formatAge(_ interval: TimeInterval) -> String {
    let seconds = max(0, Int(interval.rounded(.down)))
    let units = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
    var parts: [String] = []
    var rest = seconds
    for (size, name) in units where rest >= size || (parts.isEmpty && size == 1) {
        parts.append("\(rest / size)\(name)")
        rest %= size
        if parts.count == 2 { break }
    }
    return parts.joined()
}

/// `in 41m`, or `now` for a time already past (the daemon retries it at its next pass).
func formatDue(_ date: Date, now: Date) -> String {
    date <= now ? "now" : "in \(formatAge(date.timeIntervalSince(now)))"
}

/// `1234 B`, `12.1 KiB`, `3.4 MiB`.
func formatSize(_ bytes: Int64) -> String {
    if bytes < 1024 { return "\(bytes) B" }
    if bytes < 1024 * 1024 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
    return String(format: "%.1f MiB", Double(bytes) / (1024 * 1024))
}

/// `2026-11-29 05:54:05 UTC`: one unambiguous form for every time printed.
func formatTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(secondsFromGMT: 0)
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
    return formatter.string(from: date)
}

/// What an administrator calls a recipient's state: a pending recipient with attempts behind
/// it is `deferred` (mailq's "deferred queue"); without any it is `pending`.
func stateName(_ status: RecipientStatus) -> String {
    switch status.state {
    case .delivered: "delivered"
    case .failed: "failed"
    case .pending: status.attempts > 0 ? "deferred" : "pending"
    }
}

extension QueueSnapshotMessage {
    var senderText: String { entry.envelope.sender.map { terminalSafe($0.description) } ?? "<>" }
}
