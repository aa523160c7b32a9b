// Lists page in SQL with cursors that give the same rows as one long page; self-acceptance counts only once confirmed.
import Foundation
import KilnData
import KilnStore
import Testing

@Suite("Keyset paging and standings")
struct PagingAndStandingTests {
    @Test("Leaderboard pages of 2 give the rows and shared ranks of one page of 100", arguments: TestEngine.available)
    func leaderboardPages(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            // Accepted counts 3, 2, 2, 2, 1: the three with 2 tie on bytes too (same-length notes), so they share rank 2.
            let plan = [("ana", 3), ("ben", 2), ("cyd", 2), ("dee", 2), ("eve", 1)]
            for (name, count) in plan {
                let user = try await services.accounts.register(username: name, password: "correct horse battery")
                for _ in 0..<count {
                    // Two random UUIDs: equal lengths (so equal bytes per count) and nothing in common for the near-duplicate check.
                    let text = "\(UUID().uuidString) \(UUID().uuidString)"
                    let item = try await services.submissions.submit([plain(text)], to: datanet, by: user)[0]
                    _ = try await services.submissions.review(item.id, decision: .accept, reason: nil, by: curator)
                }
            }
            let whole = try await services.leaderboards.standings(in: datanet, page: PageRequest(limit: 100, after: nil)).items
            #expect(whole.map(\.username) == ["ana", "ben", "cyd", "dee", "eve"])
            #expect(whole.map(\.rank) == [1, 2, 2, 2, 5])
            var paged: [Standing] = []
            var cursor: String?
            repeat {
                let page = try await services.leaderboards.standings(in: datanet, page: try PageRequest(limit: "2", cursor: cursor, keyset: true))
                paged += page.items
                cursor = page.next
            } while cursor != nil
            #expect(paged == whole)
            let global = try await services.leaderboards.standings(in: nil, page: PageRequest(limit: 100, after: nil)).items
            #expect(global.map(\.accepted) == [3, 2, 2, 2, 1])
            await #expect(throws: DataError.self) {
                try await services.leaderboards.standings(in: datanet, page: try PageRequest(limit: "2", cursor: "9.9.9", keyset: true))
            }
        }
    }

    @Test("A curator's acceptance of their own item counts on no leaderboard until another curator accepts it",
          arguments: TestEngine.available)
    func selfAcceptance(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let second = try await services.accounts.register(username: "second", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            try await services.datanets.addCurator(second, to: datanet)
            let own = try await services.submissions.submit([plain("The curator's own note about autolyse.")], to: datanet, by: curator)[0]
            let accepted = try await services.submissions.review(own.id, decision: .accept, reason: nil, by: curator)
            #expect(accepted.status == .accepted && accepted.selfAccepted)
            #expect(try await services.leaderboards.standings(in: datanet, page: .first).items.isEmpty)
            // The item is in the Datanet all the same.
            #expect(try await services.datanets.summary(of: datanet).accepted == 1)
            let confirmed = try await services.submissions.review(own.id, decision: .accept, reason: nil, by: second)
            #expect(!confirmed.selfAccepted)
            #expect(try await services.leaderboards.standings(in: datanet, page: .first).items.map(\.username) == ["curator"])
            let entries = try await services.ledger.entries(about: .submission(own.id))
            #expect(entries.count == 2)
            // Confirming twice is a conflict, not a second count.
            await #expect(throws: DataError.conflict(code: "already_decided", message: "Item \(own.id) has already been decided.")) {
                try await services.submissions.review(own.id, decision: .accept, reason: nil, by: second)
            }
        }
    }

    @Test("Datanet pages follow the id cursor, newest first, with counts kept by each change", arguments: TestEngine.available)
    func datanetPages(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            var slugs: [String] = []
            for index in 0..<5 {
                slugs.append(try await makeTextDatanet(services, curator: curator, slug: "notes-\(index)").slug)
            }
            let first = try await services.datanets.get("notes-4")
            let pending = try await services.submissions.submit([plain("A pending note about steam in the oven.")], to: first, by: bob)[0]
            let accepted = try await services.submissions.submit([plain("An accepted note about baking stones.")], to: first, by: bob)[0]
            _ = try await services.submissions.submit([plain("tiny")], to: first, by: bob)
            _ = try await services.submissions.review(accepted.id, decision: .accept, reason: nil, by: curator)
            var seen: [DatanetSummary] = []
            var after: Int?
            repeat {
                let page = try await services.datanets.list(page: PageRequest(limit: 2, after: after))
                seen += page.items
                after = page.next.flatMap { Int($0) }
            } while after != nil
            #expect(seen.map(\.datanet.slug) == slugs.reversed())
            let top = try #require(seen.first)
            #expect((top.pending, top.accepted, top.rejected, top.contributors) == (1, 1, 1, 1))
            _ = pending
        }
    }
}
