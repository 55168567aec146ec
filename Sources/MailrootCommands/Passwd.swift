// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import MailrootDaemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `mailroot passwd`: turns a password into the `password_hash` of an `[[smtp.users]]` entry.
/// The password is read from the terminal without echo (twice, to catch a typo), or from
/// standard input when that is not a terminal (`printf '%s' "$PW" | mailroot passwd`), so it
/// never appears in `ps` or in the shell history as an argument would.
struct Passwd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hash a password for [[smtp.users]] password_hash.",
        discussion: """
        Prints a salted PBKDF2-HMAC-SHA256 hash ($pbkdf2-sha256$i=...$salt$key). \
        On a terminal the password is asked twice without echo; otherwise it is read from \
        standard input (one trailing newline is removed).
        """)

    @Option(help: "PBKDF2 iterations (at least \(SMTPPasswordHash.minimumIterations)); more is slower for attackers and for every AUTH.")
    var iterations = SMTPPasswordHash.minimumIterations

    func run() throws {
        let password: [UInt8]
        if isatty(STDIN_FILENO) == 1 {
            let first = try Self.readHidden(prompt: "Password: ")
            let second = try Self.readHidden(prompt: "Again: ")
            guard first == second else { throw ValidationError("the passwords differ") }
            password = first
        } else {
            password = Self.strippingNewline(Array(FileHandle.standardInput.readDataToEndOfFile()))
        }
        guard !password.isEmpty else { throw ValidationError("the password is empty") }
        guard !password.contains(0) else { throw ValidationError("the password contains a NUL byte, which AUTH PLAIN cannot carry") }
        do {
            print(try SMTPPasswordHash(hashing: password, iterations: iterations).encoded)
        } catch {
            throw ValidationError("--iterations: \(error)")
        }
    }

    /// One trailing LF or CRLF is the end of the line, not part of the password.
    static func strippingNewline(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }

    /// Turns echo off with termios for one line, and back on even when reading fails. Echo goes
    /// off before the prompt is shown (as getpass(3) does): TCSAFLUSH discards typed-ahead input,
    /// so switching after the prompt could throw away a password typed (or sent by a script)
    /// the moment the prompt appeared, and then wait for it forever.
    static func readHidden(prompt: String) throws -> [UInt8] {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw ValidationError("cannot read the terminal settings") }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent) == 0 else { throw ValidationError("cannot turn off echo") }
        // TCSANOW: nothing typed after the line may be lost either.
        defer { _ = tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        FileHandle.standardError.write(Data(prompt.utf8))
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(STDIN_FILENO, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        return strippingNewline(line)
    }
}
