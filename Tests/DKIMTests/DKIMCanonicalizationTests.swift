// SPDX-License-Identifier: Apache-2.0
import Crypto
@testable import DKIM
import MailMessage
import Testing

@Suite struct DKIMCanonicalizationTests {
    static func relaxedBody(_ text: String, chunkSize: Int = .max) -> String {
        var canonicalizer = RelaxedBodyCanonicalizer()
        var output: [UInt8] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunkSize)
            canonicalizer.update(bytes[start..<end]) { output += $0 }
            start = end
        }
        canonicalizer.finish { output += $0 }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func relaxedHeaderFieldsMatchTheRFC6376Example() {
        // RFC 6376 §3.4.5.
        #expect(relaxedHeaderField(Array("A: X\r\n".utf8)) == Array("a:X\r\n".utf8))
        #expect(relaxedHeaderField(Array("B : Y\t\r\n\tZ  \r\n".utf8)) == Array("b:Y Z\r\n".utf8))
    }

    @Test func relaxedHeaderFieldKeepsTheValueCaseAndDropsSpaceAroundTheColon() {
        #expect(relaxedHeaderField(Array("SUBJECT  :   Hello   World \r\n".utf8)) == Array("subject:Hello World\r\n".utf8))
        #expect(relaxedHeaderField(Array("X-Empty:\r\n".utf8)) == Array("x-empty:\r\n".utf8))
    }

    @Test func relaxedBodyMatchesTheRFC6376Example() {
        #expect(Self.relaxedBody(" C \r\nD \t E\r\n\r\n\r\n") == " C\r\nD E\r\n")
    }

    @Test func relaxedBodyEdgeCases() {
        #expect(Self.relaxedBody("") == "")
        #expect(Self.relaxedBody("\r\n\r\n  \r\n") == "")  // only empty lines: the empty body
        #expect(Self.relaxedBody("no line end") == "no line end\r\n")
        #expect(Self.relaxedBody("\r\nleading empty line kept\r\n") == "\r\nleading empty line kept\r\n")
        #expect(Self.relaxedBody("a\r\n\r\nb\r\n") == "a\r\n\r\nb\r\n")
        // Bare CR and bare LF end lines, as DotStuffer sends them.
        #expect(Self.relaxedBody("a\nb\rc \r\n") == "a\r\nb\r\nc\r\n")
    }

    @Test func relaxedBodyIsTheSameWhateverTheChunkSize() {
        let body = "Hello  \t world \r\n\r\n .dot line\r\n\tindented\r\r\nlast \n\n\r\n\r\n"
        let whole = Self.relaxedBody(body)
        for size in 1...9 {
            #expect(Self.relaxedBody(body, chunkSize: size) == whole, "chunk size \(size)")
        }
    }

    @Test func messageDigestSplitsHeaderAndBodyAcrossChunkBoundaries() throws {
        let message = "From: a@example.com\r\nSubject: x\r\n\r\n\nbody line \r\n\r\n"
        let expectedBody = Self.relaxedBody("\nbody line \r\n\r\n")
        let expectedHash = Array(SHA256.hash(data: Array(expectedBody.utf8)))
        let bytes = Array(message.utf8)
        for size in 1...bytes.count {
            var digest = DKIMMessageDigest()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + size)
                digest.update(bytes[start..<end])
                start = end
            }
            let (header, bodyHash) = try digest.finish()
            #expect(header.fields.map(\.name) == ["From", "Subject"], "chunk size \(size)")
            #expect(bodyHash == expectedHash, "chunk size \(size)")
        }
    }

    @Test func messageWithoutBodyHashesTheEmptyBody() throws {
        var digest = DKIMMessageDigest()
        digest.update(Array("From: a@example.com\r\n".utf8))
        let (header, bodyHash) = try digest.finish()
        #expect(header.fields.count == 1)
        #expect(bodyHash == Array(SHA256.hash(data: [UInt8]())))
    }

    @Test func oversizedHeaderSectionIsNotSigned() {
        var digest = DKIMMessageDigest()
        let line = Array("X-Filler: \(String(repeating: "y", count: 900))\r\n".utf8)
        for _ in 0...(DKIMMessageDigest.maxHeaderBytes / line.count) { digest.update(line) }
        #expect(throws: DKIMError.self) { try digest.finish() }
    }
}
