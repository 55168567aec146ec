// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// RFC 3464 §2.3.3 `Action` values. Bounces use `failed`; delay warnings use `delayed`.
public enum DeliveryStatusAction: String, Sendable, Hashable {
    case failed, delayed, delivered, relayed, expanded
}

/// One recipient named in a delivery status notification.
public struct FailedRecipient: Sendable, Hashable {
    public var recipient: EnvelopeRecipient
    public var status: EnhancedStatusCode
    /// RFC 3464 §2.3.6 `Diagnostic-Code`, e.g. `smtp; 550 5.1.1 no such user`.
    public var diagnostic: String?
    /// RFC 3464 §2.3.5 `Remote-MTA`, e.g. `dns; mx.example.org`.
    public var remoteMTA: String?
    public var lastAttempt: Date?
    /// `failed` for a bounce; `delayed` for a warning that delivery is still being tried.
    public var action: DeliveryStatusAction
    /// RFC 3464 §2.3.9, for `delayed` reports: when we will give up.
    public var willRetryUntil: Date?

    public init(recipient: EnvelopeRecipient, status: EnhancedStatusCode, diagnostic: String? = nil,
                remoteMTA: String? = nil, lastAttempt: Date? = nil,
                action: DeliveryStatusAction = .failed, willRetryUntil: Date? = nil) {
        self.recipient = recipient
        self.status = status
        self.diagnostic = diagnostic
        self.remoteMTA = remoteMTA
        self.lastAttempt = lastAttempt
        self.action = action
        self.willRetryUntil = willRetryUntil
    }
}
