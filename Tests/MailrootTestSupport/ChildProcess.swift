// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A peer program (dnsmasq, an SMTP server script, the mailroot binary) started by a test.
/// Output goes to a log file in the test's temporary directory so a failing test can show it.
/// `deinit` and `stop()` end it, so a failing test never leaves a peer running.
///
/// Started with posix_spawn rather than Foundation's `Process`: children of `Process` on Linux
/// inherit a blocked signal mask (SIGTERM never arrives, so a graceful stop cannot be tested), and
/// `Process` mistakes a child closing its inherited descriptors for its exit, then blocks a shared
/// thread waiting for it. Here the child gets an empty signal mask and default handlers, and a
/// dedicated thread per child waits for its exit.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let logPath: String
    public let name: String
    /// Shared with the reaper thread. The thread must not hold `self`, or the process object
    /// would never be released and `deinit` would never kill the peer.
    private let exit = ExitState()

    public init(_ executable: String, _ arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        let path = ChildProcess.resolve(executable)
        guard FileManager.default.isExecutableFile(atPath: path) else { throw PeerError.missing(executable) }
        self.logPath = logPath
        self.name = URL(fileURLWithPath: path).lastPathComponent

        let logFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(logFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, logFD, 1)
        posix_spawn_file_actions_adddup2(&actions, logFD, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environmentValues = ProcessInfo.processInfo.environment
        for (key, value) in environment ?? [:] { environmentValues[key] = value }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environmentValues.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        pid = child
        Thread.detachNewThread { [exit, child] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            exit.record(status)
        }
    }

    deinit { stop(signal: SIGKILL) }

    private var rawExitStatus: Int32 { exit.status ?? 0 }

    public var isRunning: Bool { exit.status == nil }

    /// Sends `signal` (SIGTERM by default) and waits up to `grace` for the process to end, then kills it.
    public func stop(signal: Int32 = SIGTERM, grace: TimeInterval = 15) {
        guard isRunning else { return }
        kill(pid, signal)
        if !waitForExit(timeout: grace) {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 10)
        }
    }

    /// Blocks the calling thread until the process ends or `timeout` passes; true when it ended.
    @discardableResult
    public func waitForExit(timeout: TimeInterval) -> Bool {
        exit.wait(until: Date().addingTimeInterval(timeout))
    }

    /// Waits (without blocking Swift's shared threads) for the process to end by itself and
    /// returns its exit code (128 + signal number when a signal ended it).
    public func waitForExit() async -> Int32 {
        while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        let status = rawExitStatus
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Everything the process has written so far.
    public var output: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Polls the log until it contains `marker` (peers print a line when they are ready), or
    /// throws after `timeout`. Polling a file is the only portable signal a child gives us.
    public func waitForOutput(containing marker: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(marker) { return }
            guard isRunning else { throw PeerError.exitedEarly(name: name, output: output) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError.notReady(name: name, marker: marker, output: output)
    }

    static func resolve(_ executable: String) -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return executable
    }
}

/// The exit status of one child, filled in by its reaper thread.
private final class ExitState: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Int32?

    var status: Int32? {
        condition.lock(); defer { condition.unlock() }
        return value
    }

    func record(_ status: Int32) {
        condition.lock()
        value = status
        condition.broadcast()
        condition.unlock()
    }

    /// True once the child has exited, false if `deadline` passed first.
    func wait(until deadline: Date) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while value == nil {
            if !condition.wait(until: deadline) { return value != nil }
        }
        return true
    }
}

public enum PeerError: Error, CustomStringConvertible {
    case missing(String)
    case exitedEarly(name: String, output: String)
    case notReady(name: String, marker: String, output: String)

    public var description: String {
        switch self {
        case .missing(let what): return "peer not installed: \(what) (run scripts/install-peers.sh)"
        case .exitedEarly(let name, let output): return "\(name) exited early:\n\(output)"
        case .notReady(let name, let marker, let output): return "\(name) never printed \(marker):\n\(output)"
        }
    }
}

/// Fails (never skips) when a peer is missing: a skipped peer test must not pass silently, least of all in CI.
public func requirePeer(_ executable: String) throws {
    let resolved = ChildProcess.resolve(executable)
    guard FileManager.default.isExecutableFile(atPath: resolved) else { throw PeerError.missing(executable) }
}
