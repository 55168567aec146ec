// SPDX-License-Identifier: Apache-2.0
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which recursive servers `MXResolver` asks, and how patiently.
public struct DNSConfiguration: Sendable {
    /// Tried in order; SERVFAIL, REFUSED, a timeout or a socket error moves on to the next one.
    public var servers: [SocketAddress]
    /// How long one attempt on one server may take (UDP, plus TCP if the UDP answer was truncated).
    public var timeout: TimeAmount
    /// Rounds over the server list; a server that answered with a failure RCODE is not asked again.
    public var attemptsPerServer: Int
    /// Positive and negative answers are cached for their TTL (negative: RFC 2308 §5).
    public var cacheEnabled: Bool
    /// Upper bound on cached answers, so a flood of distinct names cannot grow memory without limit.
    public var cacheCapacity: Int = 10_000

    public init(servers: [SocketAddress], timeout: TimeAmount = .seconds(5), attemptsPerServer: Int = 2,
                cacheEnabled: Bool = true) {
        self.servers = servers
        self.timeout = timeout
        self.attemptsPerServer = max(1, attemptsPerServer)
        self.cacheEnabled = cacheEnabled
    }

    /// Nameservers from /etc/resolv.conf (port 53); 127.0.0.1:53 if none.
    /// Read once at start-up, before any event loop runs, so the blocking read is harmless.
    public static func systemServers(resolvConf: String = "/etc/resolv.conf") -> [SocketAddress] {
        let fallback = [try! SocketAddress(ipAddress: "127.0.0.1", port: 53)]
        guard let text = readSmallFile(resolvConf) else { return fallback }
        let servers = parseResolvConf(text)
        return servers.isEmpty ? fallback : servers
    }

    /// `nameserver ADDRESS` lines (resolv.conf(5)); comments start with `#` or `;`. A link-local
    /// IPv6 address with a `%zone` suffix is skipped: SocketAddress cannot carry the zone.
    static func parseResolvConf(_ text: String) -> [SocketAddress] {
        var servers: [SocketAddress] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver", !fields[1].contains("%") else { continue }
            if let address = try? SocketAddress(ipAddress: String(fields[1]), port: 53) {
                servers.append(address)
            }
        }
        return servers
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // resolv.conf is tiny; the cap keeps a mistaken path (a device, a huge file) harmless.
        while bytes.count < 65_536 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
