// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailQueue
import NIOPosix
import SafeIO

/// Takes one pickup file: read (never through a link), parse, queue, remove — or badmail.
struct PickupProcessor: Sendable {
    let configuration: PickupConfiguration
    let queue: Queue
    let badmail: Badmail
    let logger: Logger
    let threadPool: NIOThreadPool
    let directorySync: DirectorySync
    let onQueued: @Sendable (QueueEntry) async -> Void

    init(configuration: PickupConfiguration, queue: Queue, badmail: Badmail, logger: Logger, threadPool: NIOThreadPool,
         onQueued: @escaping @Sendable (QueueEntry) async -> Void) {
        self.onQueued = onQueued
        self.configuration = configuration
        self.queue = queue
        self.badmail = badmail
        self.logger = logger
        self.threadPool = threadPool
        self.directorySync = DirectorySync(directory: configuration.directory, threadPool: threadPool)
    }

    /// Writers compose under a dot name or a `.tmp` name and rename the file in (README: pickup rules).
    static func isCandidate(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.hasSuffix(".tmp")
    }

    /// What reading and parsing decided, computed on the thread pool (blocking file I/O).
    private enum Intake: Sendable {
        case gone
        case refuse(reason: String, status: EnhancedStatusCode)
        case accept(ParsedPickupMessage, id: QueueID, size: Int)
    }

    func process(name: String) async {
        let path = "\(configuration.directory)/\(name)"
        let intake: Intake
        do {
            intake = try await threadPool.runIfActive { [configuration] in
                try Self.readAndParse(path: path, configuration: configuration)
            }
        } catch {
            logger.error("pickup: cannot read \(name): \(error); will retry at the next scan")
            return
        }
        switch intake {
        case .gone:
            return
        case .refuse(let reason, let status):
            await moveToBadmail(path: path, name: name, reason: reason, status: status)
        case .accept(let parsed, let id, let size):
            await enqueue(parsed, id: id, size: size, path: path, name: name)
        }
    }

    private static func readAndParse(path: String, configuration: PickupConfiguration) throws -> Intake {
        guard let kind = try fileKind(atPath: path) else { return .gone }
        guard kind == .regular else {
            return .refuse(reason: "\(kind) in the pickup directory is not a regular file; it was not read",
                           status: .mediaError)
        }
        let opened: (fd: Int32, size: Int64)
        do {
            opened = try openRegularFileNoFollow(path)
        } catch let error where error.errno == ENOENT {
            return .gone
        } catch let error {
            if case .notARegularFile(let kind, _) = error {
                return .refuse(reason: "\(kind) in the pickup directory is not a regular file; it was not read",
                               status: .mediaError)
            }
            throw error
        }
        defer { close(opened.fd) }
        // x-sender/x-receiver lines are not part of the message size; allow for a generous envelope.
        let limit = configuration.parseOptions.maxMessageSize + 1024 * 1024
        let bytes: [UInt8]
        do {
            bytes = try readAll(fd: opened.fd, limit: limit, path: path)
        } catch .tooLarge {
            return .refuse(reason: "message larger than max_message_size (\(configuration.parseOptions.maxMessageSize) bytes)",
                           status: .messageTooBig)
        }
        let id = QueueID.generate()
        switch parsePickupFile(bytes, queueID: id, options: configuration.parseOptions, now: Date()) {
        case .accepted(let parsed): return .accept(parsed, id: id, size: bytes.count)
        case .rejected(let rejection): return .refuse(reason: rejection.reason, status: rejection.status)
        }
    }

    private func enqueue(_ parsed: ParsedPickupMessage, id: QueueID, size: Int, path: String, name: String) async {
        let message = NewMessage(id: id, envelope: parsed.envelope, content: parsed.message,
                                 hasEightBitContent: parsed.hasEightBitContent, needsSMTPUTF8: parsed.needsSMTPUTF8,
                                 arrival: Date(), source: "pickup file \(name)")
        let entry: QueueEntry
        do {
            entry = try await queue.enqueue(message)
        } catch {
            logger.error("pickup: \(name): cannot queue: \(error); the file stays in pickup/ and is retried at the next scan")
            return
        }
        logger.info("\(id): pickup file=\(name), size=\(size), from=<\(parsed.envelope.senderText)>, nrcpt=\(parsed.envelope.recipients.count)")
        do {
            try await threadPool.runIfActive { try removeFile(path) }
            try await directorySync.sync()
        } catch {
            // The message is safely queued; a file we could not remove would be queued again.
            logger.error("\(id): pickup: cannot remove \(name) after queueing: \(error); it may be queued twice")
        }
        await onQueued(entry)
    }

    private func moveToBadmail(path: String, name: String, reason: String, status: EnhancedStatusCode) async {
        do {
            let badName = try await threadPool.runIfActive { [badmail] in
                try badmail.move(fileAt: path, originalName: name, reason: reason, status: status)
            }
            logger.warning("pickup: file=\(name) moved to badmail/\(badName): \(status) \(reason)")
        } catch {
            logger.error("pickup: file=\(name) refused (\(status) \(reason)) but could not be moved to badmail: \(error); left in place")
        }
    }
}
