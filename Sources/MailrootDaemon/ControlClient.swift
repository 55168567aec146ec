// SPDX-License-Identifier: Apache-2.0
import Delivery
import DNSResolver
import Foundation
import Glibc
import Logging
import MailQueue
import NIOCore
import NIOPosix
import SafeIO

extension MailrootFolders {
    /// Inside `queue/` (0700): only the daemon's user and root reach it.
    public var controlSocket: String { "\(queue)/control.sock" }
}

/// How a queue command changes the queue: through the running daemon's control socket, or, when
/// no daemon runs, on the files directly while holding the queue's lock — never both, so no
/// change can race a delivery.
public enum QueueControl {
    /// Carries out `request`. With a daemon: its reply. Without: the same operation done here.
    /// When the daemon holds the queue but does not answer (starting, stopping, hung), nothing
    /// is changed and the reply says so (exit 75, try again).
    public static func perform(_ request: ControlRequest, configuration: MailrootConfiguration,
                               logger: Logger) async -> ControlReply {
        let folders = MailrootFolders(root: configuration.rootPath)
        do {
            if let reply = try await ControlClient.send(request, to: folders.controlSocket) { return reply }
        } catch {
            return ControlReply(status: 75, text: "control socket \(folders.controlSocket): \(error)")
        }
        // Never create a queue where serve never ran (a mistyped --config, the wrong directory).
        guard (try? fileKind(atPath: "\(folders.queue)/msg")) == .directory else {
            return ControlReply(status: 1, text: "no queue in \(folders.queue): serve has never run with this configuration (wrong --config?)")
        }
        let queue = Queue(configuration: QueueConfiguration(directory: folders.queue), logger: logger)
        do {
            _ = try await queue.recover()
        } catch .locked {
            return ControlReply(status: 75, text: "the daemon holds the queue but does not answer on \(folders.controlSocket) "
                + "(starting or stopping?); nothing was changed, try again")
        } catch {
            return ControlReply(status: 75, text: "\(error)")
        }
        let scheduler = DeliveryScheduler(configuration: deliveryConfiguration(configuration, folders: folders), queue: queue,
                                          badmail: Badmail(directory: folders.badmail),
                                          resolver: MXResolver(configuration: DNSConfiguration(servers: [])), logger: logger)
        let reply = await QueueAdministrator(queue: queue, scheduler: scheduler, daemonRunning: false).perform(request)
        await queue.close()
        return reply
    }
}

/// The command's side of the control socket.
public enum ControlClient {
    /// Sends `request` and waits for the reply (as long as the daemon needs: it may be waiting
    /// for a delivery in progress to end). Nil when no daemon listens there (no socket, or
    /// connection refused by a socket a stopped daemon left).
    public static func send(_ request: ControlRequest, to path: String) async throws -> ControlReply? {
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch let error as IOError where [ENOENT, ECONNREFUSED].contains(error.errnoCode) {
            return nil
        }
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request.description + "\n"))
            let text: String
            switch try await ControlLine.read(from: inbound, limit: 64 * 1024) {
            case .line(let line), .ended(let line): text = line
            case .tooLong: text = "(an overlong line)"
            }
            guard let reply = ControlReply(line: text) else {
                return ControlReply(status: 75, text: text.isEmpty ? "the daemon closed the control connection without a reply; check with 'mailroot queue show'"
                                    : "unexpected reply from the daemon: \(text)")
            }
            return reply
        }
    }
}
