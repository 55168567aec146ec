// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOCore

/// A real dnsmasq serving a test zone on 127.0.0.1 and a free port, so resolver and delivery
/// tests never touch the machine's resolver. `--local=/test/` makes every unlisted name under
/// `.test` NXDOMAIN, and `--no-resolv` keeps dnsmasq from forwarding anywhere.
/// Stopped when the value is released.
public final class Dnsmasq: Sendable {
    public enum Record: Sendable, Hashable {
        /// `--mx-host=domain,host,preference`
        case mx(String, host: String, preference: Int)
        /// `--host-record=name,address[,address…]` (IPv4 and/or IPv6)
        case host(String, addresses: [String])
        /// RFC 7505 null MX: preference 0, exchange "." (`--dns-rr=domain,15,000000`).
        case nullMX(String)
        /// `--cname=alias,target` (dnsmasq only serves targets it knows locally).
        case cname(String, target: String)

        var argument: String {
            switch self {
            case .mx(let domain, let host, let preference): return "--mx-host=\(domain),\(host),\(preference)"
            case .host(let name, let addresses): return "--host-record=\(([name] + addresses).joined(separator: ","))"
            case .nullMX(let domain): return "--dns-rr=\(domain),15,000000"
            case .cname(let alias, let target): return "--cname=\(alias),\(target)"
            }
        }
    }

    public let port: Int
    public let address: SocketAddress
    public let process: ChildProcess
    private let directory: TemporaryDirectory

    /// Starts dnsmasq with `records` and `extraArguments` (e.g. `--edns-packet-max=512`,
    /// `--local-ttl=60`) and returns once it has printed its start-up line, i.e. once its
    /// sockets are bound. Retries on another port if the chosen one was taken meanwhile.
    public init(records: [Record], extraArguments: [String] = []) async throws {
        try requirePeer("dnsmasq")
        let directory = try TemporaryDirectory("dnsmasq")
        (port, process) = try await Self.launch(records: records, extraArguments: extraArguments, in: directory)
        address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        self.directory = directory
    }

    private static func launch(records: [Record], extraArguments: [String],
                               in directory: TemporaryDirectory) async throws -> (Int, ChildProcess) {
        var lastError: (any Error)?
        for attempt in 1...3 {
            let port = try freePort()
            var arguments = [
                "--keep-in-foreground", "--no-daemon", "--port=\(port)", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/",
                "--conf-file=/dev/null", "--pid-file=\(directory.file("dnsmasq.pid"))",
                "--log-facility=-", "--log-queries",
            ]
            // As root dnsmasq would switch to its own user; the test files stay root's.
            if getuid() == 0 { arguments.append("--user=root") }
            arguments += records.map(\.argument) + extraArguments
            let process = try ChildProcess("dnsmasq", arguments, logPath: directory.file("dnsmasq-\(attempt).log"))
            do {
                try await process.waitForOutput(containing: "started, version")
                return (port, process)
            } catch {
                kill(process)
                lastError = error
                // freePort() can race with another test taking the port: pick another one.
                guard process.output.contains("Address already in use") else { throw error }
            }
        }
        throw lastError!
    }

    deinit { Self.kill(process) }

    /// Stops dnsmasq now (e.g. to test a server that went away).
    public func stop() { Self.kill(process) }

    /// SIGTERM, then SIGKILL if it lingers (ChildProcess resets the child's signal mask).
    private static func kill(_ process: ChildProcess) {
        process.stop(signal: SIGTERM, grace: 5)
    }

    /// dnsmasq's log so far (queries are logged), for failure messages.
    public var log: String { process.output }
}
