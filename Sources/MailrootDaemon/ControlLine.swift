// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// One LF-terminated line of the control protocol, read by both ends (ControlProtocol.swift).
enum ControlLine {
    enum Read: Equatable {
        /// The text before the LF (a CR before it dropped).
        case line(String)
        /// More than `limit` bytes without an LF.
        case tooLong
        /// The connection ended first; what had arrived.
        case ended(String)
    }

    static func read<Inbound: AsyncSequence>(from inbound: Inbound, limit: Int) async throws -> Read
    where Inbound.Element == ByteBuffer {
        var bytes: [UInt8] = []
        for try await buffer in inbound {
            for byte in buffer.readableBytesView {
                if byte == 0x0A {
                    if bytes.last == 0x0D { bytes.removeLast() }
                    return .line(String(decoding: bytes, as: UTF8.self))
                }
                bytes.append(byte)
                if bytes.count > limit { return .tooLong }
            }
        }
        return .ended(String(decoding: bytes, as: UTF8.self))
    }
}
