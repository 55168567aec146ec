// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Who is sending: the login name of the real user ID (the default envelope sender, as in
/// Postfix, which never takes the sender from the environment) and a display name for an added
/// From: field (`-F`, else `$NAME`, else the passwd GECOS field — the order Postfix uses).
struct SendmailIdentity: Equatable {
    var loginName: String
    var fullName: String?

    static func current(environment: [String: String]) throws(SendmailError) -> SendmailIdentity {
        let uid = getuid()
        guard let entry = getpwuid(uid), let namePointer = entry.pointee.pw_name else {
            throw .init(status: .osError, message: "no login name found for user ID \(uid)")
        }
        let login = String(cString: namePointer)
        let gecos = entry.pointee.pw_gecos.map { String(cString: $0) }
        let name = environment["NAME"].flatMap(usableName) ?? gecos.flatMap { usableName(gecosName($0, login: login)) }
        return SendmailIdentity(loginName: login, fullName: name)
    }

    /// The first comma-separated GECOS field, with the BSD `&` convention (the login name, capitalised).
    static func gecosName(_ gecos: String, login: String) -> String {
        let first = gecos.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let capitalised = login.prefix(1).uppercased() + login.dropFirst()
        return first.replacingAmpersands(with: capitalised)
    }

    /// A name from the environment or passwd is not ours to refuse, so one that could not be
    /// written safely (control characters) is left out rather than failing the submission.
    private static func usableName(_ name: String) -> String? {
        let trimmed = name.trimmingSpacesAndTabs()
        guard !trimmed.isEmpty, !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return trimmed
    }
}

extension String {
    fileprivate func replacingAmpersands(with replacement: String) -> String {
        var out = ""
        for character in self { if character == "&" { out += replacement } else { out.append(character) } }
        return out
    }

    fileprivate func trimmingSpacesAndTabs() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
