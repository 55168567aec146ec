// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the defaults depend on outside the file, injectable so tests never ask the machine's
/// resolver or depend on its hostname.
struct ConfigurationEnvironment: Sendable {
    var workingDirectory: String
    var hostname: @Sendable () -> String
    var systemDNSServers: @Sendable () -> [MailrootConfiguration.DNS.Server]

    static func system(workingDirectory: String) -> ConfigurationEnvironment {
        ConfigurationEnvironment(
            workingDirectory: workingDirectory,
            hostname: { ConfigurationSystem.machineHostname() },
            systemDNSServers: { ConfigurationSystem.resolvConfServers() })
    }
}

/// The operating-system calls behind loading: reading the file, the working directory, the
/// machine's name and /etc/resolv.conf. All run once at start-up, before any event loop.
enum ConfigurationSystem {
    /// A configuration file is a few kilobytes; the limit keeps a mistaken `--config /dev/zero`
    /// or a huge file from exhausting memory before the first line is checked.
    static let maximumFileSize = 1 << 20

    static func readConfigurationFile(_ path: String) throws(ConfigurationError) -> String {
        func failure(_ message: String) -> ConfigurationError { ConfigurationError(file: path, message: message) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open: \(errorText(errno))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("cannot read: \(errorText(errno))") }
        guard (status.st_mode & S_IFMT) != S_IFDIR else { throw failure("cannot read: is a directory") }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read: \(errorText(errno))")
            }
            if count == 0 { break }
            bytes += buffer[..<count]
            guard bytes.count <= maximumFileSize else { throw failure("is larger than 1 MiB; is this the right file?") }
        }
        guard !bytes.contains(0) else { throw failure("contains a NUL byte; a TOML file is UTF-8 text") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw failure("is not valid UTF-8 text") }
        return text
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func currentDirectory() -> String {
        guard let pointer = getcwd(nil, 0) else { return "/" }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// Joins and removes `.`, `..` and repeated slashes lexically. Symbolic links are left alone:
    /// the directory may not exist yet, and the queue opens paths beneath it with its own checks.
    static func absolutePath(_ path: String, relativeTo directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        var components: [Substring] = []
        for component in joined.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// The fully qualified name, as `hostname -f` finds it: gethostname(2), then the canonical
    /// name from getaddrinfo(3) (usually /etc/hosts). Falls back to the short name, then to
    /// "localhost", so the default is always a valid domain name; a relay that must be known by
    /// a particular name sets `hostname` explicitly.
    static func machineHostname() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let status = buffer.withUnsafeMutableBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count - 1) }
        }
        guard status == 0 else { return "localhost" }
        let short = String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
        var hints = addrinfo()
        hints.ai_flags = AI_CANONNAME
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        if getaddrinfo(short, nil, &hints, &result) == 0, let result {
            defer { freeaddrinfo(result) }
            if let canonical = result.pointee.ai_canonname,
               let name = try? ConfigurationDomainName.normalized(String(cString: canonical)) {
                return name
            }
        }
        return (try? ConfigurationDomainName.normalized(short)) ?? "localhost"
    }

    /// `nameserver` lines of resolv.conf(5); like the C library, 127.0.0.1:53 when there are none.
    static func resolvConfServers(path: String = "/etc/resolv.conf") -> [MailrootConfiguration.DNS.Server] {
        let fallback = [MailrootConfiguration.DNS.Server(host: "127.0.0.1", port: 53)]
        guard let text = try? readConfigurationFile(path) else { return fallback }
        let servers = parseResolvConf(text)
        return servers.isEmpty ? fallback : servers
    }

    /// Unusable entries (a link-local address with a `%zone`) are skipped, not fatal: the file
    /// belongs to the system, and the remaining servers still work.
    static func parseResolvConf(_ text: String) -> [MailrootConfiguration.DNS.Server] {
        var servers: [MailrootConfiguration.DNS.Server] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            let host = fields[1]
            guard ConfigurationHostPort.isIPv4(host) || ConfigurationHostPort.isIPv6(host) else { continue }
            servers.append(.init(host: String(host), port: 53))
        }
        return servers
    }
}
