// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   SIGHUP: read the config file again and apply what can change while running, without
//   dropping a connection; log what changed, what needs a restart, or why the file was refused.
//
// DESCRIPTION
//   The file is loaded and validated exactly as at start-up. If it is refused (syntax, unknown
//   key, bad value, a TLS certificate or key that does not load) nothing changes and the old
//   configuration stays in effect. Otherwise the listener takes the new settings for every
//   session that starts from now on (SMTPServer.reload; open sessions finish with theirs) and
//   delivery takes its new schedule and limits (DeliveryScheduler.reconfigure). TLS files are
//   read again on every SIGHUP, even when their paths did not change: that is how a renewed
//   certificate is put in service. Keys that need a restart are named in the log and keep their
//   running value.
//
// SEE ALSO
//   ConfigurationReload.swift (which keys are which), docs/configuration.md "Reloading".
import Delivery
import DNSResolver
import Logging
import ServiceLifecycle
import SMTPServer
import Synchronization
import UnixSignals

final class ConfigurationReloader: Service, Sendable {
    let path: String?
    let started: MailrootConfiguration
    let folders: MailrootFolders
    let server: SMTPServer?
    let delivery: DeliveryScheduler
    let resolver: MXResolver
    let logger: Logger
    /// `serve --log-level` was given: it wins over the file's `log.level`, at start and at reload.
    let logLevelPinned: Bool
    private let inEffect: Mutex<MailrootConfiguration>

    init(path: String?, started: MailrootConfiguration, folders: MailrootFolders, server: SMTPServer?,
         delivery: DeliveryScheduler, resolver: MXResolver, logger: Logger, logLevelPinned: Bool = false) {
        self.logLevelPinned = logLevelPinned
        self.path = path
        self.started = started
        self.folders = folders
        self.server = server
        self.delivery = delivery
        self.resolver = resolver
        self.logger = logger
        inEffect = Mutex(started)
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    /// One reload; returns what was applied (nil when the file was refused).
    @discardableResult
    func reload() async -> ConfigurationChanges? {
        guard let path else {
            logger.notice("reload: started without --config, nothing to read again")
            return ConfigurationChanges()
        }
        logger.info("reload: reading \(path)")
        var new: MailrootConfiguration
        do {
            new = try MailrootConfiguration.load(path: path)
        } catch {
            logger.error("reload: refused, the running configuration stays in effect: \(error)")
            return nil
        }
        let current = inEffect.withLock { $0 }
        if logLevelPinned { new.log.level = current.log.level }
        let changes = ConfigurationChanges(inEffect: current, started: started, new: new)
        let effective = ConfigurationChanges.inEffect(started: started, new: new)
        if let server, let listener = smtpServerConfiguration(effective, resolver: resolver) {
            do {
                try server.reload(listener)
            } catch {
                logger.error("reload: refused, the running configuration stays in effect: smtp.tls_certificate, smtp.tls_key: \(error)")
                return nil
            }
        }
        var outbound = deliveryConfiguration(effective, folders: folders)
        outbound.shutdownGrace = effective.shutdownGrace
        await delivery.reconfigure(outbound)
        if !logLevelPinned { MailrootLogHandler.setLevel(effective.log.level) }
        inEffect.withLock { $0 = effective }

        let tlsNote = server != nil && effective.smtp.tlsCertificate != nil ? " (TLS certificate and key read again)" : ""
        let applied = changes.applied.isEmpty ? "no setting changed\(tlsNote)" : "applied \(changes.applied.joined(separator: ", "))\(tlsNote)"
        logger.notice("reload: \(applied)")
        if !changes.needRestart.isEmpty {
            logger.warning("reload: \(changes.needRestart.joined(separator: ", ")) changed but need a restart; the running values stay until then")
        }
        return changes
    }
}
