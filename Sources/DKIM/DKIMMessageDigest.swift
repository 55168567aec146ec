// SPDX-License-Identifier: Apache-2.0
import Crypto
import MailMessage

/// Reads a message in chunks of any size, as delivery reads it from the queue file, and keeps
/// what a signature needs: the header section (parsed) and the SHA-256 of the relaxed canonical
/// body. The body itself is never held.
public struct DKIMMessageDigest {
    /// A header section larger than this is not signed (RFC 5322 lines of 998 octets; this is
    /// about a thousand of them), so a hostile message cannot make delivery hold an unbounded one.
    public static let maxHeaderBytes = 1024 * 1024

    private var header: [UInt8] = []
    private var inBody = false
    private var atLineStart = true
    private var afterCR = false
    private var swallowLF = false
    private var tooLarge = false
    private var body = RelaxedBodyCanonicalizer()
    private var hasher = SHA256()

    public init() {}

    /// True once the empty line has been read: `headerSection()` is then complete, so a caller
    /// can see the author before it reads the rest of a message it will not sign.
    public var headerComplete: Bool { inBody }

    public mutating func update(_ chunk: UnsafeRawBufferPointer) {
        guard !inBody else {
            var rest = chunk
            if swallowLF {
                // The empty line was a CR at the very end of the previous chunk: its LF is here.
                swallowLF = false
                if rest.first == 0x0A {
                    header.append(0x0A)
                    rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst())
                }
            }
            feedBody(rest)
            return
        }
        for (offset, byte) in chunk.enumerated() {
            if header.count >= Self.maxHeaderBytes {
                tooLarge = true
                return
            }
            header.append(byte)
            // The empty line ends the header section. CR LF, a bare CR and a bare LF each end a
            // line, as on the wire.
            if byte == 0x0A && afterCR {
                afterCR = false
                continue  // the LF of a CRLF whose CR already ended the line
            }
            let endsLine = byte == 0x0D || byte == 0x0A
            let emptyLine = endsLine && atLineStart
            afterCR = byte == 0x0D
            atLineStart = endsLine
            if emptyLine {
                var rest = UnsafeRawBufferPointer(rebasing: chunk[(offset + 1)...])
                if byte == 0x0D {
                    if rest.isEmpty {
                        swallowLF = true
                    } else if rest.first == 0x0A {
                        header.append(0x0A)
                        rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst())
                    }
                }
                inBody = true
                feedBody(rest)
                return
            }
        }
    }

    public mutating func update(_ chunk: some Collection<UInt8>) {
        Array(chunk).withUnsafeBytes { update($0) }
    }

    private mutating func feedBody(_ chunk: UnsafeRawBufferPointer) {
        var hasher = self.hasher
        body.update(chunk) { hasher.update(data: $0) }
        self.hasher = hasher
    }

    /// The header section read so far, parsed (all of it once `headerComplete`, or at the end).
    public func headerSection() throws(DKIMError) -> HeaderSection {
        try refuseOversizedHeader()
        do {
            return try HeaderSection(parsing: header)
        } catch {
            throw .unsignable("\(error)")
        }
    }

    /// Ends the body and returns its hash.
    public mutating func finishBody() throws(DKIMError) -> [UInt8] {
        try refuseOversizedHeader()
        var hasher = self.hasher
        body.finish { hasher.update(data: $0) }
        return Array(hasher.finalize())
    }

    private func refuseOversizedHeader() throws(DKIMError) {
        if tooLarge { throw .unsignable("header section over \(Self.maxHeaderBytes) bytes") }
    }

    /// The header section and the body hash.
    public mutating func finish() throws(DKIMError) -> (header: HeaderSection, bodyHash: [UInt8]) {
        let bodyHash = try finishBody()
        return (try headerSection(), bodyHash)
    }
}
