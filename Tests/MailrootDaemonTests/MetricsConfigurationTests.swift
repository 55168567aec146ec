// SPDX-License-Identifier: Apache-2.0
import Delivery
import Foundation
import NIOHTTP1
import Testing
@testable import MailrootDaemon

@Suite struct MetricsConfigurationTests {
    @Test func metricsEndpointIsOffUnlessAnAddressIsGiven() throws {
        #expect(try parseConfiguration("").metricsListen == nil)
        #expect(try parseConfiguration("metrics_listen = \"\"\n").metricsListen == nil)
        let on = try parseConfiguration("metrics_listen = \"127.0.0.1:9325\"\n")
        #expect(on.metricsListen?.description == "127.0.0.1:9325")
        #expect(try parseConfiguration("metrics_listen = \"[::1]:9325\"\n").metricsListen?.description == "[::1]:9325")
    }

    @Test func metricsAddressWithoutAPortOrWithAHostNameIsRefused() throws {
        let noPort = try #require(configurationError("metrics_listen = \"127.0.0.1\"\n"))
        #expect(noPort.description.contains("metrics_listen"))
        #expect(configurationError("metrics_listen = \"localhost:9325\"\n") != nil)
        #expect(configurationError("metrics_listen = 9325\n") != nil)
    }

    @Test func metricsAddressThatIsAlsoAnSMTPListenAddressIsRefused() throws {
        let error = try #require(configurationError("metrics_listen = \"127.0.0.1:2525\"\n"))
        #expect(error.description.contains("already an [smtp] listen address"))
        #expect(try parseConfiguration("metrics_listen = \"127.0.0.1:2525\"\n[smtp]\nlisten = []\n").metricsListen != nil)
    }
}

@Suite struct HealthCheckTests {
    private func check(queue: String = NSTemporaryDirectory(), beatAgo: TimeInterval?) -> HealthCheck.Verdict {
        let heartbeat = DeliveryHeartbeat()
        let now = Date()
        if let beatAgo { heartbeat.beat(at: now.addingTimeInterval(-beatAgo)) }
        return HealthCheck(queueDirectory: queue, heartbeat: heartbeat).check(now: now)
    }

    @Test func writableQueueAndFreshHeartbeatIsHealthy() {
        #expect(check(beatAgo: 0.25) == .init(healthy: true, text: "ok\n"))
    }

    @Test func staleOrMissingHeartbeatIsUnhealthy() {
        let stale = check(beatAgo: 11)
        #expect(!stale.healthy)
        #expect(stale.text.contains("last ticked 11 s ago"))
        #expect(!check(beatAgo: nil).healthy)
    }

    @Test func queueDirectoryThatCannotBeWrittenIsUnhealthy() {
        let verdict = check(queue: "/nonexistent/mailroot/queue", beatAgo: 0)
        #expect(!verdict.healthy)
        #expect(verdict.text.contains("not writable"))
    }

    @Test func onlyGetAndHeadOnKnownPathsAreAnswered() {
        let heartbeat = DeliveryHeartbeat()
        heartbeat.beat()
        let server = MetricsHTTPServer(address: .init(host: "127.0.0.1", port: 0), registry: .init(),
                                       health: HealthCheck(queueDirectory: NSTemporaryDirectory(), heartbeat: heartbeat),
                                       logger: .init(label: "test"))
        func status(_ method: HTTPMethod, _ uri: String) -> HTTPResponseStatus {
            server.respond(to: HTTPRequestHead(version: .http1_1, method: method, uri: uri)).0
        }
        #expect(status(.GET, "/metrics") == .ok)
        #expect(status(.GET, "/metrics?x=1") == .ok)
        #expect(status(.HEAD, "/healthz") == .ok)
        #expect(status(.GET, "/") == .notFound)
        #expect(status(.GET, "/metrics/../etc/passwd") == .notFound)
        #expect(status(.POST, "/metrics") == .methodNotAllowed)
    }
}
