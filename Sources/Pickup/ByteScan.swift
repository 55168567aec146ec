// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Whole-file byte scans on the concrete `[UInt8]` the pickup reads. `MessageBytes.firstNUL(in:)`
/// and `hasEightBitBytes(_:)` take `some Sequence<UInt8>` and are not inlinable, so called from
/// this module they run unspecialised, one witness-table call per byte: `perf` showed them at
/// 30% of the daemon's CPU per picked-up message (BENCHMARKS.md, "Profile findings").
enum ByteScan {
    /// Offset of the first NUL byte (RFC 5322 §2.3 forbids NUL anywhere in a message).
    static func firstNUL(in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress, let hit = memchr(base, 0, buffer.count) else { return nil }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        }
    }

    /// True when any byte is ≥ 0x80: the message needs `BODY=8BITMIME` (RFC 6152).
    static func hasEightBitBytes(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var combined: UInt8 = 0
            for byte in buffer { combined |= byte }
            return combined & 0x80 != 0
        }
    }
}
