// SPDX-License-Identifier: Apache-2.0
import SafeIO
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// setgroups + setgid + setuid for every thread of the process, the initial thread included.
///
/// Linux keeps credentials per thread; glibc makes setuid and friends process-wide by signalling
/// every other thread (SIGSETXID) — but it skips a thread that has called pthread_exit. Swift's
/// async `main` on Linux ends in libdispatch's `dispatch_main()`, which calls pthread_exit on the
/// initial thread and parks it for good in `sigsuspend` inside a TSD destructor. Switching from
/// any other thread would leave that thread as root, still running signal handlers: code
/// injected into the daemon could install one and get root back. So the switch itself is run
/// *on the initial thread*, from a signal handler sent to it with tgkill; glibc then carries it
/// to every other thread from there. The result is checked thread by thread in
/// /proc/self/task, and anything short of all of them refuses start-up.
enum ThreadCredentials {
    private static let signal = SIGUSR2
    /// What the handler applies; written before the signal is sent, read only in the handler.
    nonisolated(unsafe) private static var target: (uid: uid_t, gid: gid_t, groups: UnsafeMutableBufferPointer<gid_t>)?
    /// -1 while pending, 0 done, else the errno of the call that failed; `step` says which
    /// (1 setgroups, 2 setgid, 3 setuid).
    private static let outcome = Atomic<Int32>(-1)
    private static let step = Atomic<Int32>(0)

    static func switchAll(uid: uid_t, gid: gid_t, groups: [gid_t]) throws(DaemonError) {
        let buffer = UnsafeMutableBufferPointer<gid_t>.allocate(capacity: max(groups.count, 1))
        _ = buffer.initialize(from: groups)
        defer { buffer.deallocate() }
        target = (uid, gid, UnsafeMutableBufferPointer(rebasing: buffer[..<groups.count]))
        defer { target = nil }
        // Both are touched here first so that their lazy initialisation (swift_once, which may
        // lock) never happens inside the signal handler.
        outcome.store(-1, ordering: .sequentiallyConsistent)
        step.store(0, ordering: .sequentiallyConsistent)

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in ThreadCredentials.applyOnThisThread() }
        sigemptyset(&action.sa_mask)
        var previous = sigaction()
        guard sigaction(signal, &action, &previous) == 0 else { throw failure("sigaction") }
        defer { sigaction(signal, &previous, nil) }

        // The initial thread's id is the process id.
        guard let tgkill = threadKill(), tgkill(getpid(), getpid(), signal) == 0 else { throw failure("tgkill") }
        let deadline = ContinuousClock.now + .seconds(5)
        while outcome.load(ordering: .sequentiallyConsistent) == -1 {
            guard ContinuousClock.now < deadline else {
                throw DaemonError(description: "the initial thread did not switch users within 5 s; refusing to run with mixed credentials")
            }
            usleep(1000)
        }
        let code = outcome.load(ordering: .sequentiallyConsistent)
        guard code == 0 else {
            let call = ["setgroups", "setgid(\(gid))", "setuid(\(uid))"][Int(max(1, min(3, step.load(ordering: .sequentiallyConsistent)))) - 1]
            throw DaemonError(description: "\(call) failed: \(String(cString: strerror(code)))")
        }
        try verifyEveryThread(uid: uid, gid: gid)
    }

    /// Runs in the signal handler on the initial thread: only the three calls and two stores.
    private static func applyOnThisThread() {
        let savedErrno = errno
        defer { errno = savedErrno }
        guard let target else { return }
        var code: Int32 = 0
        step.store(1, ordering: .sequentiallyConsistent)
        if setgroups(target.groups.count, target.groups.baseAddress) != 0 {
            code = errno
        } else {
            step.store(2, ordering: .sequentiallyConsistent)
            if setgid(target.gid) != 0 {
                code = errno
            } else {
                step.store(3, ordering: .sequentiallyConsistent)
                if setuid(target.uid) != 0 { code = errno }
            }
        }
        outcome.store(code, ordering: .sequentiallyConsistent)
    }

    /// Every thread's real, effective, saved and file-system IDs, as the kernel reports them.
    private static func verifyEveryThread(uid: uid_t, gid: gid_t) throws(DaemonError) {
        guard let tasks = try? directoryEntries("/proc/self/task"), !tasks.isEmpty else {
            throw DaemonError(description: "cannot list /proc/self/task to check the switch of user")
        }
        for task in tasks {
            guard let status = ProcFile.read("/proc/self/task/\(task)/status") else { continue }  // thread ended
            for (name, expected) in [("Uid:", uid), ("Gid:", gid)] {
                guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { continue }
                let ids = line.dropFirst(name.count).split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard ids.count == 4, ids.allSatisfy({ UInt32($0) == expected }) else {
                    throw DaemonError(description: "thread \(task) still has \(line); refusing to run with mixed credentials")
                }
            }
        }
    }

    /// glibc's tgkill(2) wrapper is declared only under _GNU_SOURCE, so it is looked up by name.
    private static func threadKill() -> (@convention(c) (pid_t, pid_t, Int32) -> Int32)? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "tgkill") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (pid_t, pid_t, Int32) -> Int32).self)
    }

    private static func failure(_ call: String) -> DaemonError {
        DaemonError(description: "\(call) failed: \(String(cString: strerror(errno)))")
    }
}

/// /proc files report a size of 0, so they are read until end of file.
enum ProcFile {
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
