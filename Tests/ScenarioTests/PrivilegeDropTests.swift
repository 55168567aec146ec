// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `user` and `pickup_group` (README "Running as the system's mail relay"): started as root, the
/// real daemon binds port 25, gives its folders to the user, switches to it, and from then on
/// everything it creates is that user's, while members of the pickup group can drop mail.
/// The suite runs as root (here and in CI); the accounts are created once if missing.
@Suite(.serialized) struct PrivilegeDropTests {
    static let user = "mailroot-test"
    static let pickupGroup = "mailroot-test-pickup"
    /// nobody/nogroup on Debian and Ubuntu: an application user that is not the daemon's.
    static let outsider: UInt32 = 65_534

    struct Accounts {
        var uid: UInt32
        var gid: UInt32
        var pickupGID: UInt32
    }

    /// Created once per test process; useradd and groupadd are not safe to run twice at once.
    static let accounts = Task { () throws -> Accounts in
        if getgrnam(pickupGroup) == nil {
            try run("groupadd", ["--system", "--force", pickupGroup])
        }
        if getpwnam(user) == nil {
            try run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
        }
        let entry = try #require(getpwnam(user))
        let group = try #require(getgrnam(pickupGroup))
        return Accounts(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, pickupGID: group.pointee.gr_gid)
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/\(tool)")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError.timedOut("\(tool) \(arguments) exited \(process.terminationStatus)") }
    }

    /// A mailroot whose temporary directory others may traverse (mkdtemp makes it 0700), as
    /// /var/spool is: the user and the applications must reach the root below it.
    static func instance(config: String) throws -> MailrootInstance {
        let mailroot = try MailrootInstance(config: config, label: "privileges")
        chmod(mailroot.directory.path, 0o755)
        return mailroot
    }

    static let address = "127.0.110.1"

    @Test func startedAsRootItBindsPort25ThenRunsAsTheUserAndTheGroupCanDropMail() async throws {
        let accounts = try await Self.accounts.value
        // An earlier run as root leaves a root-owned queue holding a deferred message.
        let mailroot = try Self.instance(config: "")
        try await mailroot.start()
        try mailroot.dropIntoPickup("From: a@example.com\r\nTo: someone@remote.test\r\nSubject: waits\r\n\r\nbody\r\n")
        try await mailroot.waitForLog(containing: "status=deferred")
        mailroot.stop()
        let waiting = mailroot.files(in: "\(mailroot.queue)/msg")
        try #require(waiting.count == 1)
        #expect(owner(of: "\(mailroot.queue)/msg/\(waiting[0])")?.uid == 0)
        // Links planted in the queue must not hand files elsewhere to the user (the walk runs as root).
        let outside = mailroot.directory.file("outside"), linked = mailroot.directory.file("linked")
        for path in [outside, linked] { try "root's\n".write(toFile: path, atomically: false, encoding: .utf8) }
        #expect(symlink(outside, "\(mailroot.queue)/tmp/symlink") == 0 && link(linked, "\(mailroot.queue)/tmp/hardlink") == 0)

        try """
            root = "\(mailroot.root)"
            user = "\(Self.user)"
            pickup_group = "\(Self.pickupGroup)"
            [pickup]
            # sendmail links its file into place, which inotify reports as IN_CREATE only; the scan finds it.
            scan_interval = "1s"
            [smtp]
            listen = ["\(Self.address):25"]
            [dns]
            servers = ["127.0.0.1:1"]
            timeout = "1s"
            """.write(toFile: mailroot.configPath, atomically: true, encoding: .utf8)
        try await mailroot.start()
        try await mailroot.waitForLog(containing: "smtp: listening on \(Self.address):25")
        let pid = try #require(mailroot.process?.pid)

        // The whole process (every thread) runs as the user, with the pickup group besides.
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(field("Uid", in: status) == Array(repeating: "\(accounts.uid)", count: 4), "\(status)")
        #expect(field("Gid", in: status) == Array(repeating: "\(accounts.gid)", count: 4), "\(status)")
        #expect(field("Groups", in: status).contains("\(accounts.pickupGID)"), "\(status)")
        #expect(field("CapEff", in: status) == ["0000000000000000"] && field("CapPrm", in: status) == ["0000000000000000"], "\(status)")
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
            let thread = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            #expect(field("Uid", in: thread).allSatisfy { $0 == "\(accounts.uid)" }, "thread \(task): \(thread)")
        }

        // The root-owned queue of the earlier run was given to the user, and its message recovered.
        for path in tree(mailroot.queue) {
            let info = owner(of: path)
            #expect(info?.uid == accounts.uid && info?.gid == accounts.gid, "\(path)")
        }
        #expect(mailroot.files(in: "\(mailroot.queue)/msg") == waiting)
        #expect(owner(of: outside)?.uid == 0 && owner(of: linked)?.uid == 0)
        #expect(mailroot.log.contains("hardlink to \(Self.user): it has 2 hard links"), "\(mailroot.log)")
        #expect(mailroot.log.contains("queue: recovered 1 message(s)"))

        let pickup = try #require(owner(of: mailroot.pickup))
        #expect(pickup.uid == accounts.uid && pickup.gid == accounts.pickupGID)
        #expect(pickup.mode & 0o7777 == 0o3770, "pickup/ mode \(String(pickup.mode & 0o7777, radix: 8))")

        // An application that is only in the pickup group drops a file the careful way, and runs sendmail.
        let groupMember = ["--reuid=\(Self.outsider)", "--regid=\(Self.outsider)", "--groups=\(accounts.pickupGID)"]
        let message = mailroot.directory.file("message.eml")
        try "From: app@example.com\nTo: you@localhost\nSubject: from the group\n\nhello\n"
            .write(toFile: message, atomically: true, encoding: .utf8)
        chmod(message, 0o644)
        let copy = try await runClient("setpriv", groupMember + ["sh", "-c", "umask 027 && cp \(message) \(mailroot.pickup)/.app.tmp && mv \(mailroot.pickup)/.app.tmp \(mailroot.pickup)/app.eml"],
                                       in: mailroot.directory)
        #expect(copy.status == 0, "\(copy.output)")
        let sendmail = try await runClient("setpriv", groupMember + ["sh", "-c", "\(MailrootInstance.binaryPath) sendmail --config \(mailroot.configPath) you@localhost < \(message)"],
                                           in: mailroot.directory)
        #expect(sendmail.status == 0, "\(sendmail.output)")
        // An outsider cannot.
        let refused = try await runClient("setpriv", ["--reuid=\(Self.outsider)", "--regid=\(Self.outsider)", "--clear-groups",
                                                      "sh", "-c", "cp \(message) \(mailroot.pickup)/outsider.eml"], in: mailroot.directory)
        #expect(refused.status != 0)

        // A message over SMTP to the port below 1024.
        let swaks = try await runClient("swaks", ["--server", "\(Self.address):25", "--from", "sender@example.com",
                                                  "--to", "you@localhost", "--header", "Subject: over smtp"], in: mailroot.directory)
        #expect(swaks.status == 0, "\(swaks.output)")
        #expect(swaks.output.contains("250 2.0.0 Ok: queued as "))

        let dropped = try await mailroot.waitForFiles(in: mailroot.drop, count: 3)
        #expect(dropped.count == 3, "\(dropped)\n\(mailroot.log)")
        for name in dropped {
            #expect(owner(of: "\(mailroot.drop)/\(name)")?.uid == accounts.uid)
        }
        #expect(mailroot.files(in: mailroot.pickup).isEmpty)
        for path in tree(mailroot.queue) + tree(mailroot.badmail) {
            let info = try #require(owner(of: path))
            #expect(info.uid == accounts.uid, "\(path)")
            #expect(info.mode & 0o077 == 0 || path == mailroot.badmail, "\(path) mode \(String(info.mode & 0o777, radix: 8))")
        }
    }

    @Test func checkJudgesTheFoldersByTheConfiguredUserAndPickupGroup() async throws {
        _ = try await Self.accounts.value
        let mailroot = try Self.instance(config: """
            user = "\(Self.user)"
            pickup_group = "\(Self.pickupGroup)"
            """)
        try await mailroot.start()
        mailroot.stop()
        // check runs as root here, but judges by the user serve runs as.
        let good = try await runClient(MailrootInstance.binaryPath, ["check", "--config", mailroot.configPath], in: mailroot.directory)
        #expect(good.output.contains("ok: queue/ \(mailroot.queue) (mode 700)"), "\(good.output)")
        #expect(good.output.contains("ok: pickup/ \(mailroot.pickup) belongs to group \(Self.pickupGroup) (mode 3770)"), "\(good.output)")

        #expect(chown(mailroot.queue, 0, 0) == 0 && chmod(mailroot.pickup, 0o755) == 0)
        let bad = try await runClient(MailrootInstance.binaryPath, ["check", "--config", mailroot.configPath], in: mailroot.directory)
        #expect(bad.status != 0)
        #expect(bad.output.contains("error: queue/ \(mailroot.queue) is owned by uid 0, not user \(Self.user)"), "\(bad.output)")
        #expect(bad.output.contains("error: pickup/ \(mailroot.pickup) has group"), "\(bad.output)")
    }

    @Test func aUserThatDoesNotExistIsRefusedBeforeAnythingIsCreated() async throws {
        let mailroot = try Self.instance(config: "user = \"mailroot-no-such-user\"")
        let process = try ChildProcess(MailrootInstance.binaryPath, ["serve", "--config", mailroot.configPath],
                                       logPath: mailroot.directory.file("refused.log"))
        let status = await process.waitForExit()
        #expect(status != 0)
        #expect(process.output.contains("user = \"mailroot-no-such-user\": no such user"), "\(process.output)")
        #expect(!FileManager.default.fileExists(atPath: mailroot.root))
    }

    @Test func aPickupGroupThatDoesNotExistIsRefused() async throws {
        let mailroot = try Self.instance(config: "pickup_group = \"mailroot-no-such-group\"")
        let process = try ChildProcess(MailrootInstance.binaryPath, ["serve", "--config", mailroot.configPath],
                                       logPath: mailroot.directory.file("refused.log"))
        #expect(await process.waitForExit() != 0)
        #expect(process.output.contains("pickup_group = \"mailroot-no-such-group\": no such group"), "\(process.output)")
    }

    @Test func aUserSetButStartedAsSomeoneElseIsRefused() async throws {
        _ = try await Self.accounts.value
        let mailroot = try Self.instance(config: "user = \"\(Self.user)\"")
        chmod(mailroot.configPath, 0o644)
        let process = try ChildProcess("setpriv", ["--reuid=\(Self.outsider)", "--regid=\(Self.outsider)", "--clear-groups",
                                                   MailrootInstance.binaryPath, "serve", "--config", mailroot.configPath],
                                       logPath: mailroot.directory.file("refused.log"))
        #expect(await process.waitForExit() != 0)
        #expect(process.output.contains("must be started as root"), "\(process.output)")
    }
}

/// The values of a `Name:\t...` line of /proc/PID/status.
private func field(_ name: String, in status: String) -> [String] {
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("\(name):") }) else { return [] }
    return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
}

private func owner(of path: String) -> (uid: UInt32, gid: UInt32, mode: UInt32)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return (info.st_uid, info.st_gid, info.st_mode)
}

/// `path` and everything below it.
private func tree(_ path: String) -> [String] {
    var paths = [path]
    if let names = FileManager.default.enumerator(atPath: path) {
        for case let name as String in names { paths.append("\(path)/\(name)") }
    }
    return paths
}

/// `mailroot check` shows the new keys as they would be written in the file.
@Suite struct PrivilegeDropCheckTests {
    @Test func checkPrintsUserPickupGroupShutdownGraceAndMetricsListenAsTOML() async throws {
        let mailroot = try MailrootInstance(config: """
            user = "mailroot"
            pickup_group = "mailroot-pickup"
            shutdown_grace = "45s"
            metrics_listen = "127.0.110.2:9325"
            """, label: "check")
        let run = try await runClient(MailrootInstance.binaryPath, ["check", "--config", mailroot.configPath], in: mailroot.directory)
        let lines = Set(run.output.split(separator: "\n").map(String.init))
        for expected in ["user = \"mailroot\"", "pickup_group = \"mailroot-pickup\"", "shutdown_grace = \"45s\"",
                         "metrics_listen = \"127.0.110.2:9325\""] {
            #expect(lines.contains(expected), "\(expected) missing from:\n\(run.output)")
        }
        let defaults = try MailrootInstance(config: "", label: "check")
        let plain = try await runClient(MailrootInstance.binaryPath, ["check", "--config", defaults.configPath], in: defaults.directory)
        for expected in ["user = \"\"", "pickup_group = \"\"", "shutdown_grace = \"10s\"", "metrics_listen = \"\""] {
            #expect(plain.output.contains(expected + "\n"), "\(expected) missing from:\n\(plain.output)")
        }
    }
}
