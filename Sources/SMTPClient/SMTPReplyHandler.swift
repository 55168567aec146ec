// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOSSL
import SMTPProtocol

/// What ended a channel, before the connection adds the stage it happened in.
enum ChannelFailure: Error, Sendable {
    case closed
    case timedOut
    case protocolViolation(String)
    case tls(String)
    case network(String)
}

/// The last handler of the client pipeline: decodes replies and hands them to whoever waits,
/// with a deadline on every wait and write. It lives on the channel's event loop only; the
/// connection reaches it through `NIOLoopBound`.
///
/// The TLS handshake itself is not awaited separately: NIOSSL holds the EHLO written after the
/// `220` until the handshake is done, and a failed handshake arrives here as a `NIOSSLError`.
///
/// STARTTLS is done here rather than by the caller so that the TLS handler is in the pipeline
/// before the next byte is read: plaintext bytes already buffered behind the `220` fail the
/// connection instead of being taken as TLS-protected replies (CVE-2011-0411).
final class SMTPReplyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var decoder = SMTPReplyDecoder()
    private var ready = CircularBuffer<SMTPReply>()
    private var waiter: EventLoopPromise<SMTPReply>?
    private var failure: ChannelFailure?
    private var context: ChannelHandlerContext?
    /// Set while a STARTTLS reply is awaited: how to build the TLS handler if it is `220`.
    private var pendingTLS: (context: NIOSSLContext, serverHostname: String?)?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        decoder.append(unwrapInboundIn(data))
        do {
            while let reply = try decoder.next() {
                if let tls = pendingTLS {
                    pendingTLS = nil
                    if reply.code == 220 { guard startTLS(tls, context: context) else { return } }
                }
                deliver(reply)
            }
        } catch {
            fail(.protocolViolation(error.description), close: true)
        }
    }

    /// Adds the TLS handler in front; false (and the channel closed) if that is unsafe or fails.
    private func startTLS(_ tls: (context: NIOSSLContext, serverHostname: String?), context: ChannelHandlerContext) -> Bool {
        guard !decoder.hasBufferedInput else {
            fail(.protocolViolation("plaintext bytes after the 220 reply to STARTTLS (response injection)"), close: true)
            return false
        }
        do {
            let handler = try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname)
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
            return true
        } catch {
            fail(.tls("\(error)"), close: true)
            return false
        }
    }

    private func deliver(_ reply: SMTPReply) {
        if let waiter {
            self.waiter = nil
            waiter.succeed(reply)
        } else {
            ready.append(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            fail(.tls("\(error)"), close: true)
        } else {
            fail(.network("\(error)"), close: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed, close: false)
        context.fireChannelInactive()
    }

    private func fail(_ reason: ChannelFailure, close: Bool) {
        if failure == nil { failure = reason }
        let failure = self.failure ?? reason
        waiter?.fail(failure)
        waiter = nil
        if close { context?.close(promise: nil) }
    }

    // MARK: - Called by the connection, on the event loop

    /// The next reply, failing with `.timedOut` (and closing the channel) after `timeout`.
    func nextReply(on loop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<SMTPReply> {
        if let reply = ready.popFirst() { return loop.makeSucceededFuture(reply) }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: SMTPReply.self)
        waiter = promise
        return withDeadline(promise, on: loop, timeout: timeout)
    }

    /// Arms the STARTTLS upgrade for the next reply.
    func expectStartTLSReply(context tlsContext: NIOSSLContext, serverHostname: String?) {
        pendingTLS = (tlsContext, serverHostname)
    }

    /// Writes and flushes; the future completes when the bytes are handed to the kernel, which
    /// is the back-pressure the body streaming relies on.
    func write(_ buffer: ByteBuffer, on loop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<Void> {
        if let failure { return loop.makeFailedFuture(failure) }
        guard let context else { return loop.makeFailedFuture(ChannelFailure.closed) }
        let promise = loop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        // A write cut short by a timeout or a TLS failure reports that cause, not "closed channel".
        return withDeadline(promise, on: loop, timeout: timeout).assumeIsolated().flatMapErrorThrowing { [self] error in
            throw failure ?? (error as? ChannelFailure) ?? ChannelFailure.network("\(error)")
        }.nonisolated()
    }

    func close() {
        context?.close(promise: nil)
    }

    private func withDeadline<T>(_ promise: EventLoopPromise<T>, on loop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<T> {
        let timer = loop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            // Fail the waiter first: closing fails pending writes with a less useful error.
            promise.fail(ChannelFailure.timedOut)
            fail(.timedOut, close: true)
        }
        promise.futureResult.assumeIsolated().whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }
}
