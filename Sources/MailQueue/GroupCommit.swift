// SPDX-License-Identifier: Apache-2.0

/// Group commit: callers that arrive while a batch's fsyncs are in flight wait together for the
/// next batch, so N concurrent callers cost about N/batch directory fsyncs instead of N (the
/// technique of database WALs; Postfix has no equivalent because each file is its own commit).
///
/// Owned by the `Queue` actor, which is what makes `add` and `takeBatch` race-free: a caller that
/// sees no batch in flight starts the drain loop, and the loop clears `inFlight` in the same
/// actor turn in which it finds nothing left, so no caller is ever stranded.
struct GroupCommit<Item: Sendable, Outcome: Sendable> {
    typealias Waiter = (item: Item, continuation: CheckedContinuation<Outcome, Never>)

    private var waiting: [Waiter] = []
    private var inFlight = false
    /// Batches committed so far (a debug counter; tests check it is below the number of calls).
    private(set) var batchCount = 0

    /// Adds a waiter; returns true when the caller must start the drain loop.
    mutating func add(_ item: Item, _ continuation: CheckedContinuation<Outcome, Never>) -> Bool {
        waiting.append((item, continuation))
        guard !inFlight else { return false }
        inFlight = true
        return true
    }

    /// The next batch of at most `limit` waiters, or nil (and not in flight any more) when none wait.
    mutating func takeBatch(limit: Int) -> [Waiter]? {
        guard !waiting.isEmpty else {
            inFlight = false
            return nil
        }
        let count = min(limit, waiting.count)
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        batchCount += 1
        return batch
    }
}
