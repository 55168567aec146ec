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
