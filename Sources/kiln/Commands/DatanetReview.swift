// `kiln datanet queue` and `kiln datanet review`: the curator's side of submissions.
import ArgumentParser
import Foundation
import KilnAPI

extension DatanetCommand {
    /// Lists a Datanet's pending items, oldest first (curators only).
    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a Datanet's pending items, oldest first (curators only).")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The Datanet's slug.")
        var slug: String

        @Option(help: "The most items to list (1 to 1000).")
        var limit: Int = 100

        @Option(help: "Continue from the `next` cursor a previous page printed.")
        var cursor: String?

        @Flag(help: "Print the server's JSON page instead of a table.")
        var json = false

        func validate() throws {
            try client.requireToken()
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000.") }
        }

        func run() async throws {
            var path = "/api/datanets/\(pathSegment(slug))/queue?limit=\(limit)"
            if let cursor { path += "&cursor=\(pathSegment(cursor))" }
            let data = try await client.withClient { client in try await client.getData(path) }
            if json { return printRawJSON(data) }
            let page = try await runReportingErrors { try APIClient.decodeAnswer(PageBody<SubmissionBody>.self, from: data, path: path) }
            guard !page.items.isEmpty else {
                print("Nothing is waiting for review in \(slug).")
                return
            }
            let rows = page.items.map { [String($0.id), $0.contributor, $0.format, formatBytes($0.bytes), $0.createdAt, $0.summary] }
            print(table(["ID", "CONTRIBUTOR", "FORMAT", "SIZE", "SUBMITTED", "CONTENT"], rows))
            if let next = page.next { print("More: kiln datanet queue \(slug) --cursor \(next)") }
        }
    }

    /// Accepts or rejects one pending item.
    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept or reject a pending item (curators only).",
            discussion: "kiln datanet review 42 --accept\nkiln datanet review 43 --reject --reason \"Blurry; the cat is not visible.\"")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The submission's id (from `kiln datanet queue`).")
        var id: Int

        @Flag(help: "Accept the item: it counts on the leaderboard and goes into the next version.")
        var accept = false

        @Flag(help: "Reject the item; needs --reason, which the contributor sees.")
        var reject = false

        @Option(help: "Why: required with --reject, optional with --accept.")
        var reason: String?

        @Flag(help: "Print the updated submission as the server's JSON.")
        var json = false

        func validate() throws {
            try client.requireToken()
            guard id > 0 else { throw ValidationError("The submission id must be a positive number.") }
            guard accept != reject else { throw ValidationError("Give exactly one of --accept or --reject.") }
            if reject, reason?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true {
                throw ValidationError("--reject needs a --reason; the contributor sees it.")
            }
        }

        func run() async throws {
            /// The review body.
            struct Body: Encodable, Sendable {
                var decision: String
                var reason: String?
            }
            let path = "/api/submissions/\(id)/review"
            let body = Body(decision: accept ? "accept" : "reject", reason: reason)
            let data = try await client.withClient { client in try await client.postData(path, json: body) }
            if json { return printRawJSON(data) }
            let submission = try await runReportingErrors { try APIClient.decodeAnswer(SubmissionBody.self, from: data, path: path) }
            print("Submission \(submission.id) in \(submission.datanet) by \(submission.contributor): \(submission.status)"
                  + (submission.reason.map { " (\($0))" } ?? ""))
        }
    }
}
