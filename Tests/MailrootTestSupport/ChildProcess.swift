// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A peer program (dnsmasq, an SMTP server script, the mailroot binary) started by a test.
/// Output goes to a log file in the test's temporary directory so a failing test can show it.
/// `deinit` and `stop()` kill it, so a failing test never leaves a peer running.
public final class ChildProcess: @unchecked Sendable {
    public let process: Process
    public let logPath: String
    private let lock = NSLock()

    /// Starts `executable` (a path, or a name looked up on PATH) with `arguments`.
    public init(_ executable: String, _ arguments: [String], logPath: String,
                environment: [String: String]? = nil, currentDirectory: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ChildProcess.resolve(executable))
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.logPath = logPath
    }

    deinit { stop() }

    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }

    /// Sends `signal` (SIGTERM by default) and waits for the process to end.
    public func stop(signal: Int32 = SIGTERM) {
        lock.lock(); defer { lock.unlock() }
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// Waits for the process to end by itself and returns its exit status.
    public func waitForExit() async -> Int32 {
        await Task.detached { [process] in
            process.waitUntilExit()
            return process.terminationStatus
        }.value
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
            guard process.isRunning else {
                throw PeerError.exitedEarly(name: process.executableURL?.lastPathComponent ?? "?", output: output)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError.notReady(name: process.executableURL?.lastPathComponent ?? "?", marker: marker, output: output)
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
