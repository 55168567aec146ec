// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import Foundation
import Glibc
import MailrootDaemon
import NIOCore

/// One finding of `mailroot check`.
struct CheckFinding {
    enum Level: String { case ok, warning, error }
    var level: Level
    var text: String
}

/// The folders under the root: present, directories, and with permissions that let the daemon
/// work and keep message contents private. The owner expected is `user` when the config names
/// one (serve switches to it), else whoever runs check; with `pickup_group`, pickup/ must belong
/// to that group with mode 3770, as serve sets it.
enum CheckFolders {
    static func run(_ folders: MailrootFolders, configuration: MailrootConfiguration) -> [CheckFinding] {
        var findings: [CheckFinding] = []
        var owner = Owner(uid: geteuid(), name: "uid \(geteuid())")
        if let user = configuration.user {
            guard let account = getpwnam(user) else {
                return [CheckFinding(level: .error, text: "user = \"\(user)\": no such user (create it with useradd --system \(user))")]
            }
            owner = Owner(uid: account.pointee.pw_uid, name: "user \(user)")
        }
        if let group = configuration.pickupGroup {
            findings.append(checkPickupGroup(group, path: folders.pickup))
        }
        let checks: [(String, String, Requirement)] = [
            ("root", folders.root, .usable), ("pickup/", folders.pickup, .writable),
            ("queue/", folders.queue, .privateToUser), ("badmail/", folders.badmail, .notWorldReadable),
            ("drop/", folders.drop, .usable),
        ]
        for (label, path, requirement) in checks {
            findings.append(check(label: label, path: path, requirement: requirement, owner: owner))
        }
        return findings
    }

    enum Requirement { case usable, writable, privateToUser, notWorldReadable }

    struct Owner {
        var uid: uid_t
        var name: String
    }

    /// pickup/ as serve leaves it with `pickup_group`: that group, setgid and sticky, mode 3770.
    private static func checkPickupGroup(_ group: String, path: String) -> CheckFinding {
        guard let entry = getgrnam(group) else {
            return CheckFinding(level: .error, text: "pickup_group = \"\(group)\": no such group (create it with groupadd --system \(group))")
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return CheckFinding(level: .warning, text: "pickup/ \(path) does not exist yet (serve creates it for group \(group))")
        }
        let mode = info.st_mode & 0o7777
        guard info.st_gid == entry.pointee.gr_gid, mode == 0o3770 else {
            return CheckFinding(level: .error, text: "pickup/ \(path) has group \(info.st_gid) and mode \(String(mode, radix: 8)), "
                + "not group \(group) and mode 3770; start serve as root once to set them")
        }
        return CheckFinding(level: .ok, text: "pickup/ \(path) belongs to group \(group) (mode 3770)")
    }

    private static func check(label: String, path: String, requirement: Requirement, owner: Owner) -> CheckFinding {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT {
                return CheckFinding(level: .warning, text: "\(label) \(path) does not exist yet (serve creates it)")
            }
            return CheckFinding(level: .error, text: "\(label) \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            return CheckFinding(level: .error, text: "\(label) \(path) is not a directory")
        }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        guard access(path, R_OK | W_OK | X_OK) == 0 else {
            return CheckFinding(level: .error, text: "\(label) \(path) (mode \(mode)) is not readable and writable by uid \(geteuid())")
        }
        switch requirement {
        case .privateToUser:
            guard info.st_uid == owner.uid else {
                return CheckFinding(level: .error, text: "\(label) \(path) is owned by uid \(info.st_uid), not \(owner.name); "
                    + "serve gives it to its user when started as root (or run check as the user serve runs as)")
            }
            guard info.st_mode & 0o077 == 0 else {
                return CheckFinding(level: .error, text: "\(label) \(path) has mode \(mode): messages would be readable by others; chmod 700 \(path)")
            }
        case .notWorldReadable where info.st_mode & 0o007 != 0:
            return CheckFinding(level: .warning, text: "\(label) \(path) has mode \(mode): refused messages are readable by everyone; chmod o-rwx \(path)")
        default:
            break
        }
        return CheckFinding(level: .ok, text: "\(label) \(path) (mode \(mode))")
    }
}

/// Each configured DNS server is asked one MX question on its own, so a dead one is named
/// rather than hidden behind a working one (the daemon fails over silently).
enum CheckDNS {
    static func run(_ configuration: MailrootConfiguration) async -> [CheckFinding] {
        guard !configuration.dns.servers.isEmpty else {
            return [CheckFinding(level: .error, text: "dns: no servers configured and none in /etc/resolv.conf")]
        }
        let name = queryName(hostname: configuration.hostname)
        var findings: [CheckFinding] = []
        for server in configuration.dns.servers {
            findings.append(await ask(server, name: name, timeout: configuration.dns.timeout))
        }
        return findings
    }

    /// The hostname's domain (`mx.example.org` → `example.org`): a name any working recursive
    /// resolver can answer for, even NXDOMAIN, which still proves it answers.
    static func queryName(hostname: String) -> String {
        let labels = hostname.split(separator: ".")
        return labels.count > 2 ? labels.dropFirst().joined(separator: ".") : hostname
    }

    private static func ask(_ server: MailrootConfiguration.DNS.Server, name: String, timeout: Duration) async -> CheckFinding {
        let label = "dns server \(server)"
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: server.host, port: server.port)
        } catch {
            return CheckFinding(level: .error, text: "\(label): not an IP address")
        }
        let resolver = MXResolver(configuration: DNSConfiguration(
            servers: [address], timeout: .nanoseconds(Int64(timeout.inSeconds * 1e9)), attemptsPerServer: 1, cacheEnabled: false))
        let start = ContinuousClock.now
        do {
            let records = try await resolver.mxRecords(for: name)
            return CheckFinding(level: .ok, text: "\(label) answered MX \(name): \(records.count) record(s) in \(elapsed(since: start))")
        } catch .nameDoesNotExist {
            return CheckFinding(level: .ok, text: "\(label) answered MX \(name): NXDOMAIN in \(elapsed(since: start))")
        } catch .timeout {
            return CheckFinding(level: .error, text: "\(label) did not answer an MX query for \(name) within \(ConfigurationUnits.format(timeout))")
        } catch {
            return CheckFinding(level: .error, text: "\(label) failed an MX query for \(name): \(error)")
        }
    }

    private static func elapsed(since start: ContinuousClock.Instant) -> String {
        "\((ContinuousClock.now - start).wholeMilliseconds) ms"
    }
}
