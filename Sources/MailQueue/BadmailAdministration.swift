// SPDX-License-Identifier: Apache-2.0
import Glibc
import MailMessage
import SafeIO

extension Badmail {
    /// Sends `<name>.bad` through pickup again (after its cause was fixed): renamed, unchanged,
    /// into `pickupDirectory` as `<name>.requeued`, durably, and only then its `.bdr` removed.
    /// A rename, not a copy, so the message is in exactly one place at every instant; the
    /// daemon's pickup (or the next start) takes it from there, and puts it back in badmail
    /// with a new report if it is still bad. Returns the name in pickup/.
    public func requeue(_ name: QueueID, into pickupDirectory: String) throws(SafeIOError) -> String {
        let message = "\(directory)/\(name).bad"
        guard (try fileKind(atPath: message)) == .regular else {
            throw .system(operation: "requeue", errno: ENOENT, path: message)
        }
        let target = "\(name).requeued"
        guard (try fileKind(atPath: "\(pickupDirectory)/\(target)")) == nil else {
            throw .system(operation: "requeue", errno: EEXIST, path: "\(pickupDirectory)/\(target)")
        }
        try renameDurably(from: message, to: "\(pickupDirectory)/\(target)")
        try? removeFile("\(directory)/\(name).bdr")
        return target
    }

    /// Deletes the entry: `.bad` first (durably), then its `.bdr`, so a crash can leave a report
    /// without a message (shown as such by `badmail list`), never the reverse. Returns false
    /// when neither file existed.
    public func delete(_ name: QueueID) throws(SafeIOError) -> Bool {
        var found = false
        for suffix in ["bad", "bdr"] {
            do {
                try removeFile("\(directory)/\(name).\(suffix)")
                found = true
            } catch where error.errno == ENOENT {
                continue
            }
            if suffix == "bad" { try fsyncDirectory(directory) }
        }
        return found
    }
}
