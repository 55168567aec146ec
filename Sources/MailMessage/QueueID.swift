// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The name of one queued message: 16 characters of Crockford base-32, time-ordered, so that
/// `ls queue/msg` lists oldest first and an administrator can grep one ID through every log line.
/// The first 10 characters encode microseconds since 1970; the last 6 are random (30 bits), so IDs
/// made in the same microsecond by concurrent writers still differ.
public struct QueueID: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible, Codable {
    public let rawValue: String

    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public init?(_ description: String) {
        guard description.utf8.count == 16,
              description.utf8.allSatisfy({ QueueID.alphabet.contains($0) }) else { return nil }
        self.rawValue = description
    }

    public static func generate(at date: Date = Date()) -> QueueID {
        let micros = UInt64(max(0, date.timeIntervalSince1970) * 1_000_000)
        var random = UInt64.random(in: 0..<(1 << 30))
        var chars = [UInt8](repeating: 0, count: 16)
        var time = micros
        for index in stride(from: 9, through: 0, by: -1) {
            chars[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        for index in stride(from: 15, through: 10, by: -1) {
            chars[index] = alphabet[Int(random & 31)]
            random >>= 5
        }
        return QueueID(unchecked: String(decoding: chars, as: UTF8.self))
    }

    init(unchecked: String) { self.rawValue = unchecked }

    public var description: String { rawValue }
    public static func < (lhs: QueueID, rhs: QueueID) -> Bool { lhs.rawValue < rhs.rawValue }
}
