// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOPosix
import Synchronization

/// One exchange with one server: the query over UDP, and again over TCP when the answer comes
/// back truncated (RFC 7766 §5). Decides nothing about RCODEs; `MXResolver` does.
final class DNSTransport: Sendable {
    let group: any EventLoopGroup
    init(group: any EventLoopGroup) { self.group = group }

    /// How many answers had to be fetched over TCP; lets tests prove the fallback happened.
    let tcpFallbacks = Mutex(0)

    func exchange(_ query: DNSMessage, with server: SocketAddress, timeout: TimeAmount) async throws(DNSError) -> DNSMessage {
        let expectation = AnswerExpectation(query: query)
        let bytes = query.encoded()
        switch try await udpExchange(bytes, expectation: expectation, server: server, timeout: timeout) {
        case .answer(let message):
            return message
        case .truncated:
            tcpFallbacks.withLock { $0 += 1 }
            // A fresh timeout: the truncated answer proved the server is alive and responsive.
            return try await tcpExchange(bytes, expectation: expectation, server: server, timeout: timeout)
        }
    }

    private func udpExchange(_ bytes: [UInt8], expectation: AnswerExpectation, server: SocketAddress,
                             timeout: TimeAmount) async throws(DNSError) -> AnswerExpectation.Outcome {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: AnswerExpectation.Outcome.self)
        // A new socket per query gets a new random source port from the kernel: with the random
        // ID that is ~32 bits an off-path spoofer must guess (RFC 5452 §4). Connecting it makes
        // the kernel drop datagrams from other sources and report ICMP "port unreachable".
        let bootstrap = DatagramBootstrap(group: eventLoop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(UDPAnswerHandler(expectation: expectation, promise: promise))
            }
        }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: server).get()
        } catch {
            throw .network("UDP socket to \(server): \(error)")
        }
        let envelope = AddressedEnvelope(remoteAddress: server, data: channel.allocator.buffer(bytes: bytes))
        channel.writeAndFlush(envelope).cascadeFailure(to: promise)
        return try await awaitAnswer(promise, on: channel, timeout: timeout, name: expectation.question.name)
    }

    private func tcpExchange(_ bytes: [UInt8], expectation: AnswerExpectation, server: SocketAddress,
                             timeout: TimeAmount) async throws(DNSError) -> DNSMessage {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: AnswerExpectation.Outcome.self)
        let bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(timeout).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPLengthPrefixDecoder()))
                try channel.pipeline.syncOperations.addHandler(TCPAnswerHandler(expectation: expectation, promise: promise))
            }
        }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: server).get()
        } catch {
            throw .network("TCP connection to \(server): \(error)")
        }
        var buffer = channel.allocator.buffer(capacity: bytes.count + 2)
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer).cascadeFailure(to: promise)
        switch try await awaitAnswer(promise, on: channel, timeout: timeout, name: expectation.question.name) {
        case .answer(let message): return message
        case .truncated: throw .malformedResponse("answer over TCP is marked truncated")
        }
    }

    /// Waits for the handler's verdict, the timeout, or task cancellation, whichever comes first,
    /// and always closes the channel.
    private func awaitAnswer(_ promise: EventLoopPromise<AnswerExpectation.Outcome>, on channel: any Channel,
                             timeout: TimeAmount, name: String) async throws(DNSError) -> AnswerExpectation.Outcome {
        let timer = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(DNSError.timeout(name)) }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
            }
        } catch let error as DNSError {
            throw error
        } catch is CancellationError {
            throw .timeout(name)
        } catch {
            throw .network("\(error)")
        }
    }
}

/// Decides whether a packet answers our query. Anything that does not carry our ID and our
/// question is ignored rather than treated as an error, so that a spoofed or stale packet cannot
/// end the exchange early: the real answer can still arrive before the timeout (RFC 5452 §3).
struct AnswerExpectation: Sendable {
    enum Outcome: Sendable {
        case answer(DNSMessage)
        case truncated
    }

    let id: UInt16
    let question: DNSMessage.Question

    init(query: DNSMessage) {
        id = query.header.id
        question = query.questions[0]
    }

    /// nil: not ours, keep waiting. Throws when the packet is ours but unusable.
    func evaluate(_ bytes: [UInt8], overTCP: Bool) throws(DNSError) -> Outcome? {
        guard let (header, questions) = try? DNSMessage.decodeHeaderAndQuestions(bytes),
              header.isResponse, header.id == id else { return nil }
        if questions.isEmpty {
            // Some servers answer FORMERR/NOTIMP without echoing the question (RFC 6891 §7).
            guard header.rcode != 0 && header.rcode != 3 else { return nil }
        } else {
            guard questions.count == 1, DNSName.equal(questions[0].name, question.name),
                  questions[0].type == question.type, questions[0].recordClass == question.recordClass else { return nil }
        }
        if header.isTruncated && !overTCP { return .truncated }
        return .answer(try DNSMessage(decoding: bytes))
    }
}

private final class UDPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let expectation: AnswerExpectation
    private let promise: EventLoopPromise<AnswerExpectation.Outcome>

    init(expectation: AnswerExpectation, promise: EventLoopPromise<AnswerExpectation.Outcome>) {
        (self.expectation, self.promise) = (expectation, promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        do {
            if let outcome = try expectation.evaluate(Array(envelope.data.readableBytesView), overTCP: false) {
                promise.succeed(outcome)
            }
        } catch {
            promise.fail(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(DNSError.network("\(error)"))
    }
}

private final class TCPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let expectation: AnswerExpectation
    private let promise: EventLoopPromise<AnswerExpectation.Outcome>

    init(expectation: AnswerExpectation, promise: EventLoopPromise<AnswerExpectation.Outcome>) {
        (self.expectation, self.promise) = (expectation, promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        do {
            if let outcome = try expectation.evaluate(Array(frame.readableBytesView), overTCP: true) {
                promise.succeed(outcome)
            }
        } catch {
            promise.fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSError.network("server closed the TCP connection before answering"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(DNSError.network("\(error)"))
        context.close(promise: nil)
    }
}

/// RFC 1035 §4.2.2: over TCP each message is preceded by its length as two octets. The length
/// field caps a frame at 65,535 octets, which bounds what a hostile server can make us buffer.
private struct TCPLengthPrefixDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
