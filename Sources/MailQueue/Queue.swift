// SUMMARY
//   MailQueue: the durable store of messages waiting for delivery.
// DESCRIPTION
//   `Queue` owns a directory: `tmp/` (writes in progress, emptied at start), `msg/<QueueID>`
//   (committed message files, format in QueueFile.swift), `state/<QueueID>` (append-only
//   journal of recipient outcomes, QueueJournal.swift) and `corrupt/` (files set aside).
//   It keeps every message's envelope and recipient state in memory and hands out bodies only
//   as `StoredMessage` byte ranges. `Badmail` writes the badmail folder.
// SAFETY
//   A message is acknowledged only after its file is fsynced and renamed into `msg/` and `msg/`
//   is fsynced (RFC 5321 §6.1: after 250, never lose it). Delivered and failed outcomes are
//   durable before `record` returns, so a crash can cause a duplicate but never a loss or a
//   second bounce. A finished message's removal is durable (msg/ fsynced) before `record`
//   returns. Unreadable files never stop recovery: they go to `corrupt/`. Blocking syscalls run
//   on the NIOThreadPool. An flock on `<queue>/lock` keeps a second process out of the queue.
// SEE ALSO
//   docs/queue-format.md; Postfix global/mail_queue.c, rec_type.h; Exim spool journal;
//   Sources/SafeIO; Sources/Delivery (the scheduler that calls `record`).
import Foundation
import Glibc
import Logging
import MailMessage
import NIOPosix
import SafeIO

public actor Queue {
    struct PreparedMessage: Sendable {
        var entry: QueueEntry
        var header: [UInt8]
        var content: [UInt8]
        var trailer: [UInt8]
        /// A spare file (`tmp/spare-N`) to write the message into, instead of creating one.
        var spare: String?
    }

    let configuration: QueueConfiguration
    let logger: Logger
    let threadPool: NIOThreadPool
    let disk: QueueDisk
    var entries: [QueueID: QueueEntry] = [:]
    /// IDs whose files are being written: a second enqueue with the same ID must not replace them.
    private var reserved: Set<QueueID> = []
    /// Journals whose directory entry is known durable (state/ fsynced since they were created).
    var durableJournalNames: Set<QueueID> = []
    /// The last reply of a deferred recipient is kept in memory; when an MX is down, thousands
    /// of messages hold the same text, so they share one copy (BENCHMARKS.md, memory).
    var recentReplies = StringInterner(capacity: 256)
    var layoutReady = false
    var lockDescriptor: Int32 = -1
    private var commits = GroupCommit<PreparedMessage, Result<Void, QueueError>>()
    var removals = GroupCommit<(id: QueueID, hasJournal: Bool), SafeIOError?>()
    /// Spare files ready to be written over: finished messages' files whose removal from `msg/`
    /// is durable, so reusing one can never bring a finished message back with new content.
    var spareFiles: [String] = []
    /// Spares named for finished messages whose removal is not yet durable (counted against the limit).
    var retiringSpares = 0
    var nextSpareNumber = 0
    public private(set) var lastRecoveryStatistics = RecoveryStatistics()

    public init(configuration: QueueConfiguration, logger: Logger, threadPool: NIOThreadPool = .singleton) {
        self.configuration = configuration
        self.logger = logger
        self.threadPool = threadPool
        self.disk = QueueDisk(root: configuration.directory)
    }

    deinit {
        if lockDescriptor >= 0 { Glibc.close(lockDescriptor) }
    }

    /// Messages in the queue (committed and not finished).
    public var count: Int { entries.count }
    /// Group-commit batches of new messages so far (one `msg/` fsync each); for tests and debugging.
    public var commitBatchCount: Int { commits.batchCount }
    /// Batches of removals of finished messages so far.
    public var removalBatchCount: Int { removals.batchCount }

    public func entry(_ id: QueueID) -> QueueEntry? { entries[id] }

    /// Every queued message, oldest first.
    public func allEntries() -> [QueueEntry] { entries.values.sorted { $0.id < $1.id } }

    /// Creates the folders, takes the lock, empties `tmp/`, loads every `msg/` file's envelope
    /// (not its body) and replays its journal. Unreadable, truncated or corrupt files are moved
    /// to `corrupt/` with a warning; only trouble with the directories themselves throws.
    ///
    /// Messages are loaded `batchSize` at a time, oldest first, and each batch is in the queue
    /// and handed to `onBatch` before the next is read: with 100,000 queued, delivery can start
    /// on the first thousand instead of waiting seconds for the last (BENCHMARKS.md, start-up).
    public func recover(batchSize: Int = 1000,
                        onBatch: (@Sendable ([QueueEntry]) async -> Void)? = nil) async throws(QueueError) -> [QueueEntry] {
        try await takeLock()
        let disk = self.disk, logger = self.logger
        let (names, started) = try await runBlocking { () throws(SafeIOError) in
            var recovery = QueueRecovery(disk: disk, logger: logger)
            return (try recovery.begin(), recovery)
        }
        layoutReady = true
        var recovery = started
        var recovered: [QueueEntry] = []
        recovered.reserveCapacity(names.count)
        var start = names.startIndex
        while start < names.endIndex {
            let batch = names[start..<min(start + max(1, batchSize), names.endIndex)]
            start = batch.endIndex
            let current = recovery
            let (loaded, advanced) = try await runBlocking { () throws(SafeIOError) in
                var recovery = current
                return (recovery.load(batch), recovery)
            }
            recovery = advanced
            for entry in loaded where entries[entry.id] == nil { entries[entry.id] = entry }
            recovered += loaded
            if let onBatch { await onBatch(loaded) }
        }
        let finishing = recovery
        let statistics = try await runBlocking { () throws(SafeIOError) in
            var recovery = finishing
            try recovery.end()
            return recovery.statistics
        }
        lastRecoveryStatistics = statistics
        logger.info("queue: recovered \(statistics.messagesLoaded) message(s), \(statistics.movedToCorrupt) set aside in corrupt/, \(statistics.finishedMessagesRemoved) finished removed, \(statistics.orphanJournalsRemoved) orphan journal(s) removed")
        return recovered
    }

    /// Stores `message`; durable when it returns (file and `msg/` fsynced). Concurrent calls share
    /// the directory fsync: callers arriving while a batch is in flight form the next batch.
    public func enqueue(_ message: NewMessage) async throws(QueueError) -> QueueEntry {
        let id = message.id
        guard !message.envelope.recipients.isEmpty else { throw .invalidRequest("\(id): no recipients") }
        guard entries[id] == nil, !reserved.contains(id) else { throw .duplicateID(id) }
        reserved.insert(id)
        defer { reserved.remove(id) }
        try await prepareLayout()
        var prepared = Self.prepare(message, directory: disk.msg)
        // From here the spare is this message's temporary file: renamed into msg/, or unlinked.
        prepared.spare = spareFiles.popLast()
        let result = await withCheckedContinuation { continuation in
            if commits.add(prepared, continuation) { Task { await self.drainCommits() } }
        }
        switch result {
        case .success:
            logger.debug("\(id): queued from=<\(message.envelope.senderText)>, nrcpt=\(message.envelope.recipients.count), size=\(message.content.count)")
            return prepared.entry
        case .failure(let error):
            logger.warning("\(id): not queued: \(error)")
            throw error
        }
    }

    private static func prepare(_ message: NewMessage, directory: String) -> PreparedMessage {
        let header = QueueFile.Header(
            id: message.id, envelope: message.envelope, arrival: message.arrival, source: message.source,
            hasEightBitContent: message.hasEightBitContent, needsSMTPUTF8: message.needsSMTPUTF8,
            bodyLength: Int64(message.content.count))
        let headerBytes = QueueFile.encodeHeader(header)
        // The entry is built from the header as it will be read back, so recovery and
        // enqueue agree exactly (for instance on the arrival time rounded to microseconds).
        let storedHeader = (try? QueueFile.decodeHeader(headerBytes[...].dropLast())) ?? header
        let stored = StoredMessage(directory: directory, name: storedHeader.id.rawValue, offset: Int64(headerBytes.count),
                                   length: Int64(message.content.count), hasEightBitContent: message.hasEightBitContent)
        return PreparedMessage(entry: QueueEntry(header: storedHeader, message: stored), header: headerBytes,
                               content: message.content, trailer: QueueFile.trailer(bodyLength: header.bodyLength))
    }

    private func drainCommits() async {
        while let batch = commits.takeBatch(limit: configuration.maxBatch) {
            let results = await writeBatch(batch.map(\.item))
            for (waiter, result) in zip(batch, results) {
                if case .success = result { entries[waiter.item.entry.id] = waiter.item.entry }
                waiter.continuation.resume(returning: result)
            }
            logger.debug("queue: group commit of \(batch.count) message(s), batch \(commits.batchCount)")
        }
    }

    /// Writes, fsyncs and renames each file in parallel on the pool, then fsyncs `msg/` once.
    private nonisolated func writeBatch(_ items: [PreparedMessage]) async -> [Result<Void, QueueError>] {
        let disk = self.disk, pool = self.threadPool
        var results = [Result<Void, QueueError>](repeating: .failure(.io("not written")), count: items.count)
        await withTaskGroup(of: (Int, Result<Void, QueueError>).self) { group in
            for (index, item) in items.enumerated() {
                group.addTask {
                    do {
                        try await pool.runIfActive {
                            try disk.writeMessage(header: item.header, content: item.content, trailer: item.trailer,
                                                  id: item.entry.id, reusing: item.spare)
                        }
                        return (index, .success(()))
                    } catch {
                        return (index, .failure(QueueError(any: error)))
                    }
                }
            }
            for await (index, result) in group { results[index] = result }
        }
        let written = results.indices.filter { if case .success = results[$0] { true } else { false } }
        guard !written.isEmpty else { return results }
        do {
            try await pool.runIfActive { try fsyncDirectory(disk.msg) }
        } catch {
            // Not acknowledged, so it must not be delivered either: take the files back out.
            let ids = written.map { items[$0].entry.id }
            _ = try? await pool.runIfActive { for id in ids { try? removeFile(disk.messagePath(id)) } }
            for index in written { results[index] = .failure(QueueError(any: error)) }
        }
        return results
    }
}
