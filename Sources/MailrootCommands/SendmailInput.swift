// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Reads the message from standard input the way sendmail(1) does.
enum SendmailInput {
    /// Reads `fd` until end of file or, when `dotEndsInput`, until a line holding only "."
    /// (with or without a CR before its LF), which is dropped along with anything after it.
    /// The input is checked line by line as it arrives, so an interactive writer that sends
    /// "." and keeps the pipe open is answered at once rather than left waiting for EOF.
    /// More than `limit` bytes is refused (EX_DATAERR) without reading the rest into memory.
    static func read(fd: Int32, dotEndsInput: Bool, limit: Int) throws(SendmailError) -> [UInt8] {
        var buffer: [UInt8] = []
        var lineStart = 0
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .init(status: .temporary, message: "cannot read the message from standard input: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            buffer.append(contentsOf: chunk[0..<count])
            if dotEndsInput, let end = dotLine(in: buffer, from: &lineStart, atEOF: false) { return Array(buffer[..<end]) }
            guard buffer.count <= limit else {
                throw .dataError("the message is larger than max_message_size (\(limit) bytes)")
            }
        }
        if dotEndsInput, let end = dotLine(in: buffer, from: &lineStart, atEOF: true) { return Array(buffer[..<end]) }
        return buffer
    }

    /// The offset of the first "." line at or after `lineStart`, if any; advances `lineStart`
    /// past the complete lines it has examined. At EOF a final "." without a line ending counts.
    private static func dotLine(in buffer: [UInt8], from lineStart: inout Int, atEOF: Bool) -> Int? {
        while lineStart < buffer.count {
            guard let newline = buffer[lineStart...].firstIndex(of: 0x0A) else {
                return atEOF && isDot(buffer[lineStart...]) ? lineStart : nil
            }
            if isDot(buffer[lineStart..<newline]) { return lineStart }
            lineStart = newline + 1
        }
        return nil
    }

    private static func isDot(_ line: ArraySlice<UInt8>) -> Bool {
        line.elementsEqual([0x2E]) || line.elementsEqual([0x2E, 0x0D])
    }
}
