// Where the CLI gets a password: a prompt without echo, standard input, or the environment; argv only if asked to.
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The password options a command shares, resolved in the order: `--password-stdin`, `--password`, `$KILN_PASSWORD`, a prompt.
struct PasswordOptions: ParsableArguments {
    @Flag(help: "Read the password from the first line of standard input (for scripts: `echo \"$P\" | kiln …`).")
    var passwordStdin = false

    @Option(help: "The password on the command line (visible to other users in the process list; prefer the prompt or --password-stdin).")
    var password: String?

    /// The password, from the first source that has one.
    /// - Throws: `ValidationError` when none does (no terminal to prompt on and nothing else given).
    func resolve(prompt: String) throws -> String {
        if passwordStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("--password-stdin was given but standard input held no password.")
            }
            return line
        }
        if let password, !password.isEmpty { return password }
        if let fromEnvironment = ProcessInfo.processInfo.environment["KILN_PASSWORD"], !fromEnvironment.isEmpty { return fromEnvironment }
        guard isatty(STDIN_FILENO) == 1, let typed = Self.promptWithoutEcho(prompt), !typed.isEmpty else {
            throw ValidationError("Give the password at the prompt, with --password-stdin, or in $KILN_PASSWORD.")
        }
        return typed
    }

    /// Reads one line from the terminal with echo off, restoring the terminal whatever happens.
    private static func promptWithoutEcho(_ prompt: String) -> String? {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return readLine(strippingNewline: true) }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true)
    }
}
