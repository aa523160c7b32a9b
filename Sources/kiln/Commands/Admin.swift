// `kiln admin …`: node administration that works on the data folder directly.
import ArgumentParser
import Foundation
import KilnData

/// Administration commands.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Administer a node's data folder directly.",
                                                    subcommands: [CreateUser.self, CollectGarbage.self])

    /// Creates a user (the first admin, typically).
    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-user", abstract: "Create a user, optionally an admin.")

        @OptionGroup var data: DataOptions

        @Option(help: "The new user's name.")
        var username: String

        @OptionGroup var secret: PasswordOptions

        @Flag(help: "Make the user an admin of the whole node.")
        var admin = false

        func run() async throws {
            let password = try secret.resolve(prompt: "Password for \(username) (8 to 72 bytes): ")
            do {
                try AccountStore.validate(username: username, password: password)
            } catch let error as DataError {
                printError("kiln: \(error.message)")
                throw ExitCode(1)
            }
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

    /// Deletes blobs that no submission names.
    struct CollectGarbage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Delete stored files that no submission names (left by a crash or a failed upload).",
            discussion: "The node also does this at start. Files younger than --grace-seconds are kept, so it is safe while a server runs.")

        @OptionGroup var data: DataOptions

        @Option(help: "Keep files written within this many seconds (uploads in flight).")
        var graceSeconds: Int = 3600

        func validate() throws {
            guard (0...31_536_000).contains(graceSeconds) else { throw ValidationError("--grace-seconds must be between 0 and 31536000.") }
        }

        func run() async throws {
            let services = try await openServices(data.url)
            defer { Task { await services.close() } }
            let swept = try await services.collectOrphanedBlobs(grace: TimeInterval(graceSeconds))
            print("Deleted \(swept.blobs) unreferenced \(swept.blobs == 1 ? "file" : "files") (\(swept.bytes) bytes).")
        }
    }
}
