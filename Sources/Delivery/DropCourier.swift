// SPDX-License-Identifier: Apache-2.0
import Glibc
import MailMessage
import MailQueue
import NIOPosix
import SafeIO

/// Delivers mail for local domains into `drop/`: one `.eml` file per recipient copy, beginning
/// with `x-sender:`/`x-receiver:` lines (the IIS drop format), then the message.
///
/// The file is written under a dot name, fsynced, renamed to `<QueueID>-<n>.eml` and the directory
/// fsynced, so a reader never sees half a file. The name depends only on the queue ID and the
/// recipient's position, so a redelivery after a crash replaces the copy instead of adding one.
struct DropCourier: Courier {
    let directory: String
    let threadPool: NIOThreadPool

    func makeSession(domain: String) -> any CourierSession {
        DropSession(courier: self)
    }

    /// Copies the stored message into a new drop file; blocking, so run on the thread pool.
    static func writeDropFile(directory: String, entry: QueueEntry, index: Int) throws(SafeIOError) -> String {
        let recipient = entry.recipients[index].recipient
        let name = "\(entry.id)-\(index).eml"
        let finalPath = "\(directory)/\(name)"
        let temporaryPath = "\(directory)/.\(name).\(getpid()).tmp"
        let envelopeLines = "x-sender: <\(entry.envelope.senderText)>\r\nx-receiver: <\(recipient.address)>\r\n"
        unlink(temporaryPath)
        let output = try createExclusive(temporaryPath, mode: 0o644)
        do {
            defer { close(output) }
            try writeAll(fd: output, bytes: Array(envelopeLines.utf8), path: temporaryPath)
            try copyRange(of: entry.message, to: output, path: temporaryPath)
            try syncFile(fd: output, path: temporaryPath)
        } catch {
            unlink(temporaryPath)
            throw error
        }
        try renameDurably(from: temporaryPath, to: finalPath)
        return name
    }

    private static func copyRange(of message: StoredMessage, to output: Int32, path: String) throws(SafeIOError) {
        let input = try openRegularFileNoFollow(message.path)
        defer { close(input.fd) }
        var offset = message.offset
        let end = message.offset + message.length
        while offset < end {
            let chunk = try readAt(fd: input.fd, offset: offset, count: Int(min(256 * 1024, end - offset)), path: message.path)
            guard !chunk.isEmpty else { throw .system(operation: "read", errno: EIO, path: message.path) }
            try writeAll(fd: output, bytes: chunk, path: path)
            offset += Int64(chunk.count)
        }
    }
}

final class DropSession: CourierSession {
    let courier: DropCourier

    init(courier: DropCourier) { self.courier = courier }

    func deliver(_ work: DeliveryWork) async -> CourierReport {
        var results: [Int: RecipientResult] = [:]
        for index in work.recipientIndices {
            do {
                let name = try await courier.threadPool.runIfActive { [directory = courier.directory, entry = work.entry] in
                    try DropCourier.writeDropFile(directory: directory, entry: entry, index: index)
                }
                results[index] = .delivered(reply: "delivered to drop/\(name)")
            } catch let error as SafeIOError where error.isDiskFull {
                results[index] = .transient(status: .mailSystemFull, reply: "cannot write to drop/: \(error)")
            } catch {
                results[index] = .transient(status: EnhancedStatusCode(.persistentTransientFailure, 2, 0),
                                            reply: "cannot write to drop/: \(error)")
            }
        }
        return CourierReport(results: results, relay: "local")
    }

    func close() async {}
}

/// Removes temporary files a killed daemon left in `drop/` (`.<name>.<pid>.tmp`). Call it only
/// while holding the queue lock, so no other mailroot can be writing into the same folder.
public func removeLeftoverDropFiles(in directory: String) throws(SafeIOError) -> Int {
    var removed = 0
    for name in try directoryEntries(directory) where name.hasPrefix(".") && name.hasSuffix(".tmp") {
        try removeFile("\(directory)/\(name)")
        removed += 1
    }
    return removed
}
