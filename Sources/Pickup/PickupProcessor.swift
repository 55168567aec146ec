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
    let memoryBudget: MemoryBudget
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
        self.memoryBudget = MemoryBudget(capacity: configuration.memoryBudget)
    }

    /// Writers compose under a dot name or a `.tmp` name and rename the file in (README: pickup rules).
    static func isCandidate(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.hasSuffix(".tmp")
    }

    /// What reading and parsing decided, computed on the thread pool (blocking file I/O).
    private enum Intake: Sendable {
        case gone
        case refuse(reason: String, status: EnhancedStatusCode)
        case accept(ParsedPickupMessage, size: Int)
    }

    /// A file being taken is first renamed to `.claimed-<QueueID>-<name>`: a dot name the scan
    /// ignores, carrying the queue ID it will get. After a crash the daemon can tell, from the ID,
    /// whether the message already reached the queue (then the claimed file is only removed) or
    /// not (then it is taken again under the same ID) — no duplicate either way.
    static func claimedName(id: QueueID, original: String) -> String { ".claimed-\(id)-\(original)" }

    static func parseClaimedName(_ name: String) -> (id: QueueID, original: String)? {
        guard name.hasPrefix(".claimed-") else { return nil }
        let rest = name.dropFirst(".claimed-".count)
        guard rest.count > 17, let id = QueueID(String(rest.prefix(16))), rest.dropFirst(16).first == "-" else { return nil }
        return (id, String(rest.dropFirst(17)))
    }

    /// What the claim's trip to the pool found: the file as the claim measured it and, when the
    /// memory budget had room at once (the usual case), the file already read and parsed, which
    /// saves a second trip. The read need not wait for the claim to be durable; only the queue
    /// commit must.
    private struct Claim: Sendable {
        var status: FileStatus
        var readAhead: (intake: Intake, granted: Int)?
    }

    func process(name: String) async {
        let id = QueueID.generate()
        let path = "\(configuration.directory)/\(name)"
        let claimed = Self.claimedName(id: id, original: name)
        let claimedPath = "\(configuration.directory)/\(claimed)"
        let claim: Claim
        do {
            // nil: nothing to take (gone before the rename, or removed from under its claim).
            let taken = try await threadPool.runIfActive { [configuration, memoryBudget] () throws -> Claim? in
                guard rename(path, claimedPath) == 0 else {
                    if errno == ENOENT { return nil }
                    throw SafeIOError.system(operation: "rename", errno: errno, path: path)
                }
                // Measured here, in the same trip to the pool: its size for the memory budget, and
                // its kind, because a link or FIFO must be refused without being opened.
                guard let status = try fileStatus(atPath: claimedPath) else { return nil }
                guard let granted = memoryBudget.tryAcquire(Self.budgetShare(of: status, configuration)) else {
                    return Claim(status: status)
                }
                do {
                    let intake = try Self.readAndParse(path: claimedPath, kind: status.kind, id: id, configuration: configuration)
                    return Claim(status: status, readAhead: (intake, granted))
                } catch {
                    // Read again after the claim, where a failure is reported and the file released.
                    memoryBudget.release(granted)
                    return Claim(status: status)
                }
            }
            guard let taken else { return }
            claim = taken
        } catch {
            logger.error("pickup: cannot take \(name): \(error); will retry at the next scan")
            return
        }
        do {
            // The claim must be durable before the queue copy is, or a power cut could leave both.
            try await directorySync.sync()
        } catch {
            if let readAhead = claim.readAhead { memoryBudget.release(readAhead.granted) }
            logger.error("pickup: cannot take \(name): \(error); will retry at the next scan")
            await release(claimed, originalName: name)
            return
        }
        if let readAhead = claim.readAhead {
            defer { memoryBudget.release(readAhead.granted) }
            await take(readAhead.intake, id: id, path: claimedPath, name: name)
        } else {
            await processClaimed(claimed, id: id, originalName: name, status: claim.status)
        }
    }

    /// The bytes of the memory budget a file holds while it is read and queued. A file that grew
    /// since it was measured is still read only up to the read limit (and one byte past it).
    private static func budgetShare(of status: FileStatus, _ configuration: PickupConfiguration) -> Int {
        min(status.size, readLimit(configuration) + 1)
    }

    /// x-sender/x-receiver lines are not part of the message size; allow for a generous envelope.
    private static func readLimit(_ configuration: PickupConfiguration) -> Int {
        configuration.parseOptions.maxMessageSize + 1024 * 1024
    }

    /// Reads, parses and queues (or badmails) a file already renamed to its claimed name, holding
    /// its size of the memory budget meanwhile. `status` is the file as its claim found it; nil
    /// to look now (a file claimed before a restart).
    func processClaimed(_ claimed: String, id: QueueID, originalName name: String, status known: FileStatus? = nil) async {
        let path = "\(configuration.directory)/\(claimed)"
        let status: FileStatus?
        do {
            if let known { status = known } else { status = try await threadPool.runIfActive { try fileStatus(atPath: path) } }
        } catch {
            logger.error("pickup: cannot read \(name): \(error); will retry at the next scan")
            await release(claimed, originalName: name)
            return
        }
        guard let status else { return }
        let granted = await memoryBudget.acquire(Self.budgetShare(of: status, configuration))
        defer { memoryBudget.release(granted) }
        let intake: Intake
        do {
            intake = try await threadPool.runIfActive { [configuration] in
                try Self.readAndParse(path: path, kind: status.kind, id: id, configuration: configuration)
            }
        } catch {
            logger.error("pickup: cannot read \(name): \(error); will retry at the next scan")
            await release(claimed, originalName: name)
            return
        }
        await take(intake, id: id, path: path, name: name)
    }

    private func take(_ intake: Intake, id: QueueID, path: String, name: String) async {
        switch intake {
        case .gone:
            return
        case .refuse(let reason, let status):
            await moveToBadmail(path: path, name: name, reason: reason, status: status)
        case .accept(let parsed, let size):
            await enqueue(parsed, id: id, size: size, path: path, name: name)
        }
    }

    /// Gives a claimed file back its name (or a unique variant) so the next scan retries it.
    private func release(_ claimed: String, originalName name: String) async {
        let directory = configuration.directory
        _ = try? await threadPool.runIfActive {
            var target = "\(directory)/\(name)"
            if access(target, F_OK) == 0 { target += "-\(QueueID.generate())" }
            rename("\(directory)/\(claimed)", target)
        }
    }

    /// At start-up, before delivery begins: claimed files whose message is already queued are removed.
    /// Returns the others, to be taken again under their own queue IDs.
    static func reconcileClaimedFiles(in directory: String, isQueued: (QueueID) -> Bool) throws -> [(name: String, id: QueueID, original: String)] {
        var unfinished: [(name: String, id: QueueID, original: String)] = []
        for name in try directoryEntries(directory) {
            guard let claim = parseClaimedName(name) else { continue }
            if isQueued(claim.id) {
                try removeFile("\(directory)/\(name)")
            } else {
                unfinished.append((name, claim.id, claim.original))
            }
        }
        return unfinished
    }

    /// `kind` is what lstat(2) found before; the open below refuses anything swapped in since.
    private static func readAndParse(path: String, kind: FileKind, id: QueueID, configuration: PickupConfiguration) throws -> Intake {
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
        let bytes: [UInt8]
        do {
            bytes = try readAll(fd: opened.fd, limit: readLimit(configuration), path: path)
        } catch .tooLarge {
            return .refuse(reason: "message larger than max_message_size (\(configuration.parseOptions.maxMessageSize) bytes)",
                           status: .messageTooBig)
        }
        switch parsePickupFile(bytes, queueID: id, options: configuration.parseOptions, now: Date()) {
        case .accepted(let parsed): return .accept(parsed, size: bytes.count)
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
            await release((path as NSString).lastPathComponent, originalName: name)
            return
        }
        PickupMetrics.pickedUp.increment()
        logger.info("\(id): pickup file=\(name), size=\(size), from=<\(parsed.envelope.senderText)>, nrcpt=\(parsed.envelope.recipients.count)")
        do {
            // No directory fsync needed: a claimed file that survives a crash is matched to its
            // queued message by ID at start-up and removed then.
            try await threadPool.runIfActive { try removeFile(path) }
        } catch {
            logger.error("\(id): pickup: cannot remove the taken file \(name): \(error); it is removed at the next start")
        }
        await onQueued(entry)
    }

    private func moveToBadmail(path: String, name: String, reason: String, status: EnhancedStatusCode) async {
        do {
            let badName = try await threadPool.runIfActive { [badmail] in
                try badmail.move(fileAt: path, originalName: name, reason: reason, status: status)
            }
            PickupMetrics.badmailed(status)
            logger.warning("pickup: file=\(name) moved to badmail/\(badName): \(status) \(reason)")
        } catch {
            logger.error("pickup: file=\(name) refused (\(status) \(reason)) but could not be moved to badmail: \(error); left in place")
        }
    }
}
