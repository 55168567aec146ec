// SPDX-License-Identifier: Apache-2.0

/// An RFC 3463 enhanced mail system status code, `class.subject.detail` (e.g. `5.1.2`).
/// Every reply mailroot sends and every badmail or bounce reason carries one.
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible, Codable {
    public enum StatusClass: Int, Sendable, Codable {
        case success = 2
        case persistentTransientFailure = 4
        case permanentFailure = 5
    }

    public let statusClass: StatusClass
    public let subject: Int
    public let detail: Int

    public init(_ statusClass: StatusClass, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `"4.4.1"`; subject and detail are 1–3 digits (RFC 3463 §2).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              parts[0].count == 1,
              let first = Int(parts[0]), let statusClass = StatusClass(rawValue: first),
              let subject = Int(parts[1]), let detail = Int(parts[2]) else { return nil }
        self.init(statusClass, subject, detail)
    }

    public var description: String { "\(statusClass.rawValue).\(subject).\(detail)" }
    public var isPermanent: Bool { statusClass == .permanentFailure }
    public var isTransient: Bool { statusClass == .persistentTransientFailure }
}

extension EnhancedStatusCode {
    public static let ok = EnhancedStatusCode(.success, 0, 0)
    /// 5.1.1 bad destination mailbox address.
    public static let badMailbox = EnhancedStatusCode(.permanentFailure, 1, 1)
    /// 5.1.2 bad destination system address (NXDOMAIN).
    public static let badDestinationSystem = EnhancedStatusCode(.permanentFailure, 1, 2)
    /// 5.1.3 bad destination mailbox address syntax.
    public static let badAddressSyntax = EnhancedStatusCode(.permanentFailure, 1, 3)
    /// 5.1.7 bad sender's mailbox address syntax.
    public static let badSenderSyntax = EnhancedStatusCode(.permanentFailure, 1, 7)
    /// 5.1.10 recipient address has null MX (RFC 7505).
    public static let nullMX = EnhancedStatusCode(.permanentFailure, 1, 10)
    /// 5.3.4 message too big for system.
    public static let messageTooBig = EnhancedStatusCode(.permanentFailure, 3, 4)
    /// 4.3.1 mail system full.
    public static let mailSystemFull = EnhancedStatusCode(.persistentTransientFailure, 3, 1)
    /// 4.4.1 no answer from host.
    public static let noAnswerFromHost = EnhancedStatusCode(.persistentTransientFailure, 4, 1)
    /// 4.4.2 bad connection.
    public static let badConnection = EnhancedStatusCode(.persistentTransientFailure, 4, 2)
    /// 4.4.3 directory server failure (DNS SERVFAIL or timeout).
    public static let directoryServerFailure = EnhancedStatusCode(.persistentTransientFailure, 4, 3)
    /// 4.4.7 delivery time expired (used with class 5 when the message is given up).
    public static let deliveryTimeExpired = EnhancedStatusCode(.permanentFailure, 4, 7)
    /// 5.4.6 routing loop detected.
    public static let routingLoop = EnhancedStatusCode(.permanentFailure, 4, 6)
    /// 5.6.0 other or undefined media error (a message that does not parse).
    public static let mediaError = EnhancedStatusCode(.permanentFailure, 6, 0)
    /// 5.6.7 non-ASCII addresses not permitted for that recipient.
    public static let nonASCIIAddressNotPermitted = EnhancedStatusCode(.permanentFailure, 6, 7)
    /// 5.5.4 invalid command arguments (e.g. a bad `NOTIFY=` value).
    public static let invalidParameters = EnhancedStatusCode(.permanentFailure, 5, 4)
    /// 5.5.2 syntax error.
    public static let syntaxError = EnhancedStatusCode(.permanentFailure, 5, 2)
    /// 5.7.1 delivery not authorized (relay denied).
    public static let notAuthorized = EnhancedStatusCode(.permanentFailure, 7, 1)
}
