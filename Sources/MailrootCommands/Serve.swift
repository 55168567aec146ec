// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import Logging
import MailrootDaemon

/// `mailroot serve`: runs the relay until SIGTERM or Ctrl-C.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the relay: watch pickup/, listen for SMTP, deliver the queue.",
        discussion: """
        Without --config, mailroot uses ./mailroot as its root (created if missing), treats \
        'localhost' as its only local domain, reads DNS servers from /etc/resolv.conf and \
        accepts SMTP on 127.0.0.1:2525 (relaying for loopback clients only). \
        Drop a message addressed to you@localhost into mailroot/pickup/ and it appears in \
        mailroot/drop/. SIGTERM or Ctrl-C stops it cleanly (deliveries in progress get \
        shutdown_grace); queued mail stays queued. SIGHUP reads the --config file again and \
        applies what can change without a restart (docs/operations.md). Started as root with \
        user = "...", it binds its ports and then runs as that user.
        """)

    @Option(name: .shortAndLong, help: "The TOML config file (see docs/configuration.md).")
    var config: String?

    @Option(help: "Override the config's log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Override the config's log format: text or json.")
    var logFormat: String?

    func run() async throws {
        // glibc gives busy threads their own malloc arenas (up to 8 per core); with NIO's threads
        // and the blocking pool that fragments a large queue's small allocations over many arenas.
        // Two keep the daemon's RSS close to what it really holds (BENCHMARKS.md, memory).
        limitMallocArenas(2)
        let configuration: MailrootConfiguration
        do {
            if let config {
                configuration = try MailrootConfiguration.load(path: config)
            } else {
                configuration = MailrootConfiguration.defaults(workingDirectory: FileManager.default.currentDirectoryPath)
            }
        } catch {
            throw ValidationError("\(error)")
        }
        var level = configuration.log.level
        if let logLevel {
            guard let parsed = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level: unknown level \(logLevel)") }
            level = parsed
        }
        var format: MailrootLogHandler.Format = configuration.log.format == .json ? .json : .text
        if let logFormat {
            switch logFormat {
            case "text": format = .text
            case "json": format = .json
            default: throw ValidationError("--log-format: use text or json")
            }
        }
        let chosenLevel = level, chosenFormat = format
        LoggingSystem.bootstrap { _ in MailrootLogHandler(level: chosenLevel, format: chosenFormat) }
        let logger = Logger(label: "mailroot")
        do {
            let daemon = try await buildDaemon(configuration: configuration, configurationPath: config,
                                                logLevelPinned: logLevel != nil, logger: logger)
            try await daemon.run()
            logger.info("mailroot: stopped")
        } catch {
            logger.critical("mailroot: \(error)")
            throw ExitCode(75)
        }
    }
}
