// `kiln datanet leaderboard` and `kiln datanet publish`: standings and frozen versions.
import ArgumentParser
import Foundation
import KilnAPI

extension DatanetCommand {
    /// Shows a Datanet's leaderboard, or the global one.
    struct Leaderboard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the contributors ranked by accepted items, then accepted bytes.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug; leave it out for the leaderboard across all Datanets.")
        var slug: String?

        @Option(help: "The most rows to show (1 to 1000).")
        var limit: Int = 100

        @Flag(help: "Print the server's JSON page instead of a table.")
        var json = false

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000.") }
        }

        func run() async throws {
            let path = (slug.map { "/api/datanets/\(pathSegment($0))/leaderboard" } ?? "/api/leaderboard") + "?limit=\(limit)"
            let data = try await client.withClient { client in try await client.getData(path) }
            if json { return printRawJSON(data) }
            let page = try await runReportingErrors { try APIClient.decodeAnswer(PageBody<StandingBody>.self, from: data, path: path) }
            guard !page.items.isEmpty else {
                print("No accepted items yet\(slug.map { " in \($0)" } ?? "").")
                return
            }
            let rows = page.items.map { [String($0.rank), $0.username, String($0.accepted), formatBytes($0.acceptedBytes)] }
            print(table(["RANK", "CONTRIBUTOR", "ACCEPTED", "BYTES"], rows))
        }
    }

    /// Freezes the accepted items into a new version (curators only).
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a new version: freeze all accepted items, with a Merkle root over their hashes (curators only).")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug.")
        var slug: String

        @Flag(help: "Print the version with its manifest as the server's JSON.")
        var json = false

        func validate() throws {
            try client.requireToken()
        }

        func run() async throws {
            /// Publishing takes no parameters; the body is an empty object.
            struct Empty: Encodable, Sendable {}
            let path = "/api/datanets/\(pathSegment(slug))/versions"
            let data = try await client.withClient { client in try await client.postData(path, json: Empty()) }
            if json { return printRawJSON(data) }
            let version = try await runReportingErrors { try APIClient.decodeAnswer(VersionBody.self, from: data, path: path) }
            print("Published \(version.datanet) v\(version.version): \(version.count) items "
                  + "(\(version.trainCount) train, \(version.validationCount) validation), \(formatBytes(version.bytes)).")
            print("Merkle root: \(version.merkleRoot)")
            print("Export: kiln datanet export \(version.datanet) --version \(version.version) --out DIR")
        }
    }
}
