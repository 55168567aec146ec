// SPDX-License-Identifier: Apache-2.0

/// Why `mailroot sendmail` refused or failed, with the sysexits.h code it exits with. Programs that
/// call sendmail (cron, PHP's `mail()`, monitoring scripts) act on the code: 75 means "try again
/// later", everything else means "this will not work as given".
struct SendmailError: Error, Equatable, CustomStringConvertible {
    /// sysexits.h values (BSD, also used by Postfix's and Sendmail's `sendmail`).
    enum ExitStatus: Int32, Sendable {
        /// EX_USAGE: bad command line, including an invalid `-f` / `-F` / recipient argument.
        case usage = 64
        /// EX_DATAERR: the message itself cannot be sent (NUL byte, no recipients, too large).
        case dataError = 65
        /// EX_OSERR: the system does not know who we are (no passwd entry).
        case osError = 71
        /// EX_CANTCREAT: the pickup directory is missing or not writable.
        case cantCreate = 73
        /// EX_TEMPFAIL: disk full, I/O error; the caller should retry.
        case temporary = 75
        /// EX_CONFIG: the configuration file does not load.
        case configuration = 78
    }

    var status: ExitStatus
    var message: String

    var description: String { message }

    static func usage(_ message: String) -> SendmailError { .init(status: .usage, message: message) }
    static func dataError(_ message: String) -> SendmailError { .init(status: .dataError, message: message) }
}
