// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import NIOCore
import NIOPosix
import Synchronization

/// A scripted UDP DNS server on 127.0.0.1 for behaviour dnsmasq cannot be made to show:
/// SERVFAIL, silence, spoofed packets, CNAME loops, hostile bytes. `reply` returns the datagrams
/// to send back for each query (none = never answer).
final class FakeDNSServer: Sendable {
    let channel: any Channel
    private let log = QueryLog()

    var address: SocketAddress { channel.localAddress! }
    var queries: [DNSMessage] { log.queries.withLock { $0 } }
    var queryCount: Int { log.queries.withLock { $0.count } }

    private final class QueryLog: Sendable {
        let queries = Mutex<[DNSMessage]>([])
    }

    init(reply: @escaping @Sendable (DNSMessage) -> [[UInt8]]) async throws {
        let log = self.log
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(reply: reply) { query in
                        log.queries.withLock { $0.append(query) }
                    })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    deinit { channel.close(promise: nil) }

    /// A response to `query` with its ID and question.
    static func response(to query: DNSMessage, rcode: UInt8 = 0, answers: [DNSMessage.ResourceRecord] = [],
                         authorities: [DNSMessage.ResourceRecord] = [], id: UInt16? = nil) -> [UInt8] {
        var header = DNSMessage.Header(id: id ?? query.header.id)
        header.isResponse = true
        header.recursionDesired = true
        header.recursionAvailable = true
        header.rcode = rcode
        return DNSMessage(header: header, questions: query.questions, answers: answers, authorities: authorities).encoded()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let reply: @Sendable (DNSMessage) -> [[UInt8]]
        let record: @Sendable (DNSMessage) -> Void

        init(reply: @escaping @Sendable (DNSMessage) -> [[UInt8]], record: @escaping @Sendable (DNSMessage) -> Void) {
            (self.reply, self.record) = (reply, record)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = Self.unwrapInboundIn(data)
            guard let query = try? DNSMessage(decoding: Array(envelope.data.readableBytesView)) else { return }
            record(query)
            for packet in reply(query) {
                let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: packet))
                context.write(Self.wrapOutboundOut(out), promise: nil)
            }
            context.flush()
        }
    }
}
