// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc

/// The real `mailroot` binary (built by `swift build`) running `serve` over a temporary root with
/// a config the test writes. Stopped (SIGTERM) when released; `kill()` simulates a crash.
public final class MailrootInstance: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let configPath: String
    public private(set) var process: ChildProcess?
    private var runs = 0

    public var root: String { directory.file("root") }
    public var pickup: String { "\(root)/pickup" }
    public var drop: String { "\(root)/drop" }
    public var badmail: String { "\(root)/badmail" }
    public var queue: String { "\(root)/queue" }

    /// `config` is the TOML body; `root = "..."` is added by the harness.
    public init(config: String, label: String = "mailroot") throws {
        directory = try TemporaryDirectory(label)
        configPath = directory.file("mailroot.toml")
        // No SMTP listener unless the test asks for one: the default 127.0.0.1:2525 would be shared by every test.
        let listener = config.contains("[smtp]") ? "" : "\n[smtp]\nlisten = []\n"
        // Never the machine's resolver (the default is /etc/resolv.conf): a test that needs DNS names
        // its dnsmasq; any other lookup goes to a loopback port where nothing answers.
        let resolver = config.contains("[dns]") ? "" : "\n[dns]\nservers = [\"127.0.0.1:1\"]\ntimeout = \"1s\"\n"
        try "root = \"\(directory.file("root"))\"\n\(config)\n\(listener)\(resolver)"
            .write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit { process?.stop() }

    /// The config of a test mailroot that resolves through a test's dnsmasq on `dnsPort` and
    /// delivers to `deliveryPort`, with a 1 s pickup scan: `settings` are extra top-level keys,
    /// `delivery` extra `[delivery]` lines.
    public static func config(hostname: String, dnsPort: Int, deliveryPort: Int, settings: String = "",
                              delivery: String) -> String {
        """
        hostname = "\(hostname)"
        \(settings)

        [pickup]
        scan_interval = "1s"

        [dns]
        servers = ["127.0.0.1:\(dnsPort)"]
        timeout = "2s"

        [delivery]
        port = \(deliveryPort)
        \(delivery)
        """
    }

    /// The binary next to the test bundle: `.build/<configuration>/mailroot`.
    public static var binaryPath: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("mailroot").path
    }

    /// Starts `mailroot serve` and returns once it logs that it is serving.
    public func start(extraArguments: [String] = []) async throws {
        runs += 1
        let process = try ChildProcess(Self.binaryPath, ["serve", "--config", configPath, "--log-level", "debug"] + extraArguments,
                                       logPath: directory.file("mailroot-\(runs).log"))
        self.process = process
        try await process.waitForOutput(containing: "mailroot: serving")
    }

    /// SIGTERM and wait: a clean stop.
    public func stop() { process?.stop() }

    /// SIGKILL: a crash, nothing gets to clean up.
    public func kill() { process?.stop(signal: SIGKILL) }

    /// Waits for the `pickup file=NAME` line and returns the queue ID mailroot gave that file.
    public func queueID(ofPickupFile name: String) async throws -> String {
        let marker = ": pickup file=\(name),"
        try await waitForLog(containing: marker)
        guard let line = log.split(separator: "\n").first(where: { $0.contains(marker) }),
              let id = line[..<line.range(of: marker)!.lowerBound].split(separator: " ").last else {
            throw HarnessError.timedOut("no queue ID before \(marker)")
        }
        return String(id)
    }

    /// Sends `signal` (SIGHUP for a reload) and returns at once.
    public func send(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.pid, signal)
    }

    /// Every log line of every run so far.
    public var log: String {
        (1...max(runs, 1)).map { (try? String(contentsOfFile: directory.file("mailroot-\($0).log"), encoding: .utf8)) ?? "" }
            .joined(separator: "\n")
    }

    /// Drops a message the way a careful application does: written under a dot name, then renamed in.
    @discardableResult
    public func dropIntoPickup(_ content: String, name: String = UUID().uuidString + ".eml") throws -> String {
        try dropIntoPickup(Array(content.utf8), name: name)
    }

    @discardableResult
    public func dropIntoPickup(_ bytes: [UInt8], name: String = UUID().uuidString + ".eml") throws -> String {
        try FileManager.default.createDirectory(atPath: pickup, withIntermediateDirectories: true)
        let temporary = "\(pickup)/.\(name).writing"
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, "\(pickup)/\(name)") == 0 else { throw POSIXError(.EIO) }
        return name
    }

    public func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Polls `folder` until it holds at least `count` visible files (the daemon gives no other signal
    /// a separate process can wait on), or throws after `timeout` with the daemon's log.
    @discardableResult
    public func waitForFiles(in folder: String, count: Int, timeout: Duration = .seconds(20)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let names = files(in: folder)
            if names.count >= count { return names }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError.timedOut("waiting for \(count) files in \(folder), have \(files(in: folder))\n--- mailroot log ---\n\(log)")
    }

    /// Polls the log for `text`.
    public func waitForLog(containing text: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if log.contains(text) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError.timedOut("waiting for log line containing \(text)\n--- mailroot log ---\n\(log)")
    }
}

public enum HarnessError: Error, CustomStringConvertible {
    case timedOut(String)
    public var description: String {
        switch self { case .timedOut(let what): return "timed out \(what)" }
    }
}
