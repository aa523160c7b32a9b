// `kiln login`: trade a username and password for an API token.
import ArgumentParser
import Foundation

/// Logs in and prints a bearer token for `--token` / `KILN_TOKEN`.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in to a Kiln server and print an API token.",
        discussion: "Use it as `export KILN_TOKEN=$(kiln login --username U --password P)`.")

    @OptionGroup var address: ServerAddressOptions

    @Option(help: "Your username.")
    var username: String

    @Option(help: "Your password (default: $KILN_PASSWORD, which keeps it out of the shell history).")
    var password: String?

    @Flag(help: "Print the server's whole answer (token and user) as JSON.")
    var json = false

    /// The password after applying the environment.
    var resolvedPassword: String? {
        password ?? ProcessInfo.processInfo.environment["KILN_PASSWORD"]
    }

    func validate() throws {
        guard !username.isEmpty else { throw ValidationError("--username must not be empty.") }
        guard let password = resolvedPassword, !password.isEmpty else {
            throw ValidationError("Give a password with --password or KILN_PASSWORD.")
        }
    }

    func run() async throws {
        /// The login body.
        struct Body: Encodable, Sendable {
            var username: String
            var password: String
        }
        let body = Body(username: username, password: resolvedPassword ?? "")
        let path = "/api/auth/login"
        let (data, login) = try await runReportingErrors {
            try await APIClient.with(server: address.url, token: nil) { client in
                let data = try await client.postData(path, json: body)
                return (data, try client.decode(LoginInfo.self, from: data, path: path))
            }
        }
        if json {
            printRawJSON(data)
        } else {
            print(login.token)
        }
    }
}
