// SPDX-License-Identifier: Apache-2.0
import MailMessage
import SafeIO

/// Why the queue could not do what was asked, with the reply an SMTP server or the pickup
/// should give: a full disk is 452 4.3.1 (RFC 3463 §3.4), any other I/O trouble 451 4.3.0,
/// so the sender keeps the message and tries again.
public enum QueueError: Error, Sendable, CustomStringConvertible {
    case diskFull(String)
    case io(String)
    case unknownMessage(QueueID)
    case duplicateID(QueueID)
    /// No recipients, or an outcome for a recipient index the message does not have.
    case invalidRequest(String)
    /// Another process holds the queue directory's lock.
    case locked(String)

    public var status: EnhancedStatusCode {
        switch self {
        case .diskFull: .mailSystemFull
        case .io, .unknownMessage, .duplicateID, .locked: EnhancedStatusCode(.persistentTransientFailure, 3, 0)
        case .invalidRequest: EnhancedStatusCode(.permanentFailure, 5, 4)
        }
    }

    /// The SMTP reply code to use when refusing a message because of this error.
    public var replyCode: Int {
        switch self {
        case .diskFull: 452
        case .invalidRequest: 554
        default: 451
        }
    }

    public var description: String {
        switch self {
        case .diskFull(let detail): "queue disk full: \(detail)"
        case .io(let detail): "queue I/O error: \(detail)"
        case .unknownMessage(let id): "\(id): not in the queue"
        case .duplicateID(let id): "\(id): already in the queue"
        case .invalidRequest(let detail): "invalid queue request: \(detail)"
        case .locked(let detail): "queue directory in use: \(detail)"
        }
    }

    /// ENOSPC/EDQUOT become `diskFull`; everything else `io`.
    init(_ error: SafeIOError) {
        self = error.isDiskFull ? .diskFull(error.description) : .io(error.description)
    }

    /// Errors from the thread pool are either ours or "pool shut down".
    init(any error: any Error) {
        if let error = error as? QueueError { self = error } else if let error = error as? SafeIOError {
            self.init(error)
        } else {
            self = .io("\(error)")
        }
    }
}
