// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailMessage

/// A fixed-seed generator so a crash found here reproduces.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let alphabet = Array("aZ0@.,;:<>()[]\"\\ \t\r\n=?-_é".utf8) + [0xFF, 0xC3, 0x00]

@Test func randomBytesNeverCrashTheParsers() {
    var random = SplitMix(state: 5322)
    for _ in 0..<3000 {
        let length = Int.random(in: 0..<80, using: &random)
        let bytes = (0..<length).map { _ in alphabet.randomElement(using: &random)! }
        _ = try? HeaderSection(parsing: bytes)
        _ = try? HeaderSection(parsing: Array("To: ".utf8) + bytes)
        _ = try? AddressListParser.parse(String(decoding: bytes, as: UTF8.self))
        _ = MessageBytes.normalizingLineEndings(bytes)
        _ = TraceFields.fold(String(decoding: bytes, as: UTF8.self), width: 10)
    }
}

@Test func foldedLinesUnfoldToTheOriginal() {
    var random = SplitMix(state: 78)
    let words = ["a", "bb", "longer-word", String(repeating: "x", count: 90), "(comment)", "<a@b.example>;"]
    for _ in 0..<500 {
        let line = "X-Test: " + (0..<Int.random(in: 1..<40, using: &random)).map { _ in words.randomElement(using: &random)! }.joined(separator: " ")
        let folded = TraceFields.fold(line)
        #expect(folded.replacingOccurrences(of: "\r\n", with: "") == line)
        for physical in folded.components(separatedBy: "\r\n") where physical.utf8.count > 78 {
            // Only a single over-long word may exceed the width.
            #expect(!physical.dropFirst().contains(" "), "line could have been folded: \(physical)")
        }
    }
}
