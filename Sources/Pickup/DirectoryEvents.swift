// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc

/// Names of files closed after writing (`IN_CLOSE_WRITE`) or moved into (`IN_MOVED_TO`) one
/// directory, and of names created there (`IN_CREATE`), read from inotify on a dedicated thread
/// and handed out as an `AsyncStream`. Only names `accepts` approves are handed out: a writer that
/// composes under a temporary name causes three events per file, and two of them would otherwise
/// each wake the consumer for nothing.
///
/// A dedicated thread blocked in `poll` keeps the blocking `read` off Swift's cooperative pool
/// (two threads on a two-core machine) and wakes in well under a millisecond. An eventfd lets
/// `stop()` end the thread without closing a descriptor another thread is polling.
final class DirectoryEvents: Sendable {
    enum Event: Sendable, Equatable {
        case file(String)
        /// A name appeared without a write being finished: a hard link (`ln`, `link(2)`), or a file
        /// just opened for writing, whose `IN_CLOSE_WRITE` will follow.
        case created(String)
        /// The kernel dropped events (`IN_Q_OVERFLOW`): the caller must rescan the directory.
        case overflow
    }

    let events: AsyncStream<Event>
    private let context: ReaderContext

    init(directory: String, accepts: @escaping @Sendable (String) -> Bool) throws(PickupError) {
        let inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotifyFD >= 0 else { throw .watchFailed(directory: directory, errno: errno) }
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_ONLYDIR)
        guard inotify_add_watch(inotifyFD, directory, mask) >= 0 else {
            let code = errno
            close(inotifyFD)
            throw .watchFailed(directory: directory, errno: code)
        }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            let code = errno
            close(inotifyFD)
            throw .watchFailed(directory: directory, errno: code)
        }
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        self.events = stream
        let reader = ReaderContext(inotifyFD: inotifyFD, wakeFD: pipeFDs[0], wakeWriteFD: pipeFDs[1], continuation: continuation,
                                   accepts: accepts)
        self.context = reader
        var thread = pthread_t()
        let context = Unmanaged.passRetained(reader)
        let created = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<ReaderContext>.fromOpaque(raw!).takeRetainedValue()
            context.run()
            return nil
        }, context.toOpaque())
        if created != 0 {
            context.release()
            reader.closeAll()
            throw .watchFailed(directory: directory, errno: created)
        } else {
            pthread_detach(thread)
        }
    }

    /// Ends the reader thread and the stream; the thread closes both descriptors.
    func stop() { context.wake() }

    deinit { context.wake() }
}

/// Owns the descriptors; they are closed once, under a lock, so `wake()` never writes into a
/// closed pipe (which would raise SIGPIPE) nor into a descriptor number reused by someone else.
private final class ReaderContext: @unchecked Sendable {
    let inotifyFD: Int32
    let wakeFD: Int32
    private let wakeWriteFD: Int32
    private let lock = NSLock()
    private var closed = false
    let continuation: AsyncStream<DirectoryEvents.Event>.Continuation
    let accepts: @Sendable (String) -> Bool

    init(inotifyFD: Int32, wakeFD: Int32, wakeWriteFD: Int32, continuation: AsyncStream<DirectoryEvents.Event>.Continuation,
         accepts: @escaping @Sendable (String) -> Bool) {
        self.inotifyFD = inotifyFD
        self.wakeFD = wakeFD
        self.wakeWriteFD = wakeWriteFD
        self.continuation = continuation
        self.accepts = accepts
    }

    func wake() {
        lock.withLock {
            guard !closed else { return }
            var one: UInt8 = 1
            _ = write(wakeWriteFD, &one, 1)
        }
    }

    func closeAll() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            close(inotifyFD)
            close(wakeFD)
            close(wakeWriteFD)
        }
    }

    func run() {
        defer {
            continuation.finish()
            closeAll()
        }
        // Large enough for many events; one event is at most sizeof(inotify_event) + NAME_MAX + 1.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var fds = [pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            decode(buffer[0..<count])
        }
    }

    private func decode(_ bytes: ArraySlice<UInt8>) {
        let headerSize = MemoryLayout<inotify_event>.size
        var offset = bytes.startIndex
        while offset + headerSize <= bytes.endIndex {
            let (mask, nameLength) = bytes.withUnsafeBytes { raw -> (UInt32, Int) in
                let base = offset - bytes.startIndex
                let mask = raw.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self)
                let length = raw.loadUnaligned(fromByteOffset: base + 12, as: UInt32.self)
                return (mask, Int(length))
            }
            let nameStart = offset + headerSize
            let nameEnd = min(nameStart + nameLength, bytes.endIndex)
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                continuation.yield(.overflow)
            } else if nameLength > 0 {
                let name = String(decoding: bytes[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
                if accepts(name) { continuation.yield(mask & UInt32(IN_CREATE) != 0 ? .created(name) : .file(name)) }
            }
            offset = nameEnd
        }
    }
}
