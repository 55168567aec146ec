// SPDX-License-Identifier: Apache-2.0
import Glibc
import NIOCore

/// Streams stored message bytes into DATA content (RFC 5321 §4.5.2), chunk by chunk, so a large
/// body never has to be held whole:
/// - a `.` at the start of a line is doubled ("transparency"), also when the line start and the
///   dot arrive in different chunks;
/// - every bare CR and bare LF becomes CRLF. The wire therefore never carries an isolated line
///   break, so no receiver can be tricked into seeing an end of data (`<LF>.<LF>`,
///   `<LF>.<CR><LF>`, `<CR>.<CR>`) that we did not send: SMTP smuggling, CVE-2023-51764/5/6;
/// - `finish(into:)` ends the last line if needed and appends the `.` CRLF terminator.
public struct DotStuffer: Sendable {
    private var atLineStart = true
    /// A CR was the last byte seen: whether it was a line end depends on the next byte.
    private var pendingCR = false

    public init() {}

    /// Appends the DATA form of `input` to `output`.
    public mutating func encode(_ input: ByteBuffer, into output: inout ByteBuffer) {
        input.withUnsafeReadableBytes { encode(UnsafeRawBufferPointer($0), into: &output) }
    }

    public mutating func encode(_ input: some Collection<UInt8>, into output: inout ByteBuffer) {
        let bytes = Array(input)
        bytes.withUnsafeBytes { encode($0, into: &output) }
    }

    private mutating func encode(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        output.reserveCapacity(minimumWritableBytes: input.count + input.count / 64 + 8)
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
        var runStart = 0
        var index = 0
        // Ordinary bytes are copied in runs; only CR, LF and a dot at a line start are handled one by one.
        func flush(upTo end: Int) {
            if end > runStart { output.writeBytes(UnsafeRawBufferPointer(rebasing: input[runStart..<end])) }
        }
        while index < input.count {
            let byte = input[index]
            if pendingCR {
                pendingCR = false
                output.writeStaticString("\r\n")
                atLineStart = true
                if byte == lf {
                    index += 1
                    runStart = index
                    continue
                }
            }
            if byte == cr || byte == lf {
                flush(upTo: index)
                index += 1
                runStart = index
                if byte == cr {
                    pendingCR = true
                } else {
                    output.writeStaticString("\r\n")
                    atLineStart = true
                }
                continue
            }
            if atLineStart && byte == dot {
                flush(upTo: index)
                output.writeInteger(dot)
                runStart = index
            }
            atLineStart = false
            // Up to the next CR or LF nothing needs attention: skip the rest of the line at once
            // (memchr), instead of testing every byte (7% of the daemon's CPU in the pickup benchmark).
            index = Self.nextLineBreak(in: input, from: index + 1)
        }
        flush(upTo: index)
    }

    /// The index of the first CR or LF at or after `start`, or the end of `input`.
    private static func nextLineBreak(in input: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard start < input.count, let base = input.baseAddress else { return input.count }
        var end = input.count
        if let lf = memchr(base + start, Int32(UInt8(ascii: "\n")), end - start) { end = base.distance(to: UnsafeRawPointer(lf)) }
        if end > start, let cr = memchr(base + start, Int32(UInt8(ascii: "\r")), end - start) {
            end = base.distance(to: UnsafeRawPointer(cr))
        }
        return end
    }

    /// Ends the content: CRLF unless it already ended with a line break, then `.` CRLF.
    /// An empty message gives only the terminator.
    public mutating func finish(into output: inout ByteBuffer) {
        if pendingCR {
            pendingCR = false
            output.writeStaticString("\r\n")
            atLineStart = true
        }
        if !atLineStart { output.writeStaticString("\r\n") }
        output.writeStaticString(".\r\n")
        atLineStart = true
    }
}
