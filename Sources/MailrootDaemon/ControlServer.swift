// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The control socket, `queue/control.sock`: how `mailroot queue flush|hold|release|delete|
//   bounce` reach the running daemon, so they act at once and never race its deliveries.
//
// DESCRIPTION
//   A Unix stream socket inside `queue/` (mode 0700, so only the daemon's user and root can
//   connect; the socket itself is 0600 too). One request line per connection, one reply line
//   (ControlProtocol.swift), then the connection closes. Requests are carried out by
//   QueueAdministrator on the daemon's own queue and scheduler, one path for every change to
//   the queue, like Postfix's qmgr being the only writer of its active queue.
//
// SAFETY
//   The request line must arrive within `requestTimeout` and fit in 256 bytes; a client that
//   sends more, or garbage, gets an error line and is closed. At most `maxConnections` are
//   served at once. On shutdown the socket closes and commands still waiting for a delivery in
//   progress are answered "shutting down" without changing anything.
//
// SEE ALSO
//   ControlClient.swift (the command's side), Sources/Delivery/DeliveryAdministration.swift.
import Delivery
import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SMTPServer
import Synchronization

final class ControlServer: Service, Sendable {
    let path: String
    let administrator: QueueAdministrator
    let logger: Logger
    let requestTimeout: TimeAmount
    let maxConnections: Int
    private let listener = Mutex<NIOAsyncChannel<Connection, Never>?>(nil)

    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    init(path: String, logger: Logger, administrator: QueueAdministrator,
         requestTimeout: TimeAmount = .seconds(10), maxConnections: Int = 16) {
        self.path = path
        self.administrator = administrator
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
    }

    /// Opens the socket; the daemon does this before it logs that it is serving, so a command
    /// run right after that line always finds it. A second call does nothing.
    func bind() async throws {
        guard listener.withLock({ $0 == nil }) else { return }
        let server: NIOAsyncChannel<Connection, Never>
        do {
            // The queue's lock is held, so a socket file left here is from a daemon that died.
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { child in
                    child.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: child) }
                }
        } catch {
            throw DaemonError(description: "cannot open the control socket \(path): \(error)")
        }
        chmod(path, 0o600)
        listener.withLock { $0 = server }
    }

    func run() async throws {
        try await bind()
        guard let server = listener.withLock({ $0 }) else { return }
        logger.info("control: queue commands accepted on \(path)")
        await withGracefulShutdownHandler {
            await serveConnections(of: server, atMost: maxConnections, logger: logger) { await self.serve($0) }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
            Task { await self.administrator.scheduler.releaseSettleWaiters() }
        }
        unlink(path)
    }

    private func serve(_ connection: Connection) async {
        let channel = connection.channel
        let deadline = channel.eventLoop.scheduleTask(in: requestTimeout) { channel.close(promise: nil) }
        try? await connection.executeThenClose { inbound, outbound in
            let read = try await ControlLine.read(from: inbound, limit: ControlRequest.maximumLineLength)
            deadline.cancel()
            guard case .line(let text) = read else {
                if read == .tooLong {
                    try await outbound.write(ByteBuffer(string: ControlReply(status: 64, text: "request line too long").line))
                }
                return
            }
            let reply: ControlReply
            if let request = ControlRequest(line: text) {
                reply = await administrator.perform(request)
                logger.notice("control: \(request): \(reply)")
            } else {
                reply = ControlReply(status: 64, text: "unknown request; expected flush [ID], hold ID, release ID, delete ID or bounce ID")
            }
            try await outbound.write(ByteBuffer(string: reply.line))
        }
    }
}
