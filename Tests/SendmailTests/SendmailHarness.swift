// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import Pickup
import Testing

/// A temporary mailroot root with a config, and a way to run the real `mailroot sendmail`
/// (or a link named `sendmail`) against it with a given standard input.
final class SendmailHarness: @unchecked Sendable {
    static let hostname = "mx.sendmail.test"
    let directory: TemporaryDirectory
    let configPath: String
    var root: String { directory.file("root") }
    var pickup: String { "\(root)/pickup" }
    private var runs = 0

    init(createPickup: Bool = true, extraConfig: String = "") throws {
        directory = try TemporaryDirectory("sendmail")
        configPath = directory.file("mailroot.toml")
        try "root = \"\(directory.file("root"))\"\nhostname = \"\(Self.hostname)\"\n\(extraConfig)\n"
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        if createPickup { try FileManager.default.createDirectory(atPath: pickup, withIntermediateDirectories: true) }
    }

    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `executable` (default: the built mailroot with `sendmail` prepended) with standard
    /// input read from a file holding `input`. ChildProcess gives children /dev/null as stdin, so
    /// a shell redirects it and then execs the program under test (argv[0] is kept).
    func run(_ arguments: [String], input: String, executable: String? = nil,
             environment: [String: String] = [:], useConfigFlag: Bool = true) async throws -> Result {
        try await run(arguments, input: Array(input.utf8), executable: executable, environment: environment, useConfigFlag: useConfigFlag)
    }

    func run(_ arguments: [String], input: [UInt8], executable: String? = nil,
             environment: [String: String] = [:], useConfigFlag: Bool = true) async throws -> Result {
        runs += 1
        let stdinPath = directory.file("stdin-\(runs)")
        try Data(input).write(to: URL(fileURLWithPath: stdinPath))
        let program = executable ?? MailrootInstance.binaryPath
        let prefix = executable == nil ? ["sendmail"] + (useConfigFlag ? ["--config", configPath] : []) : []
        var environment = environment
        environment["SENDMAIL_TEST_STDIN"] = stdinPath
        if environment["MAILROOT_CONFIG"] == nil { environment["MAILROOT_CONFIG"] = "" }
        let process = try ChildProcess("/bin/sh", ["-c", "exec \"$0\" \"$@\" < \"$SENDMAIL_TEST_STDIN\"", program] + prefix + arguments,
                                       logPath: directory.file("run-\(runs).log"), environment: environment)
        let status = await process.waitForExit()
        return Result(status: status, output: process.output)
    }

    /// Every name in pickup/, dot names included (a leftover temporary file is a bug).
    var pickupEntries: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: pickup)) ?? []).sorted()
    }

    /// The single file sendmail wrote, after checking that nothing else (no temporary) is there.
    func onlyPickupFile() throws -> [UInt8] {
        let entries = pickupEntries
        try #require(entries.count == 1, "pickup/ holds \(entries)")
        #expect(entries[0].hasSuffix(".eml") && !entries[0].hasPrefix("."))
        return Array(try Data(contentsOf: URL(fileURLWithPath: "\(pickup)/\(entries[0])")))
    }

    /// The file as the daemon's pickup parser reads it.
    func parsedPickupFile(dotStuffed: Bool = false) throws -> ParsedPickupMessage {
        let bytes = try onlyPickupFile()
        let options = PickupParseOptions(hostname: Self.hostname, dotStuffed: dotStuffed)
        switch parsePickupFile(bytes, queueID: QueueID.generate(), options: options, now: Date()) {
        case .accepted(let parsed): return parsed
        case .rejected(let rejection): throw rejection
        }
    }

    /// The login name the test runs as: sendmail's default sender is `login@hostname`.
    static var login: String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "unknown" }
        return String(cString: name)
    }

    static var userAddress: MailAddress { MailAddress("\(login)@\(hostname)")! }
}

/// Header fields of a message as (lower-cased name, unfolded value).
func headerFields(_ bytes: [UInt8]) throws -> [(name: String, value: String)] {
    try HeaderSection(parsing: bytes).fields.map { ($0.name.lowercased(), $0.value) }
}

func body(_ bytes: [UInt8]) throws -> String {
    let section = try HeaderSection(parsing: bytes)
    return String(decoding: bytes[section.bodyOffset...], as: UTF8.self)
}

func addresses(_ envelope: Envelope) -> [String] {
    envelope.recipients.map(\.address.description)
}
