// SPDX-License-Identifier: Apache-2.0
@testable import MailrootDaemon
import Testing

@Suite struct ConfigurationReloadTests {
    let started = """
        hostname = "relay.example"
        [smtp]
        listen = ["127.0.0.1:2525"]
        relay_networks = ["127.0.0.1/32"]
        max_connections = 100
        [delivery]
        retry = ["1m"]
        port = 25
        """

    @Test func listenerAndDeliveryLimitsAreAppliedAndSocketsAndPortsWaitForARestart() throws {
        let old = try parseConfiguration(started)
        let new = try parseConfiguration("""
            hostname = "relay.example"
            [smtp]
            listen = ["127.0.0.1:2526"]
            relay_networks = ["10.0.0.0/8"]
            max_connections = 5
            [delivery]
            retry = ["2m"]
            port = 2525
            """)
        let changes = ConfigurationChanges(inEffect: old, started: old, new: new)
        #expect(changes.applied == ["smtp.relay_networks", "smtp.max_connections", "delivery.retry"])
        #expect(changes.needRestart == ["smtp.listen", "delivery.port"])

        let effective = ConfigurationChanges.inEffect(started: old, new: new)
        #expect(effective.smtp.listen == old.smtp.listen && effective.delivery.port == 25)
        #expect(effective.smtp.relayNetworks == new.smtp.relayNetworks && effective.delivery.retry == new.delivery.retry)
    }

    @Test func aSecondReloadReportsOnlyWhatChangedSinceTheFirst() throws {
        let old = try parseConfiguration(started)
        let first = try parseConfiguration(started.replacingOccurrences(of: "max_connections = 100", with: "max_connections = 5"))
        let effective = ConfigurationChanges.inEffect(started: old, new: first)
        let again = ConfigurationChanges(inEffect: effective, started: old, new: first)
        #expect(again == ConfigurationChanges())
    }

    @Test func everyReloadableKeyIsCarriedIntoTheEffectiveConfiguration() throws {
        // Were a key listed as reloadable but not copied by inEffect, the next reload would
        // report it changed again and the daemon would run on the old value.
        let old = try parseConfiguration(started)
        let new = try parseConfiguration("""
            hostname = "relay.example"
            local_domains = ["example.org"]
            max_message_size = 1000
            max_received_headers = 5
            shutdown_grace = "3s"
            [smtp]
            listen = ["127.0.0.1:2525"]
            relay_networks = ["10.0.0.0/8"]
            max_recipients = 7
            max_connections = 5
            max_connections_per_ip = 2
            idle_timeout = "7s"
            received_authenticated_user = true
            [delivery]
            retry = ["2m"]
            expire = "3h"
            max_connections = 9
            max_connections_per_domain = 3
            connection_cache_time = "5s"
            port = 25
            [log]
            level = "debug"
            """)
        let effective = ConfigurationChanges.inEffect(started: old, new: new)
        let leftOver = ConfigurationChanges.reloadable.filter { !$0.same(effective, new) }.map(\.name)
        #expect(leftOver.isEmpty, "\(leftOver)")
        // Every reloadable key changed but the TLS files and users (covered by the scenario tests)
        // and dkim, whose keys are files too (DKIMConfigurationTests, DKIMScenarioTests).
        #expect(ConfigurationChanges(inEffect: old, started: old, new: new).applied.count == ConfigurationChanges.reloadable.count - 4)
    }
}
