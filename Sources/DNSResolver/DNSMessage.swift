// SPDX-License-Identifier: Apache-2.0

/// A DNS record type number (IANA "Resource Record (RR) TYPEs").
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let ptr = DNSRecordType(rawValue: 12)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let opt = DNSRecordType(rawValue: 41)

    public var description: String {
        switch self {
        case .a: return "A"
        case .ns: return "NS"
        case .cname: return "CNAME"
        case .soa: return "SOA"
        case .ptr: return "PTR"
        case .mx: return "MX"
        case .txt: return "TXT"
        case .aaaa: return "AAAA"
        case .opt: return "OPT"
        default: return "TYPE\(rawValue)"
        }
    }
}

/// One DNS message (RFC 1035 §4.1): the codec is pure, so hostile packets can be tested without
/// sockets. Decoding parses MX, A, AAAA, CNAME, PTR and SOA; other types are kept as raw bytes.
/// Names are in presentation form without the trailing dot; case is preserved as received.
public struct DNSMessage: Sendable, Hashable {
    public static let classIN: UInt16 = 1
    static let headerLength = 12

    public struct Header: Sendable, Hashable {
        public var id: UInt16
        public var isResponse = false
        public var opcode: UInt8 = 0
        public var isAuthoritative = false
        public var isTruncated = false
        public var recursionDesired = false
        public var recursionAvailable = false
        /// The low four bits of the RCODE; `DNSMessage.rcode` adds the EDNS extension.
        public var rcode: UInt8 = 0

        public init(id: UInt16) { self.id = id }
    }

    public struct Question: Sendable, Hashable {
        public var name: String
        public var type: DNSRecordType
        public var recordClass: UInt16
        public init(name: String, type: DNSRecordType, recordClass: UInt16 = DNSMessage.classIN) {
            self.name = name
            self.type = type
            self.recordClass = recordClass
        }
    }

    public struct StartOfAuthority: Sendable, Hashable {
        public var primaryServer: String
        public var mailbox: String
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        /// RFC 2308 §4: the TTL for negative answers from this zone.
        public var minimum: UInt32
        public init(primaryServer: String, mailbox: String, serial: UInt32, refresh: UInt32, retry: UInt32,
                    expire: UInt32, minimum: UInt32) {
            (self.primaryServer, self.mailbox, self.serial) = (primaryServer, mailbox, serial)
            (self.refresh, self.retry, self.expire, self.minimum) = (refresh, retry, expire, minimum)
        }
    }

    public enum RecordData: Sendable, Hashable {
        case a([UInt8])  // 4 octets
        case aaaa([UInt8])  // 16 octets
        case mx(preference: UInt16, exchange: String)
        case cname(String)
        /// RFC 1035 §3.3.12: the name an `in-addr.arpa` / `ip6.arpa` name points to.
        case ptr(String)
        case soa(StartOfAuthority)
        /// Any other type (and OPT): the RDATA as received.
        case other([UInt8])
    }

    public struct ResourceRecord: Sendable, Hashable {
        public var name: String
        public var type: DNSRecordType
        /// CLASS; for OPT it is the sender's UDP payload size (RFC 6891 §6.1.2).
        public var recordClass: UInt16
        /// TTL; for OPT it holds the extended RCODE, version and flags.
        public var ttl: UInt32
        public var data: RecordData
        public init(name: String, type: DNSRecordType, recordClass: UInt16 = DNSMessage.classIN, ttl: UInt32,
                    data: RecordData) {
            (self.name, self.type, self.recordClass, self.ttl, self.data) = (name, type, recordClass, ttl, data)
        }
    }

    public var header: Header
    public var questions: [Question] = []
    public var answers: [ResourceRecord] = []
    public var authorities: [ResourceRecord] = []
    public var additionals: [ResourceRecord] = []

    public init(header: Header, questions: [Question] = [], answers: [ResourceRecord] = [],
                authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = []) {
        (self.header, self.questions, self.answers) = (header, questions, answers)
        (self.authorities, self.additionals) = (authorities, additionals)
    }

    /// A recursive query with an EDNS0 OPT record. 1232 octets is the DNS Flag Day 2020 size:
    /// it fits the IPv6 minimum MTU, so answers are not lost to IP fragmentation (or spoofed
    /// through it); anything larger comes back truncated and is fetched over TCP.
    public static func query(id: UInt16, name: String, type: DNSRecordType, udpPayloadSize: UInt16 = 1232) -> DNSMessage {
        var header = Header(id: id)
        header.recursionDesired = true
        let opt = ResourceRecord(name: "", type: .opt, recordClass: udpPayloadSize, ttl: 0, data: .other([]))
        return DNSMessage(header: header, questions: [Question(name: name, type: type)], additionals: [opt])
    }

    /// The full RCODE: the header's four bits plus, when an OPT record is present, its upper eight
    /// bits (RFC 6891 §6.1.3), so that BADVERS (16) is not misread as NOERROR.
    public var rcode: Int {
        let upper = additionals.first(where: { $0.type == .opt }).map { Int($0.ttl >> 24) } ?? 0
        return upper << 4 | Int(header.rcode)
    }
}

// MARK: - Decoding

extension DNSMessage {
    /// Decodes a whole message. Throws `.malformedResponse` for anything that does not parse,
    /// including trailing garbage inside a record's RDATA.
    public init(decoding bytes: [UInt8]) throws(DNSError) {
        var reader = DNSWireReader(bytes)
        let (header, counts) = try Self.readHeader(&reader)
        self.init(header: header)
        questions = try Self.readQuestions(&reader, count: counts.0)
        answers = try Self.readRecords(&reader, count: counts.1)
        authorities = try Self.readRecords(&reader, count: counts.2)
        additionals = try Self.readRecords(&reader, count: counts.3)
    }

    /// Only the header and question section: enough to tell whether a packet answers our query,
    /// and all that is needed from a truncated (TC=1) answer, whose records may be cut short.
    public static func decodeHeaderAndQuestions(_ bytes: [UInt8]) throws(DNSError) -> (Header, [Question]) {
        var reader = DNSWireReader(bytes)
        let (header, counts) = try readHeader(&reader)
        return (header, try readQuestions(&reader, count: counts.0))
    }

    private static func readHeader(_ reader: inout DNSWireReader) throws(DNSError) -> (Header, (Int, Int, Int, Int)) {
        var header = Header(id: try reader.readUInt16())
        let flags = try reader.readUInt16()
        header.isResponse = flags & 0x8000 != 0
        header.opcode = UInt8((flags >> 11) & 0x0F)
        header.isAuthoritative = flags & 0x0400 != 0
        header.isTruncated = flags & 0x0200 != 0
        header.recursionDesired = flags & 0x0100 != 0
        header.recursionAvailable = flags & 0x0080 != 0
        header.rcode = UInt8(flags & 0x000F)
        let counts = (Int(try reader.readUInt16()), Int(try reader.readUInt16()),
                      Int(try reader.readUInt16()), Int(try reader.readUInt16()))
        return (header, counts)
    }

    // Counts come from the sender: nothing is reserved from them, and each entry consumes at
    // least five octets, so a lying count ends in a truncation error after a few reads.
    private static func readQuestions(_ reader: inout DNSWireReader, count: Int) throws(DNSError) -> [Question] {
        var questions: [Question] = []
        for _ in 0..<count {
            let name = try reader.readName()
            let type = DNSRecordType(rawValue: try reader.readUInt16())
            questions.append(Question(name: name, type: type, recordClass: try reader.readUInt16()))
        }
        return questions
    }

    private static func readRecords(_ reader: inout DNSWireReader, count: Int) throws(DNSError) -> [ResourceRecord] {
        var records: [ResourceRecord] = []
        for _ in 0..<count {
            let name = try reader.readName()
            let type = DNSRecordType(rawValue: try reader.readUInt16())
            let recordClass = try reader.readUInt16()
            let ttl = try reader.readUInt32()
            let length = Int(try reader.readUInt16())
            guard length <= reader.remaining else { throw .malformedResponse("RDATA runs past the end of the message") }
            let end = reader.offset + length
            let data = try readData(&reader, type: type, length: length)
            guard reader.offset == end else { throw .malformedResponse("\(type) RDATA length does not match its contents") }
            records.append(ResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data))
        }
        return records
    }

    private static func readData(_ reader: inout DNSWireReader, type: DNSRecordType, length: Int) throws(DNSError) -> RecordData {
        switch type {
        case .a where length == 4: return .a(Array(try reader.readBytes(4)))
        case .aaaa where length == 16: return .aaaa(Array(try reader.readBytes(16)))
        case .a, .aaaa: throw .malformedResponse("\(type) record of \(length) octets")
        case .mx:
            let preference = try reader.readUInt16()
            return .mx(preference: preference, exchange: try reader.readName())
        case .cname: return .cname(try reader.readName())
        case .ptr: return .ptr(try reader.readName())
        case .soa:
            let primary = try reader.readName()
            let mailbox = try reader.readName()
            return .soa(StartOfAuthority(primaryServer: primary, mailbox: mailbox, serial: try reader.readUInt32(),
                                         refresh: try reader.readUInt32(), retry: try reader.readUInt32(),
                                         expire: try reader.readUInt32(), minimum: try reader.readUInt32()))
        default: return .other(Array(try reader.readBytes(length)))
        }
    }
}

// MARK: - Encoding

extension DNSMessage {
    /// The wire form, without name compression (queries are small; tests build answers with it).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        var flags: UInt16 = UInt16(header.opcode & 0x0F) << 11 | UInt16(header.rcode & 0x0F)
        if header.isResponse { flags |= 0x8000 }
        if header.isAuthoritative { flags |= 0x0400 }
        if header.isTruncated { flags |= 0x0200 }
        if header.recursionDesired { flags |= 0x0100 }
        if header.recursionAvailable { flags |= 0x0080 }
        for value in [header.id, flags, UInt16(questions.count), UInt16(answers.count),
                      UInt16(authorities.count), UInt16(additionals.count)] {
            bytes.appendUInt16(value)
        }
        for question in questions {
            DNSName.encode(question.name, into: &bytes)
            bytes.appendUInt16(question.type.rawValue)
            bytes.appendUInt16(question.recordClass)
        }
        for record in answers + authorities + additionals { record.encode(into: &bytes) }
        return bytes
    }
}

extension DNSMessage.ResourceRecord {
    func encode(into bytes: inout [UInt8]) {
        DNSName.encode(name, into: &bytes)
        bytes.appendUInt16(type.rawValue)
        bytes.appendUInt16(recordClass)
        bytes.appendUInt16(UInt16(ttl >> 16))
        bytes.appendUInt16(UInt16(ttl & 0xFFFF))
        var rdata: [UInt8] = []
        switch data {
        case .a(let address), .aaaa(let address), .other(let address): rdata = address
        case .mx(let preference, let exchange):
            rdata.appendUInt16(preference)
            DNSName.encode(exchange, into: &rdata)
        case .cname(let target), .ptr(let target): DNSName.encode(target, into: &rdata)
        case .soa(let soa):
            DNSName.encode(soa.primaryServer, into: &rdata)
            DNSName.encode(soa.mailbox, into: &rdata)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                rdata.appendUInt16(UInt16(value >> 16))
                rdata.appendUInt16(UInt16(value & 0xFFFF))
            }
        }
        bytes.appendUInt16(UInt16(clamping: rdata.count))
        bytes.append(contentsOf: rdata.prefix(Int(UInt16.max)))
    }
}

extension [UInt8] {
    mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
