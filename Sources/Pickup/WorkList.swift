// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The pickup names waiting to be processed, without duplicates: the same file may be reported
/// by inotify and by a scan, and must be processed once at a time.
final class WorkList: @unchecked Sendable {
    private let lock = NSLock()
    private var queuedOrRunning: Set<String> = []
    private var finished = false
    private var slotWaiters: [CheckedContinuation<Void, Never>] = []
    private var freedSlots = 0
    private let continuation: AsyncStream<String>.Continuation
    let names: AsyncStream<String>

    init() {
        (names, continuation) = AsyncStream.makeStream(of: String.self)
    }

    var isFinished: Bool { lock.withLock { finished } }

    func add(_ name: String, immediate: Bool) {
        guard PickupProcessor.isCandidate(name) else { return }
        let isNew = lock.withLock { () -> Bool in
            guard !finished else { return false }
            return queuedOrRunning.insert(name).inserted
        }
        if isNew { continuation.yield(name) }
    }

    func done(_ name: String) {
        let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            queuedOrRunning.remove(name)
            if slotWaiters.isEmpty {
                freedSlots += 1
                return nil
            }
            return slotWaiters.removeFirst()
        }
        waiter?.resume()
    }

    func waitForSlot() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = lock.withLock { () -> Bool in
                if freedSlots > 0 {
                    freedSlots -= 1
                    return true
                }
                slotWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func finish() {
        lock.withLock { finished = true }
        continuation.finish()
    }
}
