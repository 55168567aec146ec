// SPDX-License-Identifier: Apache-2.0
@testable import SMTPServer
import Testing

@Suite struct TLSCipherObserverTests {
    /// A ServerHello record as a TLS server writes it: record header, handshake header, version,
    /// random, session ID, cipher suite, then compression and extensions (cut short here).
    static func serverHello(sessionID: Int, suite: UInt16) -> [UInt8] {
        [22, 3, 3, 0, 90] + [2, 0, 0, 86] + [3, 3] + [UInt8](repeating: 0xAB, count: 32)
            + [UInt8(sessionID)] + [UInt8](repeating: 0x11, count: sessionID) + [UInt8(suite >> 8), UInt8(suite & 0xFF)] + [0, 0, 0]
    }

    @Test(arguments: [0, 32])
    func theCipherSuiteIsReadAfterTheSessionID(sessionID: Int) {
        #expect(TLSCipherObserver.cipherSuite(inServerHello: Self.serverHello(sessionID: sessionID, suite: 0x1302)) == .found(0x1302))
    }

    @Test func aRecordCutBeforeTheSuiteAsksForMore() {
        let hello = Self.serverHello(sessionID: 32, suite: 0xC030)
        for length in [0, 1, 5, 43, 44, 76, 77] {
            #expect(TLSCipherObserver.cipherSuite(inServerHello: Array(hello.prefix(length))) == .needMore, "\(length)")
        }
        #expect(TLSCipherObserver.cipherSuite(inServerHello: Array(hello.prefix(78))) == .found(0xC030))
    }

    @Test func anythingButAServerHelloIsLeftUnknown() {
        #expect(TLSCipherObserver.cipherSuite(inServerHello: [23, 3, 3, 0, 10, 1, 2]) == .notServerHello)
        #expect(TLSCipherObserver.cipherSuite(inServerHello: [22, 3, 3, 0, 10, 11, 0]) == .notServerHello)
        var oversized = Self.serverHello(sessionID: 0, suite: 0x1301)
        oversized[43] = 33
        #expect(TLSCipherObserver.cipherSuite(inServerHello: oversized) == .notServerHello)
    }

    @Test func suitesAreNamedAsInTheIANARegistryAndUnknownOnesByNumber() {
        #expect(TLSCipherObserver.name(of: 0x1301) == "TLS_AES_128_GCM_SHA256")
        #expect(TLSCipherObserver.name(of: 0xCCA8) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
        #expect(TLSCipherObserver.name(of: 0x1234) == "cipher 0x1234")
    }
}
