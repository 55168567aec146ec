// SPDX-License-Identifier: Apache-2.0
import SMTPServer

extension MailrootConfiguration {
    /// `metrics_listen`: "" (the default) leaves the HTTP endpoint off, because a metrics port is
    /// one more open socket and the administrator should choose where it listens. An address
    /// such as "127.0.0.1:9325" serves `/metrics` and `/healthz` there (MetricsHTTPServer.swift).
    func readMetricsListen(_ value: ConfigurationValue) throws(ConfigurationError) -> SMTPServerConfiguration.ListenAddress? {
        let text = try value.string()
        guard !text.isEmpty else { return nil }
        let hint = "is not a listen address (use an IP address and a port, e.g. \"127.0.0.1:9325\", or \"\" for off)"
        let (host, port) = try value.checked { () throws(ConfigurationProblem) in
            try ConfigurationHostPort.parse(text, defaultPort: nil, hint: hint)
        }
        return .init(host: host, port: port)
    }

    /// The second bind would fail with "address in use" and read like another program's fault.
    func checkMetricsListen(_ value: ConfigurationValue?) throws(ConfigurationError) {
        guard let value, let address = metricsListen else { return }
        if (smtp.listen + smtp.submission + smtp.submissions).contains(address) {
            throw value.failure("\(address) is already an [smtp] listen address; the metrics endpoint needs its own port")
        }
    }
}
