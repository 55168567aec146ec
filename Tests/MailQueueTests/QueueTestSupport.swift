// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Logging
import MailMessage
import MailQueue

/// A fresh queue directory per test, removed afterwards.
final class ScratchDirectory: @unchecked Sendable {
    let path: String
    init() throws {
        var template = Array("/tmp/mailqueue-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
    func names(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: file(folder))) ?? []).sorted()
    }
}

let testLogger = Logger(label: "mailqueue-test")

func makeQueue(_ dir: ScratchDirectory, maxBatch: Int = 256, spareFiles: Int = 256,
               spareFileMaximumSize: Int = 256 * 1024) -> Queue {
    var configuration = QueueConfiguration(directory: dir.path, maxBatch: maxBatch)
    configuration.spareFiles = spareFiles
    configuration.spareFileMaximumSize = spareFileMaximumSize
    return Queue(configuration: configuration, logger: testLogger)
}

/// `makeQueue`, recovered: the folders made, the lock taken, whatever the test wrote first loaded.
func recoveredQueue(_ dir: ScratchDirectory, maxBatch: Int = 256, spareFiles: Int = 256,
                    spareFileMaximumSize: Int = 256 * 1024) async throws -> Queue {
    let queue = makeQueue(dir, maxBatch: maxBatch, spareFiles: spareFiles, spareFileMaximumSize: spareFileMaximumSize)
    _ = try await queue.recover()
    return queue
}

func address(_ text: String) -> MailAddress { MailAddress(text)! }

func sampleMessage(recipients: [String] = ["bob@example.org", "carol@example.net"],
                   body: String = "Subject: test\r\n\r\nHello\r\n") -> NewMessage {
    let envelope = Envelope(
        sender: address("alice@example.com"),
        recipients: recipients.map { EnvelopeRecipient(address($0), originalRecipient: "rfc822;\($0)", notify: "FAILURE") },
        envelopeID: "ENV-1")
    return NewMessage(envelope: envelope, content: Array(body.utf8), arrival: Date(timeIntervalSince1970: 1_712_345_678.123456),
                      source: "pickup:test file.eml")
}

/// The stored message's bytes, read through its byte range as delivery will.
func storedBytes(_ message: StoredMessage) throws -> [UInt8] {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: message.path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(message.offset))
    return Array(try handle.read(upToCount: Int(message.length)) ?? Data())
}

func writeRaw(_ path: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}
