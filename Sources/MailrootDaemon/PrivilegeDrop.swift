// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   Running as an unprivileged user: resolving `user` and `pickup_group`, and switching to that
//   user once the ports are bound.
//
// DESCRIPTION
//   `PrivilegePlan.resolve` looks the accounts up while the daemon is still whoever started it
//   and decides what happens: started as root with `user` set, it will switch; started as that
//   user already (systemd `User=` with `AmbientCapabilities=CAP_NET_BIND_SERVICE`), it stays;
//   started as anyone else, it refuses. `prepare(_:)` gives the folders to the user
//   (FolderOwnership.swift) and `pickup/` to the pickup group; `drop()` then calls setgroups,
//   setgid and setuid, in that order (setgid and setgroups need root, so they go before setuid).
//
// SAFETY
//   Credentials are per thread on Linux. glibc carries setuid/setgid/setgroups to every thread
//   (the SIGSETXID broadcast in nptl) except one that has called pthread_exit, which is where
//   libdispatch parks the initial thread under Swift's async main; PrivilegeSwitch.swift runs
//   the switch on that thread so that none is left as root. `drop()` checks every thread in
//   /proc/self/task and that setuid(0) now fails; any failure stops start-up rather than leave
//   the daemon half-privileged. The supplementary groups are the user's own
//   (getgrouplist, e.g. ssl-cert for its keys) plus the pickup group, which it needs to read
//   files that applications drop with mode 0640. Nothing is created under the root after
//   `drop()` except by the user.
//
// SEE ALSO
//   setuid(2), setgroups(2), nptl(7) "SIGSETXID"; PrivilegeSwitch.swift; Postfix's set_ugid.c and postfix-files
//   (set-permissions); FolderOwnership.swift; README "Running as the system's mail relay".
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A user or group from the system's databases.
struct SystemAccount: Sendable, Equatable {
    var name: String
    var id: UInt32
    /// For a user: its primary group.
    var group: UInt32 = 0
}

/// What `serve` does about its identity, decided before anything is bound or created.
struct PrivilegePlan: Sendable {
    /// The user to switch to; nil when the process keeps its identity.
    var switchTo: SystemAccount?
    /// The user the daemon runs as from here on, when `user` is set.
    var user: SystemAccount?
    var pickupGroup: SystemAccount?

    static func resolve(_ configuration: MailrootConfiguration,
                        effectiveUser: UInt32 = geteuid()) throws(DaemonError) -> PrivilegePlan {
        var plan = PrivilegePlan()
        if let name = configuration.pickupGroup {
            guard let group = lookUpGroup(name) else {
                throw DaemonError(description: "pickup_group = \"\(name)\": no such group (create it with: groupadd --system \(name))")
            }
            plan.pickupGroup = group
        }
        guard let name = configuration.user else { return plan }
        guard let user = lookUpUser(name) else {
            throw DaemonError(description: "user = \"\(name)\": no such user (create it with: useradd --system --no-create-home --shell /usr/sbin/nologin \(name))")
        }
        plan.user = user
        if effectiveUser == user.id { return plan }
        guard effectiveUser == 0 else {
            throw DaemonError(description: "user = \"\(name)\": mailroot serve must be started as root (it binds its ports, then switches to \(name)) or as \(name) itself; it was started as uid \(effectiveUser)")
        }
        plan.switchTo = user
        return plan
    }

    /// As root: the folders become the user's and pickup/ the pickup group's. Without a switch:
    /// only pickup/'s group, which needs root, or the current user to own pickup/ and belong
    /// to the group (it must read the files through that group).
    func prepare(_ folders: MailrootFolders, logger: Logger) throws(DaemonError) {
        if let user = switchTo {
            try FolderOwnership.give(folders, to: user, pickupGroup: pickupGroup, logger: logger)
            return
        }
        guard let group = pickupGroup else { return }
        let member = geteuid() == 0 || getegid() == group.id || currentGroups().contains(group.id)
        guard member else {
            throw DaemonError(description: "pickup_group = \"\(group.name)\": mailroot runs as uid \(geteuid()), which is not in that group, so it could not read the files applications drop (add it with usermod -aG \(group.name), or start mailroot as root with user set)")
        }
        try FolderOwnership.givePickup(folders.pickup, owner: nil, group: group)
    }

    /// Switches to `switchTo` for good (real, effective and saved IDs). Does nothing without one.
    func drop(logger: Logger) throws(DaemonError) {
        guard let user = switchTo else {
            if geteuid() == 0 {
                logger.notice("mailroot: running as root; set user = \"mailroot\" to run as an unprivileged user after binding the ports")
            }
            return
        }
        var groups = supplementaryGroups(of: user)
        if let pickup = pickupGroup, !groups.contains(pickup.id) { groups.append(pickup.id) }
        do {
            try ThreadCredentials.switchAll(uid: user.id, gid: user.group, groups: groups)
        } catch {
            throw DaemonError(description: "user = \"\(user.name)\": \(error.description)")
        }
        // A switch that silently left a saved uid 0 would let an exploit regain root.
        guard getuid() == user.id, geteuid() == user.id, getgid() == user.group, getegid() == user.group,
              setuid(0) != 0 else {
            throw DaemonError(description: "user = \"\(user.name)\": the switch to uid \(user.id) did not take effect; refusing to run")
        }
        let groupNames = pickupGroup.map { ", pickup group \($0.name) (gid \($0.id))" } ?? ""
        logger.info("mailroot: switched to user \(user.name) (uid \(user.id), gid \(user.group)\(groupNames))")
    }

}

func lookUpUser(_ name: String) -> SystemAccount? {
    withLookupBuffer { buffer -> (Int32, SystemAccount?) in
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        let status = getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result)
        guard status == 0, let found = result else { return (status, nil) }
        return (0, SystemAccount(name: name, id: found.pointee.pw_uid, group: found.pointee.pw_gid))
    }
}

func lookUpGroup(_ name: String) -> SystemAccount? {
    withLookupBuffer { buffer -> (Int32, SystemAccount?) in
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        let status = getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result)
        guard status == 0, let found = result else { return (status, nil) }
        return (0, SystemAccount(name: name, id: found.pointee.gr_gid))
    }
}

/// Runs a getpwnam_r-style lookup, growing the buffer on ERANGE (a group with many members).
private func withLookupBuffer(_ body: (UnsafeMutableBufferPointer<CChar>) -> (Int32, SystemAccount?)) -> SystemAccount? {
    var size = 4096
    while size <= 1 << 22 {
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: size)
        defer { buffer.deallocate() }
        let (status, account) = body(buffer)
        if status == ERANGE {
            size *= 4
            continue
        }
        return account
    }
    return nil
}

/// The groups /etc/group lists `user` in, with its primary group first.
private func supplementaryGroups(of user: SystemAccount) -> [gid_t] {
    var count: Int32 = 64
    while true {
        var groups = [gid_t](repeating: 0, count: Int(count))
        let wanted = count
        if getgrouplist(user.name, user.group, &groups, &count) >= 0 {
            return Array(groups.prefix(Int(count)))
        }
        // glibc sets `count` to the number needed; guard against a lookup that never settles.
        guard count > wanted, count < 65_536 else { return [user.group] }
    }
}

private func currentGroups() -> [gid_t] {
    let count = getgroups(0, nil)
    guard count > 0 else { return [] }
    var groups = [gid_t](repeating: 0, count: Int(count))
    let filled = getgroups(count, &groups)
    return filled > 0 ? Array(groups.prefix(Int(filled))) : []
}
