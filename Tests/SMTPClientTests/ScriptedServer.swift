// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOPosix
import Synchronization

/// A loopback server that answers each command line with whatever the test's script says,
/// for misbehaviour no real peer offers (injection after STARTTLS, EHLO refused, broken TLS).
/// It records every chunk read, so a test can see how commands were grouped on the wire.
final class ScriptedServer: Sendable {
    let channel: any Channel
    let port: Int
    let reads = ReadLog()

    /// `respond` gets each command line (and `.` at the end of DATA); it returns the raw reply
    /// bytes to write, or nil to close the connection.
    init(greeting: String = "220 scripted ESMTP\r\n", respond: @escaping @Sendable (String) -> String?) async throws {
        let reads = self.reads
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptHandler(greeting: greeting, respond: respond, record: { chunk in reads.append(chunk) }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    deinit { channel.close(promise: nil) }

    var address: SocketAddress { try! SocketAddress(ipAddress: "127.0.0.1", port: port) }
}

/// Every chunk the server read, in order.
final class ReadLog: Sendable {
    private let chunks = Mutex<[String]>([])
    func append(_ chunk: String) { chunks.withLock { $0.append(chunk) } }
    var all: [String] { chunks.withLock { $0 } }
}

private final class ScriptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let greeting: String
    let respond: @Sendable (String) -> String?
    let record: @Sendable (String) -> Void
    var pending = ""
    var inData = false

    init(greeting: String, respond: @escaping @Sendable (String) -> String?, record: @escaping @Sendable (String) -> Void) {
        self.greeting = greeting
        self.respond = respond
        self.record = record
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = String(decoding: unwrapInboundIn(data).readableBytesView, as: UTF8.self)
        record(chunk)
        pending += chunk
        while let range = pending.range(of: "\r\n") {
            let line = String(pending[..<range.lowerBound])
            pending = String(pending[range.upperBound...])
            if inData && line != "." { continue }
            inData = false
            guard let reply = respond(line) else {
                context.close(promise: nil)
                return
            }
            if reply.hasPrefix("354") { inData = true }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
        }
    }
}

/// A script for an ordinary server with the given EHLO keywords, accepting everything.
func ordinaryServer(_ keywords: [String], overrides: @escaping @Sendable (String) -> String? = { _ in nil }) -> @Sendable (String) -> String? {
    { line in
        if let reply = overrides(line) { return reply }
        let verb = line.prefix(4).uppercased()
        switch verb {
        case "EHLO":
            let lines = ["scripted"] + keywords
            return lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)\r\n" }.joined()
        case "DATA": return "354 go ahead\r\n"
        case "QUIT": return "221 bye\r\n"
        default: return "250 ok\r\n"
        }
    }
}
