// SPDX-License-Identifier: Apache-2.0
import Logging
import NIOCore
import Synchronization

/// Connections being served, shared by the accept loop and the connection tasks.
final class ConnectionSlots: Sendable {
    private let used = Mutex(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func take() -> Bool {
        used.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func release() { used.withLock { $0 -= 1 } }
}

/// The accept loop of the daemon's small side doors (metrics, control socket): each connection
/// gets its own task, at most `limit` at once; one over the limit is closed at once rather than
/// queued, so a flood cannot pile up tasks. Returns when the listening channel closes.
func serveConnections<Inbound: Sendable, Outbound: Sendable>(
    of server: NIOAsyncChannel<NIOAsyncChannel<Inbound, Outbound>, Never>, atMost limit: Int, logger: Logger,
    _ serve: @escaping @Sendable (NIOAsyncChannel<Inbound, Outbound>) async -> Void
) async {
    let slots = ConnectionSlots(limit: limit)
    try? await server.executeThenClose { connections in
        await withDiscardingTaskGroup { tasks in
            do {
                for try await connection in connections {
                    guard slots.take() else {
                        connection.channel.close(promise: nil)
                        continue
                    }
                    tasks.addTask {
                        await serve(connection)
                        slots.release()
                    }
                }
            } catch {
                logger.debug("listener stopped: \(error)")
            }
        }
    }
}
