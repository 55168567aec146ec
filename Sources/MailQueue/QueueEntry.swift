// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// A message handed to the queue: envelope, the CRLF message bytes and where it came from.
public struct NewMessage: Sendable {
    public var id: QueueID
    public var envelope: Envelope
    public var content: [UInt8]
    /// Any byte ≥ 0x80 in `content`: delivery needs BODY=8BITMIME.
    public var hasEightBitContent: Bool
    public var needsSMTPUTF8: Bool
    public var arrival: Date
    /// For the administrator: `pickup:<file name>`, `smtp:[192.0.2.1]`, `bounce:<queue ID>`.
    public var source: String

    public init(id: QueueID = .generate(), envelope: Envelope, content: [UInt8],
                hasEightBitContent: Bool? = nil, needsSMTPUTF8: Bool? = nil,
                arrival: Date = Date(), source: String) {
        self.id = id
        self.envelope = envelope
        self.content = content
        self.hasEightBitContent = hasEightBitContent ?? content.contains { $0 >= 0x80 }
        self.needsSMTPUTF8 = needsSMTPUTF8 ?? ((envelope.sender?.needsSMTPUTF8 ?? false)
            || envelope.recipients.contains { $0.address.needsSMTPUTF8 })
        self.arrival = arrival
        self.source = source
    }
}

public enum RecipientState: Sendable, Hashable {
    case pending, delivered, failed

    var isFinal: Bool { self != .pending }
}

public struct RecipientStatus: Sendable, Hashable {
    public var recipient: EnvelopeRecipient
    public var state: RecipientState
    /// Delivery attempts recorded so far (each outcome counts one).
    public var attempts: Int
    /// The last reply, one line, as recorded.
    public var lastReply: String?
    /// When this recipient is due; the arrival time until a deferral sets it.
    public var nextAttempt: Date

    public init(recipient: EnvelopeRecipient, state: RecipientState = .pending, attempts: Int = 0,
                lastReply: String? = nil, nextAttempt: Date) {
        self.recipient = recipient
        self.state = state
        self.attempts = attempts
        self.lastReply = lastReply
        self.nextAttempt = nextAttempt
    }
}

/// One queued message as the scheduler sees it: the envelope and per-recipient state in memory,
/// the body only as a reference into its file.
public struct QueueEntry: Sendable, Identifiable {
    public var id: QueueID
    /// Recipients as stored, in file order; `recipients[i]` is the state of `envelope.recipients[i]`.
    public var envelope: Envelope
    public var arrival: Date
    public var source: String
    public var message: StoredMessage
    public var needsSMTPUTF8: Bool
    public var recipients: [RecipientStatus]
    /// Held by the administrator (`hold/<ID>` exists): kept, never tried, until released.
    public var isHeld = false

    public var pendingIndices: [Int] { recipients.indices.filter { recipients[$0].state == .pending } }
    /// The earliest due time over pending recipients; nil when none is pending.
    public var nextAttempt: Date? {
        recipients.lazy.filter { $0.state == .pending }.map(\.nextAttempt).min()
    }
    /// Every recipient delivered or failed: the message leaves the queue.
    public var isFinished: Bool { recipients.allSatisfy { $0.state.isFinal } }

    init(header: QueueFile.Header, message: StoredMessage) {
        id = header.id
        envelope = header.envelope
        arrival = header.arrival
        source = header.source
        self.message = message
        needsSMTPUTF8 = header.needsSMTPUTF8
        recipients = header.envelope.recipients.map { RecipientStatus(recipient: $0, nextAttempt: header.arrival) }
    }

    /// Applies one journal record. A recipient already delivered or failed stays so: replay and
    /// late duplicate reports must never resurrect it. Returns false when nothing changed.
    @discardableResult
    mutating func apply(_ record: JournalRecord) -> Bool {
        guard recipients.indices.contains(record.index), !recipients[record.index].state.isFinal else { return false }
        var status = recipients[record.index]
        status.attempts = record.attempts
        status.lastReply = record.reply
        switch record.kind {
        case .delivered: status.state = .delivered
        case .failed: status.state = .failed
        case .deferred: status.nextAttempt = record.nextAttempt ?? status.nextAttempt
        }
        recipients[record.index] = status
        return true
    }
}

/// What happened to one recipient in one delivery attempt; `index` is into `envelope.recipients`.
public enum RecipientOutcome: Sendable {
    case delivered(index: Int, reply: String)
    case failed(index: Int, reply: String)
    case deferred(index: Int, reply: String, nextAttempt: Date)

    var index: Int {
        switch self {
        case .delivered(let index, _), .failed(let index, _), .deferred(let index, _, _): index
        }
    }
}

public struct QueueConfiguration: Sendable {
    /// The queue directory; `tmp/`, `msg/`, `state/` and `corrupt/` are created inside it.
    public var directory: String
    /// Most messages (or removals) committed by one group fsync.
    public var maxBatch: Int = 256
    /// Files of finished messages kept in `tmp/` to be written over by new messages, at most
    /// this many (0: none kept), and only files of at most `spareFileMaximumSize` bytes, so the
    /// disk they hold stays small (64 MiB by default). See `QueueDisk.retireMessage`.
    public var spareFiles: Int = 256
    public var spareFileMaximumSize: Int = 256 * 1024

    public init(directory: String, maxBatch: Int = 256) {
        self.directory = directory
        self.maxBatch = max(1, maxBatch)
    }
}
