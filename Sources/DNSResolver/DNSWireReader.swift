// SPDX-License-Identifier: Apache-2.0

/// A bounds-checked cursor over a received DNS message. Every read checks the remaining length
/// first, so truncated or hostile packets end in `DNSError.malformedResponse`, never a trap.
struct DNSWireReader {
    let bytes: [UInt8]
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func readUInt8() throws(DNSError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSError) -> UInt32 {
        let high = try readUInt16()
        return UInt32(high) << 16 | UInt32(try readUInt16())
    }

    mutating func readBytes(_ count: Int) throws(DNSError) -> ArraySlice<UInt8> {
        try need(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Reads a possibly compressed name (RFC 1035 §4.1.4).
    ///
    /// Compression pointers are the classic attack surface of DNS parsers: a pointer to itself or
    /// a cycle of pointers hangs a naive decoder, and a pointer past the end reads out of bounds.
    /// Each pointer must therefore point strictly before the start of the labels it interrupts,
    /// so positions only ever decrease across jumps and decoding always ends; the 255-octet name
    /// limit is enforced on the expanded name, which bounds the work and memory a packet can cost.
    mutating func readName() throws(DNSError) -> String {
        var labels: [String] = []
        var wireLength = 1
        var position = offset
        var segmentStart = offset
        var resumeOffset: Int?
        while true {
            guard position < bytes.count else { throw .malformedResponse("name runs past the end of the message") }
            let length = Int(bytes[position])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    offset = resumeOffset ?? position + 1
                    return labels.joined(separator: ".")
                }
                guard position + 1 + length <= bytes.count else {
                    throw .malformedResponse("label runs past the end of the message")
                }
                wireLength += length + 1
                guard wireLength <= DNSName.maxWireLength else { throw .malformedResponse("name longer than 255 octets") }
                labels.append(DNSName.formatLabel(bytes[(position + 1)..<(position + 1 + length)]))
                position += 1 + length
            case 0xC0:
                guard position + 1 < bytes.count else { throw .malformedResponse("truncated compression pointer") }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < segmentStart else { throw .malformedResponse("compression pointer does not point backwards") }
                if resumeOffset == nil { resumeOffset = position + 2 }
                position = target
                segmentStart = target
            default:
                // 0x40 and 0x80: extended label types (RFC 6891 §5) are obsolete and never valid here.
                throw .malformedResponse("unsupported label type")
            }
        }
    }

    private func need(_ count: Int) throws(DNSError) {
        guard count >= 0, count <= remaining else { throw .malformedResponse("message truncated at offset \(offset)") }
    }
}
