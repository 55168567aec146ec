// SPDX-License-Identifier: Apache-2.0

/// Frames DATA content as a server receives it (RFC 5321 §4.1.1.4, §4.5.2):
/// - the content ends only at `<CR><LF>.<CR><LF>` (the CRLF that ends DATA's command line counts
///   as the first CRLF, so `.` CRLF right away is an empty message);
/// - one leading `.` is removed from every other line (transparency);
/// - a bare LF, or a CR not followed by LF, is an error, never a line end. Receivers that took
///   `<LF>.<LF>`, `<LF>.<CR><LF>` or `<CR>.<CR>` as the end of data let the rest of the content
///   run as a second, spoofed transaction: SMTP smuggling, CVE-2023-51764/51765/51766;
/// - a NUL octet (RFC 5322 §2.3), a text line over 1000 octets with its CRLF (RFC 5321 §4.5.3.1.6) and content over the size
///   limit are errors too.
///
/// After any error the decoder stores nothing more but keeps reading to the real terminator, so
/// the remainder of a refused message is never parsed as commands.
public struct ServerDataDecoder: Sendable {
    public enum Failure: Error, Sendable, Hashable {
        case bareLineEnding
        case lineTooLong
        case messageTooLarge
        /// RFC 5322 §2.3 forbids NUL anywhere in a message; the pickup refuses it too.
        case nulCharacter
        /// The server had no memory left for the content (`abandon`): a temporary failure.
        case insufficientStorage
    }

    /// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including the CRLF.
    public static let maximumLineLength = 1000

    private enum Position: Sendable {
        /// After a CRLF: a `.` here is either stuffing or the start of the terminator.
        case lineStart
        /// A `.` at the line start was read; CRLF next would end the content.
        case dotAtLineStart
        /// `.` CR at the line start; LF next ends the content.
        case dotCR
        case inLine
        /// A CR inside a line; only an LF may follow.
        case inLineCR
    }

    public let maximumSize: Int
    /// The content received so far, CRLF line endings, transparency dots removed. Empty once a
    /// failure is recorded: a refused message is never held.
    public private(set) var content: [UInt8] = []
    /// The first error seen; the content is refused when the terminator arrives.
    public private(set) var failure: Failure?
    /// True once the terminator has been read.
    public private(set) var isFinished = false
    /// Every octet counted against the size limit, including those not stored after a failure.
    public private(set) var receivedByteCount = 0
    private var position = Position.lineStart
    private var lineLength = 0

    public init(maximumSize: Int) {
        self.maximumSize = maximumSize
    }

    /// Reads `bytes` until the terminator. Returns how many bytes were consumed: all of them,
    /// or fewer when the terminator was found and the rest belongs to the next command.
    ///
    /// The listener calls the concrete overloads: a generic call from another module runs
    /// unspecialised, one witness-table call per byte of DATA (15% of the daemon's CPU under
    /// `perf` at 20 inbound sessions). They all take the raw-buffer path, which also skips through
    /// runs of ordinary bytes (`ordinaryRunEnd`); the generic one goes byte by byte.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index < bytes.count, !isFinished {
            if position == .inLine, let end = ordinaryRunEnd(in: bytes, from: index) {
                index = end
                continue
            }
            receive(bytes[index])
            index += 1
        }
        return index
    }

    public mutating func decode(_ bytes: [UInt8]) -> Int { bytes.withUnsafeBytes { decode($0) } }

    public mutating func decode(_ bytes: ArraySlice<UInt8>) -> Int { bytes.withUnsafeBytes { decode($0) } }

    public mutating func decode(_ bytes: some Collection<UInt8>) -> Int {
        var consumed = 0
        for byte in bytes {
            guard !isFinished else { break }
            consumed += 1
            receive(byte)
        }
        return consumed
    }

    /// Inside a line, the bytes up to the next CR, LF or NUL change nothing but the counts and the
    /// content, so they are taken in one step (the byte-at-a-time path was 4% of the daemon's CPU
    /// under `perf` at 20 inbound sessions). Returns the index after them, or nil when there are
    /// none or when they would cross the line or size limit: then the exact per-byte path decides.
    private mutating func ordinaryRunEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") || byte == 0 { break }
            end += 1
        }
        let run = end - start
        guard run > 0 else { return nil }
        if failure == nil {
            guard lineLength + run + 2 <= Self.maximumLineLength, receivedByteCount + run <= maximumSize else { return nil }
            content.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }
        lineLength += run
        receivedByteCount += run
        return end
    }

    private mutating func receive(_ byte: UInt8) {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
        switch position {
        case .lineStart:
            if byte == dot {
                position = .dotAtLineStart
            } else {
                inLine(byte)
            }
        case .dotAtLineStart:
            if byte == cr {
                position = .dotCR
            } else {
                // RFC 5321 §4.5.2: a line starting with "." and more characters loses the dot.
                inLine(byte)
            }
        case .dotCR:
            if byte == lf {
                isFinished = true
            } else {
                // `.` CR X: the CR was isolated. X may itself begin a CRLF, so it is read again.
                fail(.bareLineEnding)
                store(dot)
                position = .inLine
                lineLength = 1
                inLine(byte)
            }
        case .inLine:
            inLine(byte)
        case .inLineCR:
            if byte == lf {
                store(cr)
                store(lf)
                position = .lineStart
                lineLength = 0
            } else {
                fail(.bareLineEnding)
                position = .inLine
                inLine(byte)
            }
        }
    }

    private mutating func inLine(_ byte: UInt8) {
        if byte == UInt8(ascii: "\r") {
            position = .inLineCR
            return
        }
        position = .inLine
        if byte == UInt8(ascii: "\n") {
            // An isolated LF is content, not a line end: the terminator search keeps going.
            fail(.bareLineEnding)
            return
        }
        if byte == 0 { fail(.nulCharacter) }
        lineLength += 1
        if lineLength + 2 > Self.maximumLineLength { fail(.lineTooLong) }
        store(byte)
    }

    private mutating func store(_ byte: UInt8) {
        receivedByteCount += 1
        if receivedByteCount > maximumSize { fail(.messageTooLarge) }
        guard failure == nil else { return }
        content.append(byte)
    }

    /// Stops storing the content (what was stored is dropped) and reads on to the terminator,
    /// which is then answered with `reason`, unless an earlier failure already decided it.
    public mutating func abandon(_ reason: Failure) {
        fail(reason)
    }

    private mutating func fail(_ reason: Failure) {
        guard failure == nil else { return }
        failure = reason
        content = []
    }
}
