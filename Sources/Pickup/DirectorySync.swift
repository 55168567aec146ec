// SPDX-License-Identifier: Apache-2.0
import NIOPosix
import SafeIO

/// Makes unlinks in one directory durable, sharing one `fsync` of the directory among all the
/// callers that arrive while another sync is in flight (group commit for removals).
///
/// Removing a picked-up file must survive a power cut: otherwise the file comes back and the
/// message is queued and delivered a second time.
actor DirectorySync {
    private let directory: String
    private let threadPool: NIOThreadPool
    private var syncInFlight = false
    private var waitingForNext: [CheckedContinuation<Void, any Error>] = []

    init(directory: String, threadPool: NIOThreadPool) {
        self.directory = directory
        self.threadPool = threadPool
    }

    /// Returns once a directory fsync that started after this call has completed.
    func sync() async throws {
        try await withCheckedThrowingContinuation { continuation in
            waitingForNext.append(continuation)
            if !syncInFlight { startSync() }
        }
    }

    private func startSync() {
        syncInFlight = true
        let batch = waitingForNext
        waitingForNext = []
        let directory = self.directory
        let threadPool = self.threadPool
        Task {
            let result: Result<Void, any Error>
            do {
                try await threadPool.runIfActive { try fsyncDirectory(directory) }
                result = .success(())
            } catch {
                result = .failure(error)
            }
            self.finish(batch, result)
        }
    }

    private func finish(_ batch: [CheckedContinuation<Void, any Error>], _ result: Result<Void, any Error>) {
        for continuation in batch { continuation.resume(with: result) }
        syncInFlight = false
        if !waitingForNext.isEmpty { startSync() }
    }
}
