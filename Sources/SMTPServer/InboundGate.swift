// SPDX-License-Identifier: Apache-2.0
import NIOCore
import SMTPProtocol

/// Bytes read from the client, tagged with the TLS epoch they were read in.
struct InboundChunk: Sendable {
    /// 0 before STARTTLS, 1 after: chunks of an older epoch were read as plaintext and are
    /// dropped once TLS is up.
    var epoch: Int
    var bytes: ByteBuffer
}

/// The last handler before the async channel. It tags every read with the current TLS epoch
/// and closes idle and slow sessions.
///
/// Why a line deadline besides the idle timeout: the idle timer restarts on every byte, so a
/// client dribbling one byte a minute would hold its slot for ever (slowloris). A line (command
/// or DATA line) must therefore be complete within the same timeout from its first byte, as with
/// Postfix's `smtpd_per_record_deadline`.
///
/// Why epochs: reads already queued in the async channel's buffer when STARTTLS is answered are
/// plaintext a man in the middle may have injected behind the STARTTLS command (CVE-2011-0411).
/// The TLS handler is inserted and the epoch bumped in the same event-loop task, so every chunk
/// tagged with the new epoch has passed through TLS, and the session can drop the rest.
final class InboundGate: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = InboundChunk
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var epoch = 0
    private let lineTimeout: TimeAmount
    private var lineDeadline: Scheduled<Void>?

    init(lineTimeout: TimeAmount) {
        self.lineTimeout = lineTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        // The deadline runs from the first byte after the last line end: any completed line
        // restarts it, so a large DATA streaming quickly never trips it.
        let view = bytes.readableBytesView
        if view.contains(UInt8(ascii: "\n")) {
            lineDeadline?.cancel()
            lineDeadline = nil
        }
        if lineDeadline == nil, let last = view.last, last != UInt8(ascii: "\n") {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            lineDeadline = context.eventLoop.scheduleTask(in: lineTimeout) {
                let (gate, context) = bound.value
                gate.closeForTimeout(context: context)
            }
        }
        context.fireChannelRead(wrapInboundOut(InboundChunk(epoch: epoch, bytes: bytes)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // RFC 5321 §4.5.3.2.7 suggests 5 minutes; a client that says nothing that long is gone or hostile.
            closeForTimeout(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        lineDeadline?.cancel()
        lineDeadline = nil
    }

    private func closeForTimeout(context: ChannelHandlerContext) {
        lineDeadline?.cancel()
        lineDeadline = nil
        var buffer = context.channel.allocator.buffer(capacity: 64)
        ServerReplies.idleTimeout.encode(into: &buffer)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Called on the event loop right after the TLS handler was added in front.
    func startNewEpoch() {
        epoch += 1
    }
}
