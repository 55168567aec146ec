// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport

/// Runs the real `mailroot` binary with `arguments` and returns its exit status, standard output
/// and standard error (captured through files by a shell, since ChildProcess merges its output).
struct CommandRun {
    var status: Int32
    var stdout: String
    var stderr: String

    static func mailroot(_ arguments: [String], in directory: TemporaryDirectory) async throws -> CommandRun {
        let label = UUID().uuidString
        let out = directory.file("\(label).out"), err = directory.file("\(label).err")
        let process = try ChildProcess("/bin/sh", ["-c", "exec \"$0\" \"$@\" >\"$CMD_OUT\" 2>\"$CMD_ERR\"", MailrootInstance.binaryPath] + arguments,
                                       logPath: directory.file("\(label).log"),
                                       environment: ["CMD_OUT": out, "CMD_ERR": err])
        let status = await process.waitForExit()
        return CommandRun(status: status,
                          stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// dnsmasq sending `down.test` to `mxAddress` (port 25), and a started mailroot using it with an
/// hour between retries, so a message there stays queued unless a command moves it.
func startWithDownMX(_ mxAddress: String, label: String) async throws -> (Dnsmasq, MailrootInstance) {
    let dns = try await Dnsmasq(records: [.mx("down.test", host: "mx.down.test", preference: 10),
                                          .host("mx.down.test", addresses: [mxAddress])])
    let mailroot = try MailrootInstance(config: """
        hostname = "mailroot.test"
        [pickup]
        scan_interval = "1s"
        [dns]
        servers = ["127.0.0.1:\(dns.port)"]
        timeout = "2s"
        [delivery]
        port = 25
        retry = ["1h"]
        connect_timeout = "2s"
        """, label: label)
    try await mailroot.start()
    return (dns, mailroot)
}
