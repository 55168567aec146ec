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
    let config = MailrootInstance.config(hostname: "mailroot.test", dnsPort: dns.port, deliveryPort: 25,
                                         delivery: "retry = [\"1h\"]\nconnect_timeout = \"2s\"")
    let mailroot = try MailrootInstance(config: config, label: label)
    try await mailroot.start()
    return (dns, mailroot)
}
