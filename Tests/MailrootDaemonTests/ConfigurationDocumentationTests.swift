// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import MailrootDaemon

/// Every key the daemon accepts is explained in docs/configuration.md and shown in the commented
/// example, so a new key cannot land undocumented.
@Suite struct ConfigurationDocumentationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// (table, key) for every key in ConfigurationSchema; "" is the top level.
    static var everyKey: [(table: String, key: String)] {
        let tables = Set(ConfigurationSchema.tables.keys)
        return ConfigurationSchema.topLevel.filter { !tables.contains($0) }.map { ("", $0) }
            + ConfigurationSchema.tables.sorted { $0.key < $1.key }.flatMap { table in table.value.map { (table.key, $0) } }
    }

    @Test func everyKeyHasARowOrSectionInTheConfigurationGuide() throws {
        let guide = try String(contentsOf: Self.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for (table, key) in Self.everyKey {
            let documented = guide.contains("| `\(key)` |") || guide.contains("### `[[\(table).\(key)]]`")
            #expect(documented, "docs/configuration.md does not describe \(table.isEmpty ? key : "\(table).\(key)")")
        }
        #expect(Self.everyKey.contains { $0 == ("", "disk_threads") })
    }

    @Test func everyKeyAppearsInTheCommentedExample() throws {
        let example = try String(contentsOf: Self.repository.appendingPathComponent("contrib/mailroot.toml"), encoding: .utf8)
        let lines = example.split(separator: "\n").map { $0.drop { $0 == "#" || $0 == " " } }
        for (table, key) in Self.everyKey {
            let shown = lines.contains { $0.hasPrefix("\(key) =") || $0 == "[[\(table).\(key)]]" }
            #expect(shown, "contrib/mailroot.toml does not show \(table.isEmpty ? key : "\(table).\(key)")")
        }
    }
}
