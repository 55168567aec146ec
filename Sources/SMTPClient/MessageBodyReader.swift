// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import MailMessage
import NIOCore
import NIOPosix

/// Reads a `StoredMessage`'s byte range in chunks on NIO's blocking-I/O thread pool, so a
/// 35 MB body is never in memory at once and the event loop never blocks on the disk.
public final class MessageBodyReader: Sendable {
    public static let chunkSize = 64 * 1024

    private let descriptor: Int32
    public let message: StoredMessage

    private init(descriptor: Int32, message: StoredMessage) {
        self.descriptor = descriptor
        self.message = message
    }

    deinit { _ = close(descriptor) }

    /// Opens the file; fails when it is missing or shorter than the range says.
    public static func open(_ message: StoredMessage) async throws(SMTPClientError) -> MessageBodyReader {
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws(SMTPClientError) -> MessageBodyReader in
                let fd = Glibc.open(message.path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw .messageUnreadable("open \(message.path): errno \(errno)") }
                var status = stat()
                guard fstat(fd, &status) == 0, Int64(status.st_size) >= message.offset + message.length,
                      message.offset >= 0, message.length >= 0 else {
                    _ = close(fd)
                    throw .messageUnreadable("\(message.path) is shorter than the stored range")
                }
                return MessageBodyReader(descriptor: fd, message: message)
            }
        } catch let error as SMTPClientError {
            throw error
        } catch {
            throw .messageUnreadable("\(error)")
        }
    }

    /// Up to `chunkSize` bytes starting `position` bytes into the message. A short read before
    /// the end of the range is an error: a truncated message must never be completed.
    public func read(at position: Int64) async throws(SMTPClientError) -> ByteBuffer {
        let count = Int(min(Int64(Self.chunkSize), message.length - position))
        guard count > 0 else { return ByteBuffer() }
        let fd = descriptor, fileOffset = message.offset + position
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws(SMTPClientError) -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                var total = 0
                while total < count {
                    var got = 0
                    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - total) { raw in
                        got = pread(fd, raw.baseAddress, count - total, off_t(fileOffset) + off_t(total))
                        return max(0, got)
                    }
                    if got < 0 && errno == EINTR { continue }
                    guard got > 0 else { throw .messageUnreadable("read failed or file truncated (errno \(errno))") }
                    total += got
                }
                return buffer
            }
        } catch let error as SMTPClientError {
            throw error
        } catch {
            throw .messageUnreadable("\(error)")
        }
    }
}
