// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Why the pickup service itself could not run (not why a file was refused: that is a badmail reason).
public enum PickupError: Error, CustomStringConvertible {
    case watchFailed(directory: String, errno: Int32)

    public var description: String {
        switch self {
        case .watchFailed(let directory, let code):
            return "cannot watch \(directory): \(String(cString: strerror(code)))"
        }
    }
}
