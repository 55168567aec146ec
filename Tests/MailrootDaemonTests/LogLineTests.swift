// SPDX-License-Identifier: Apache-2.0
import Glibc
@testable import MailrootDaemon
import Testing

@Suite("Log lines")
struct LogLineTests {
    @Test(arguments: [
        (0, 0, "1970-01-01T00:00:00.000Z"),
        (1_709_251_199, 7_999_999, "2024-02-29T23:59:59.007Z"),
        (4_102_444_800, 999_999_999, "2100-01-01T00:00:00.999Z"),
    ])
    func timestampsAreUTCWithMilliseconds(seconds: Int, nanoseconds: Int, expected: String) {
        #expect(MailrootLogHandler.timestamp(timespec(tv_sec: seconds, tv_nsec: nanoseconds)) == expected)
    }
}
