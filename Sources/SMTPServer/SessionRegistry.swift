// SPDX-License-Identifier: Apache-2.0
import NIOCore
import SMTPProtocol
import Synchronization

/// The open session channels, so a graceful shutdown can tell each client `421 4.3.2` and
/// close it instead of waiting up to the idle timeout for every session to end by itself.
final class SessionRegistry: Sendable {
    private let state = Mutex<(next: Int, channels: [Int: any Channel])>((0, [:]))

    func add(_ channel: any Channel) -> Int {
        state.withLock { state in
            state.next += 1
            state.channels[state.next] = channel
            return state.next
        }
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.channels.removeValue(forKey: id) }
    }

    /// A client mid-DATA loses that message (it never got `250`) and will retry it; a message
    /// being stored finishes storing, and at worst the client sends it again (at-least-once).
    func closeAll(with reply: SMTPReply) {
        let channels = state.withLock { Array($0.channels.values) }
        for channel in channels {
            channel.writeAndFlush(ByteBuffer(bytes: reply.encoded())).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Completes `SMTPServer.listeningAddresses()` once `run()` has bound (or failed to).
final class ListeningSignal: Sendable {
    private let state = Mutex<(result: Result<[SocketAddress], any Error>?, waiters: [CheckedContinuation<[SocketAddress], any Error>])>((nil, []))

    func wait() async throws -> [SocketAddress] {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<[SocketAddress], any Error>? = state.withLock { state in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }

    func succeed(_ addresses: [SocketAddress]) { complete(.success(addresses)) }
    func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ result: Result<[SocketAddress], any Error>) {
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
