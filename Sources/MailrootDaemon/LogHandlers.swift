// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import Synchronization

/// One line per event on stderr, in the shape administrators grep: time, program, level, message
/// (the message starts with the queue ID where there is one), e.g.
/// `2026-11-29T04:30:00.123Z mailroot[812]: info: 0Q3V…: to=<bob@example.org>, relay=…, status=sent (250 …)`.
/// `json` writes the same fields as one object per line.
public struct MailrootLogHandler: LogHandler {
    public enum Format: Sendable { case text, json }

    /// The process's level, which a reload (SIGHUP) may change for every logger at once; a
    /// logger whose level was set explicitly keeps its own.
    static let sharedLevel = Atomic<UInt8>(UInt8(Logger.Level.info.index))
    static let levels = Logger.Level.allCases

    public var logLevel: Logger.Level {
        // Read on every log call: a table lookup, not `allCases` (which builds an array each time).
        get { ownLevel ?? Self.levels[Int(Self.sharedLevel.load(ordering: .relaxed))] }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level?
    public var metadata: Logger.Metadata = [:]
    private let format: Format

    public init(level: Logger.Level, format: Format) {
        Self.sharedLevel.store(UInt8(level.index), ordering: .relaxed)
        self.format = format
    }

    /// Changes the level of every logger that did not set its own (the reload of `log.level`).
    public static func setLevel(_ level: Logger.Level) {
        sharedLevel.store(UInt8(level.index), ordering: .relaxed)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let time = Self.timestamp()
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line: String
        switch format {
        case .text:
            let extra = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(time) mailroot[\(Self.pid)]: \(event.level): \(event.message)\(extra)\n"
        case .json:
            var object: [String: String] = ["time": time, "level": "\(event.level)", "message": "\(event.message)"]
            for (key, value) in merged { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line = String(decoding: data, as: UTF8.self) + "\n"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static let pid = ProcessInfo.processInfo.processIdentifier

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timestamp(now)
    }

    /// `2024-02-29T23:59:59.007Z`: UTC, milliseconds.
    static func timestamp(_ now: timespec) -> String {
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Written digit by digit: String(format:) goes through Foundation's format parser, which
        // showed in the daemon's profile at three log lines per message.
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8((rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        let fields: [(separator: Unicode.Scalar, value: Int32)] = [
            ("-", parts.tm_mon + 1), ("-", parts.tm_mday), ("T", parts.tm_hour), (":", parts.tm_min), (":", parts.tm_sec),
        ]
        for field in fields {
            text.append(UInt8(ascii: field.separator))
            digits(Int(field.value), 2)
        }
        text.append(UInt8(ascii: "."))
        digits(Int(now.tv_nsec / 1_000_000), 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}

extension Logger.Level {
    /// Position in `MailrootLogHandler.levels` (trace … critical), for storing a level in an atomic.
    var index: Int { MailrootLogHandler.levels.firstIndex(of: self) ?? 2 }
}
