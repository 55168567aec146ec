// SPDX-License-Identifier: Apache-2.0

/// Splits what a client sends in command mode into command lines, strictly on CRLF
/// (RFC 5321 §2.3.8). swift-nio-extras' `LineBasedFrameDecoder` also ends a line at a bare LF,
/// which is exactly the ambiguity SMTP smuggling (CVE-2023-51764/5/6) exploits, so SMTP needs
/// its own framer:
/// - a bare LF, or a CR not followed by LF, is reported as `.bareLineEnding` and never as a line
///   end; the session closes the connection, because no later byte can be trusted to be where the
///   client meant it;
/// - a line longer than `maximumLineLength` (RFC 5321 §4.5.3.1.4: 512 octets with the CRLF) is
///   dropped while it arrives, so memory stays bounded, and reported once as `.lineTooLong` at
///   its CRLF.
///
/// The framer also holds bytes read past a command for the next mode: `takeBuffered()` hands
/// them to the DATA decoder, `discardBuffered()` drops them after STARTTLS (CVE-2011-0411).
public struct ServerCommandFramer: Sendable {
    public enum Event: Sendable, Hashable {
        /// One command line without its CRLF.
        case line([UInt8])
        case lineTooLong
        case bareLineEnding
    }

    /// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including the CRLF.
    public static let defaultMaximumLineLength = 512

    public let maximumLineLength: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the CRLF search resumes, so a line that arrives byte by byte is scanned once.
    private var scanIndex = 0
    /// True while the rest of an overlong line is being thrown away.
    private var discarding = false

    public init(maximumLineLength: Int = ServerCommandFramer.defaultMaximumLineLength) {
        self.maximumLineLength = maximumLineLength
    }

    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Concrete overloads for the listener, as for `ServerDataDecoder.decode`: a generic append
    /// from another module copies byte by byte through witness tables.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete event, or nil when more bytes are needed.
    public mutating func next() -> Event? {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        while scanIndex < buffer.count {
            let byte = buffer[scanIndex]
            if byte == lf {
                // An LF not preceded by CR: isolated line break.
                scanIndex += 1
                readIndex = scanIndex
                return .bareLineEnding
            }
            if byte == cr {
                guard scanIndex + 1 < buffer.count else { break }
                guard buffer[scanIndex + 1] == lf else {
                    scanIndex += 1
                    readIndex = scanIndex
                    return .bareLineEnding
                }
                let line = Array(buffer[readIndex..<scanIndex])
                scanIndex += 2
                readIndex = scanIndex
                if discarding {
                    discarding = false
                    return .lineTooLong
                }
                return line.count + 2 > maximumLineLength ? .lineTooLong : .line(line)
            }
            scanIndex += 1
        }
        if scanIndex - readIndex > maximumLineLength - 2 {
            // Already too long to be a command: forget it, keeping only a CR that may start the CRLF.
            discarding = true
            readIndex = scanIndex
        }
        return nil
    }

    /// Removes and returns the bytes not yet framed (for the DATA decoder).
    public mutating func takeBuffered() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        discardBuffered()
        return rest
    }

    /// Drops the bytes not yet framed: after STARTTLS nothing sent in plaintext may be read as
    /// if it had come over TLS (CVE-2011-0411).
    public mutating func discardBuffered() {
        buffer.removeAll(keepingCapacity: true)
        readIndex = 0
        scanIndex = 0
        discarding = false
    }

    private mutating func compact() {
        guard readIndex > 0, readIndex >= buffer.count / 2 || readIndex == buffer.count else { return }
        buffer.removeFirst(readIndex)
        scanIndex -= readIndex
        readIndex = 0
    }
}
