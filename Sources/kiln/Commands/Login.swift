// `kiln login`: trade a username and password for an API token.
import ArgumentParser
import Foundation
import KilnAPI

/// Logs in and prints a bearer token for `--token` / `KILN_TOKEN`.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in to a Kiln server and print an API token.",
        discussion: "Use it as `export KILN_TOKEN=$(kiln login --username U)`; the password is asked for without echo, or read with --password-stdin.")

    @OptionGroup var address: ServerAddressOptions

    @Option(help: "Your username.")
    var username: String

    @OptionGroup var secret: PasswordOptions

    @Flag(help: "Print the server's whole answer (token and user) as JSON.")
    var json = false

    func validate() throws {
        guard !username.isEmpty else { throw ValidationError("--username must not be empty.") }
    }

    func run() async throws {
        /// The login body.
        struct Body: Encodable, Sendable {
            var username: String
            var password: String
        }
        let body = Body(username: username, password: try secret.resolve(prompt: "Password for \(username): "))
        let path = "/api/auth/login"
        let (data, login) = try await runReportingErrors {
            try await APIClient.with(server: address.url, token: nil) { client in
                let data = try await client.postData(path, json: body)
                return (data, try client.decode(LoginBody.self, from: data, path: path))
            }
        }
        if json {
            printRawJSON(data)
        } else {
            print(login.token)
        }
    }
}
