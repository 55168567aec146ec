// SPDX-License-Identifier: Apache-2.0
import NIOCore
import Synchronization

/// The client's reverse name for one connection: the lookup starts when the client connects and
/// runs beside the dialogue, so it never delays the greeting; a message waits for it at most
/// until `timeout` after the connection began. A resolver that never answers therefore costs a
/// message at most `timeout` once, never a hang (the late answer is ignored).
final class ClientNameLookup: Sendable {
    private let result: Task<String?, Never>?

    init(address: SocketAddress?, lookup: (@Sendable (SocketAddress) async -> String?)?, timeout: Duration) {
        guard let address, let lookup else {
            result = nil
            return
        }
        result = Task { await Self.bounded(timeout) { await lookup(address) } }
    }

    /// The name, or nil if there is none, the lookup failed, or it was not done in time.
    var name: String? {
        get async { await result?.value }
    }

    func cancel() { result?.cancel() }

    /// `operation`'s value, or nil once `timeout` has passed. A task group would wait for a
    /// lookup that ignores cancellation; here whichever finishes first resumes the caller, and
    /// the other is cancelled and its value dropped.
    static func bounded(_ timeout: Duration,
                        _ operation: @escaping @Sendable () async -> String?) async -> String? {
        let race = Race()
        return await withCheckedContinuation { continuation in
            race.begin(continuation)
            let work = Task { race.finish(await operation()) }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                race.finish(nil)
            }
            race.hold([work, timer])
        }
    }

    /// Resumes the continuation exactly once, then cancels both contenders.
    private final class Race: Sendable {
        private struct State {
            var continuation: CheckedContinuation<String?, Never>?
            var tasks: [Task<Void, Never>] = []
            var finished = false
        }
        private let state = Mutex(State())

        func begin(_ continuation: CheckedContinuation<String?, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        func hold(_ tasks: [Task<Void, Never>]) {
            let finished = state.withLock { state in
                state.tasks = tasks
                return state.finished
            }
            if finished { tasks.forEach { $0.cancel() } }
        }

        func finish(_ value: String?) {
            let (continuation, tasks) = state.withLock { state in
                guard !state.finished else { return (nil as CheckedContinuation<String?, Never>?, [Task<Void, Never>]()) }
                state.finished = true
                defer { state.continuation = nil }
                return (state.continuation, state.tasks)
            }
            continuation?.resume(returning: value)
            tasks.forEach { $0.cancel() }
        }
    }
}
