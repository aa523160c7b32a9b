// `kiln admin …`: node administration that works on the data folder directly.
import ArgumentParser
import Foundation
import KilnData

/// Administration commands.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Administer a node's data folder directly.",
                                                    subcommands: [CreateUser.self])

    /// Creates a user (the first admin, typically).
    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-user", abstract: "Create a user, optionally an admin.")

        @OptionGroup var data: DataOptions

        @Option(help: "The new user's name.")
        var username: String

        @Option(help: "The new user's password (8 to 72 bytes).")
        var password: String

        @Flag(help: "Make the user an admin of the whole node.")
        var admin = false

        func validate() throws {
            do {
                try AccountStore.validate(username: username, password: password)
            } catch let error as DataError {
                throw ValidationError(error.message)
            }
        }

        func run() async throws {
            let services = try await openServices(data.url)
            defer { Task { await services.close() } }
            do {
                let user = try await services.accounts.register(username: username, password: password, isAdmin: admin)
                print("Created \(admin ? "admin" : "user") \(user.username) (id \(user.id)).")
            } catch let error as DataError {
                printError("kiln: \(error.message)")
                throw ExitCode(1)
            }
        }
    }
}
