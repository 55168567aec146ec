// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// Reads the cipher suite our TLS stack chose from the ServerHello it sends, for `Received:`.
///
/// swift-nio-ssl exposes the negotiated version (`tlsVersion`) but no accessor for the cipher,
/// and BoringSSL itself is not a product of that package. The ServerHello, though, travels in
/// the clear in TLS 1.2 and 1.3 alike (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3), and it is our own
/// output: sitting between the socket and the TLS handler, this handler reads the two-byte
/// `cipher_suite` of the first handshake record and then only passes bytes through. Nothing a
/// client sends can influence what it reports; anything it cannot parse leaves the cipher unknown.
final class TLSCipherObserver: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The IANA registry value, once seen.
    private(set) var cipherSuite: UInt16?
    private var seen: [UInt8] = []
    private var finished = false

    /// A ServerHello with the longest session ID fits well inside this; beyond it we give up.
    static let lookahead = 512

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !finished {
            let buffer = unwrapOutboundIn(data)
            seen += buffer.readableBytesView.prefix(Self.lookahead - seen.count)
            switch Self.cipherSuite(inServerHello: seen) {
            case .found(let suite):
                cipherSuite = suite
                finished = true
            case .notServerHello:
                finished = true
            case .needMore:
                if seen.count >= Self.lookahead { finished = true }
            }
            if finished { seen = [] }
        }
        context.write(data, promise: promise)
    }

    enum Parse: Equatable {
        case found(UInt16)
        case needMore
        case notServerHello
    }

    /// Record header (type 22, version, length), handshake header (type 2, length), legacy
    /// version, 32 random bytes, session ID (length-prefixed, ≤ 32), then the cipher suite.
    static func cipherSuite(inServerHello bytes: [UInt8]) -> Parse {
        guard let recordType = bytes.first else { return .needMore }
        guard recordType == 22 else { return .notServerHello }
        guard bytes.count > 5 else { return .needMore }
        guard bytes[5] == 2 else { return .notServerHello }
        let sessionIDLength = 43
        guard bytes.count > sessionIDLength else { return .needMore }
        let length = Int(bytes[sessionIDLength])
        guard length <= 32 else { return .notServerHello }
        let suite = sessionIDLength + 1 + length
        guard bytes.count >= suite + 2 else { return .needMore }
        return .found(UInt16(bytes[suite]) << 8 | UInt16(bytes[suite + 1]))
    }

    /// IANA names (the TLS Cipher Suites registry) of the suites BoringSSL can choose as a
    /// server; anything else is shown by its number.
    static func name(of suite: UInt16) -> String {
        let names: [UInt16: String] = [
            0x1301: "TLS_AES_128_GCM_SHA256",
            0x1302: "TLS_AES_256_GCM_SHA384",
            0x1303: "TLS_CHACHA20_POLY1305_SHA256",
            0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
            0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
            0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
            0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
            0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
        ]
        return names[suite] ?? String(format: "cipher 0x%04X", suite)
    }
}
