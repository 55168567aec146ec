// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The pickup service: takes message files that applications drop into `pickup/` and moves
//   them into the durable queue.
//
// DESCRIPTION
//   A file is taken when its writer closes it or renames it in (inotify IN_CLOSE_WRITE /
//   IN_MOVED_TO), and by a directory scan at start-up, after an inotify overflow and every
//   `scanInterval` as a backstop. Names starting with "." or ending in ".tmp" are never taken:
//   writers compose under such a name (or elsewhere) and rename the file in. The scan leaves
//   alone a file modified in the last `settleTime`, in case its writer is still writing; inotify
//   events are taken at once because they only fire on close or rename.
//   Each file is parsed (PickupFileParser: x-sender/x-receiver or headers), queued, and only
//   then removed. Files that are not mail go to badmail with a reason beside them.
//
// SAFETY
//   Never reads through a symlink and never opens a FIFO or device: entries that are not regular
//   files are moved, as they are, into badmail. Never removes a pickup file before the queue has
//   fsynced the message and its directory; the removal itself is made durable (directory fsync,
//   shared among concurrent files) so a power cut cannot bring a file back as a duplicate.
//   When the queue cannot take a message (disk full), the file stays in pickup/ and is retried
//   at the next scan: never a silent drop.
//
// SEE ALSO
//   PickupFileParser.swift (the rules), MailQueue.Queue (durability), MailQueue.Badmail.
import Foundation
import Logging
import MailMessage
import MailQueue
import NIOPosix
import SafeIO
import ServiceLifecycle

public struct PickupConfiguration: Sendable {
    public var directory: String
    public var parseOptions: PickupParseOptions
    /// Backstop scan period (IIS polled; Exchange every 5 s). inotify makes normal latency sub-millisecond.
    public var scanInterval: Duration = .seconds(30)
    /// A file younger than this is left for a later scan unless inotify reported it closed.
    public var settleTime: Duration = .seconds(2)
    /// Files processed at once; more concurrency lets more messages share one queue fsync.
    public var concurrency: Int = 32
    /// Bytes of pickup files held in memory at once (MemoryBudget); a larger file is read alone.
    public var memoryBudget: Int = 64 * 1024 * 1024

    public init(directory: String, parseOptions: PickupParseOptions) {
        self.directory = directory
        self.parseOptions = parseOptions
    }
}

/// Watches `pickup/` and feeds the queue. A `Service`: `run()` returns on graceful shutdown after
/// the files already started are queued (or left in place).
public final class PickupWatcher: Service, Sendable {
    private let configuration: PickupConfiguration
    private let processor: PickupProcessor
    private let logger: Logger
    /// The most bytes of pickup files held in memory at once so far.
    var peakBytesInMemory: Int { processor.memoryBudget.peakInUse }

    /// `onQueued` is called with each message once it is durably queued (the daemon hands it to delivery).
    public init(configuration: PickupConfiguration, queue: Queue, badmail: Badmail,
                logger: Logger, threadPool: NIOThreadPool = .singleton,
                onQueued: @escaping @Sendable (QueueEntry) async -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.processor = PickupProcessor(configuration: configuration, queue: queue, badmail: badmail,
                                         logger: logger, threadPool: threadPool, onQueued: onQueued)
    }

    public func run() async throws {
        try createDirectories(configuration.directory, mode: 0o755)
        let events = try DirectoryEvents(directory: configuration.directory, accepts: PickupProcessor.isCandidate)
        defer { events.stop() }
        let work = WorkList()
        logger.info("pickup: watching \(configuration.directory)")
        await retakeClaimedFiles()

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.forwardEvents(events, to: work) }
                // Only the scan loop is cancelled on shutdown (its sleep must not delay the exit);
                // files already being processed are finished.
                group.addTask { await cancelWhenGracefulShutdown { await self.scanPeriodically(into: work) } }
                group.addTask { await self.processAll(from: work) }
            }
        } onGracefulShutdown: {
            events.stop()
            work.finish()
        }
    }

    /// Files claimed by a daemon that was killed before it finished with them.
    private func retakeClaimedFiles() async {
        let queue = processor.queue
        var leftovers: [(name: String, id: QueueID, original: String)] = []
        for name in (try? directoryEntries(configuration.directory)) ?? [] {
            if let claim = PickupProcessor.parseClaimedName(name) { leftovers.append((name, claim.id, claim.original)) }
        }
        for claim in leftovers {
            if await queue.entry(claim.id) != nil {
                try? removeFile("\(configuration.directory)/\(claim.name)")
            } else {
                logger.info("pickup: taking \(claim.original) again after an interrupted start (\(claim.id))")
                await processor.processClaimed(claim.name, id: claim.id, originalName: claim.original)
            }
        }
    }

    /// Call after the queue is recovered and before delivery starts: removes claimed pickup files
    /// whose message the queue already holds, so a message taken just before a crash is not taken twice.
    /// (Before delivery, because a delivered message leaves the queue and could no longer be matched.)
    public static func reconcileClaimedFiles(in directory: String, queued: Set<QueueID>) {
        _ = try? PickupProcessor.reconcileClaimedFiles(in: directory, isQueued: { queued.contains($0) })
    }

    private func forwardEvents(_ events: DirectoryEvents, to work: WorkList) async {
        for await event in events.events {
            switch event {
            case .file(let name): work.add(name, immediate: true)
            case .created(let name): checkLater(name, into: work)
            case .overflow:
                logger.warning("pickup: inotify queue overflowed, rescanning \(configuration.directory)")
                scan(into: work)
            }
        }
        work.finish()
    }

    /// A name that appeared without a finished write is looked at again once it has settled: a
    /// hard link (`ln`) gets no other event, and would otherwise wait for the next periodic scan.
    /// Only a file with a second link is taken this way. A file with one link may be open for
    /// writing by a program that is slow to write it; it is left for its `IN_CLOSE_WRITE` or the
    /// scan, as before (so a writer that links and then unlinks its temporary name, as maildir
    /// writers do, still waits for the scan).
    private func checkLater(_ name: String, into work: WorkList) {
        let delay = configuration.settleTime + .milliseconds(50)
        Task {
            try? await Task.sleep(for: delay)
            guard !work.isFinished else { return }
            _ = self.takeIfSettled(name, now: Date().timeIntervalSince1970, into: work, onlyWithASecondLink: true)
        }
    }

    private func scanPeriodically(into work: WorkList) async {
        while !work.isFinished, !Task.isCancelled {
            let sawFreshFiles = scan(into: work)
            let wait = sawFreshFiles ? configuration.settleTime : configuration.scanInterval
            try? await Task.sleep(for: wait)
        }
    }

    /// Adds every candidate name in pickup/ to the work list; returns true when some file was
    /// too fresh to take, so the caller scans again soon.
    @discardableResult
    private func scan(into work: WorkList) -> Bool {
        let names: [String]
        do {
            names = try directoryEntries(configuration.directory)
        } catch {
            logger.error("pickup: cannot list \(configuration.directory): \(error)")
            return false
        }
        var sawFresh = false
        let now = Date().timeIntervalSince1970
        for name in names where PickupProcessor.isCandidate(name) {
            if takeIfSettled(name, now: now, into: work) { sawFresh = true }
        }
        return sawFresh
    }

    /// Adds `name` to the work list unless it is a regular file modified less than `settleTime`
    /// ago (its writer may still be writing; true is returned) or is gone. Links, FIFOs and the
    /// like are added at once: the processor moves them to badmail without opening them.
    /// `onlyWithASecondLink`: for the check after IN_CREATE (`checkLater`).
    private func takeIfSettled(_ name: String, now: TimeInterval, into work: WorkList, onlyWithASecondLink: Bool = false) -> Bool {
        let settle = Double(configuration.settleTime.components.seconds)
            + Double(configuration.settleTime.components.attoseconds) / 1e18
        var info = stat()
        guard lstat("\(configuration.directory)/\(name)", &info) == 0 else {
            // Gone (taken already, or renamed away); any other error is for the processor to report.
            if errno != ENOENT && !onlyWithASecondLink { work.add(name, immediate: false) }
            return false
        }
        if onlyWithASecondLink && info.st_nlink < 2 { return false }
        if (info.st_mode & S_IFMT) == S_IFREG {
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            if now - modified < settle { return true }
        }
        work.add(name, immediate: false)
        return false
    }

    private func processAll(from work: WorkList) async {
        await withDiscardingTaskGroup { group in
            var running = 0
            for await name in work.names {
                if running >= configuration.concurrency {
                    // Wait for a slot: the work list is unbounded, the processing is not.
                    await work.waitForSlot()
                    running -= 1
                }
                running += 1
                group.addTask {
                    await self.processor.process(name: name)
                    work.done(name)
                }
            }
        }
    }
}
