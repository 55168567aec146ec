// SUMMARY: DKIM — signing outgoing messages (RFC 6376) with RSA-SHA256 or Ed25519-SHA256 (RFC 8463).
//
// DESCRIPTION: The "relaxed" canonicalization of header fields and body (RFC 6376 §3.4.2, §3.4.4),
// a streaming digest that splits a stored message into its header section and the hash of its
// canonical body, the signing key (PEM, RSA of at least 2048 bits or Ed25519) and the signer that
// writes the `DKIM-Signature:` field. Knows nothing of the queue or of SMTP: delivery hands it the
// bytes it is about to send.
//
// SAFETY: Line endings are read the way mailroot's DATA writer (`DotStuffer`) sends them: CRLF,
// a bare CR and a bare LF each end a line. So the body hashed is the body the receiver sees.
//
// SEE ALSO: RFC 6376 (DKIM), RFC 8463 (Ed25519), RFC 8301 (RSA at least 1024 bits, SHA-256 only);
// dkimpy, which the tests use as the independent verifier.

/// Relaxed header canonicalization (RFC 6376 §3.4.2) of one field as written, folding included:
/// the name in lower case, the value unfolded, each run of spaces and tabs made one space, and
/// no space at the end of the value or around the colon. Returns `name:value` followed by CRLF.
public func relaxedHeaderField(_ raw: some Collection<UInt8>) -> [UInt8] {
    let bytes = Array(raw)
    guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return [] }
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count + 2)
    var nameEnd = colon
    while nameEnd > 0, isWhitespace(bytes[nameEnd - 1]) { nameEnd -= 1 }
    for byte in bytes[..<nameEnd] {
        output.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte)
    }
    output.append(UInt8(ascii: ":"))
    var pendingSpace = false
    var wroteValue = false
    for byte in bytes[(colon + 1)...] {
        if byte == 0x0D || byte == 0x0A { continue }  // unfolding: a line break inside is followed by WSP
        if isWhitespace(byte) {
            pendingSpace = true
            continue
        }
        if pendingSpace && wroteValue { output.append(0x20) }
        pendingSpace = false
        wroteValue = true
        output.append(byte)
    }
    output.append(0x0D)
    output.append(0x0A)
    return output
}

@inline(__always)
func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

/// Relaxed body canonicalization (RFC 6376 §3.4.4), fed in chunks of any size: each run of spaces
/// and tabs within a line becomes one space, spaces at the end of a line go, empty lines at the
/// end of the body go, and a non-empty body ends with CRLF. Output goes to `emit` in pieces.
public struct RelaxedBodyCanonicalizer {
    /// Line ends seen since the last content byte: written only when more content follows, so
    /// empty lines at the end disappear.
    private var pendingLineEnds = 0
    private var pendingSpace = false
    private var pendingCR = false
    private var wroteContent = false
    private var buffer: [UInt8] = []

    public init() {
        buffer.reserveCapacity(Self.flushSize)
    }

    static let flushSize = 64 * 1024

    public mutating func update(_ chunk: UnsafeRawBufferPointer, emit: ([UInt8]) -> Void) {
        for byte in chunk { consume(byte) }
        if buffer.count >= Self.flushSize {
            emit(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    public mutating func update(_ chunk: some Collection<UInt8>, emit: ([UInt8]) -> Void) {
        Array(chunk).withUnsafeBytes { update($0, emit: emit) }
    }

    /// Ends the body: writes the final CRLF of a non-empty body and whatever is buffered.
    public mutating func finish(emit: ([UInt8]) -> Void) {
        if pendingCR {
            pendingCR = false
            endLine()
        }
        if wroteContent {
            buffer.append(0x0D)
            buffer.append(0x0A)
        }
        if !buffer.isEmpty { emit(buffer) }
        buffer.removeAll()
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8) {
        if pendingCR {
            pendingCR = false
            endLine()
            if byte == 0x0A { return }  // CRLF: one line end
        }
        switch byte {
        case 0x0D: pendingCR = true
        case 0x0A: endLine()  // a bare LF is sent as CRLF, so it ends a line here too
        case 0x20, 0x09: pendingSpace = true
        default:
            while pendingLineEnds > 0 {
                buffer.append(0x0D)
                buffer.append(0x0A)
                pendingLineEnds -= 1
            }
            if pendingSpace { buffer.append(0x20) }
            pendingSpace = false
            wroteContent = true
            buffer.append(byte)
        }
    }

    @inline(__always)
    private mutating func endLine() {
        pendingSpace = false  // spaces at the end of a line are ignored
        pendingLineEnds += 1
    }
}
