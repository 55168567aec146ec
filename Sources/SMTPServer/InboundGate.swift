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
/// and closes idle sessions.
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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        context.fireChannelRead(wrapInboundOut(InboundChunk(epoch: epoch, bytes: bytes)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // RFC 5321 §4.5.3.2.7 suggests 5 minutes; a client that says nothing that long is gone or hostile.
            var buffer = context.channel.allocator.buffer(capacity: 64)
            ServerReplies.idleTimeout.encode(into: &buffer)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Called on the event loop right after the TLS handler was added in front.
    func startNewEpoch() {
        epoch += 1
    }
}
