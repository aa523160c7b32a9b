// Submissions, limits, duplicates and reviews on both SQL engines.
import Foundation
import KilnData
import Testing

@Suite("Submissions and reviews")
struct SubmissionStoreTests {
    @Test("50 concurrent submissions against a daily limit of 10 store exactly 10", arguments: TestEngine.available)
    func dailyLimitUnderConcurrency(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let carol = try await services.accounts.register(username: "carol", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator, dailyLimit: 10)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await services.submissions.submit([plain("Contribution number \(index) about sourdough starters.")],
                                                                      to: datanet, by: carol)
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 10)
            let mine = try await services.submissions.mine(carol, page: PageRequest(limit: 1000, after: nil))
            #expect(mine.items.count == 10)
            #expect(mine.items.allSatisfy { $0.status == .pending })
        }
    }

    @Test("Over the limit the error says when it resets, and rejected items do not count", arguments: TestEngine.available)
    func limitResetsAndRejectionsDoNotCount(engine: TestEngine) async throws {
        let noon = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21 14:13:20 UTC
        try await withServices(engine, now: { noon }) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator, dailyLimit: 2)
            for index in 0..<5 {
                let rejected = try await services.submissions.submit([plain("short \(index)")], to: datanet, by: bob)
                #expect(rejected[0].status == .rejected)
            }
            _ = try await services.submissions.submit([plain("The first accepted-length note about ovens.")], to: datanet, by: bob)
            _ = try await services.submissions.submit([plain("The second accepted-length note about flour.")], to: datanet, by: bob)
            await #expect(throws: DataError.dailyLimit(limit: 2, resetsAt: Date(timeIntervalSince1970: 1_790_035_200))) {
                try await services.submissions.submit([plain("The third note, one too many for today.")], to: datanet, by: bob)
            }
        }
    }

    @Test("Automatic checks reject short text, exact duplicates and near-duplicates with reasons", arguments: TestEngine.available)
    func automaticRejections(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let short = try await services.submissions.submit([plain("tiny")], to: datanet, by: bob)[0]
            #expect(short.status == .rejected)
            #expect(short.stage == .auto)
            #expect(short.reasonCode == "below_min_chars")
            #expect(short.reason == "The text has 4 characters; this Datanet needs at least 10.")

            let words = (1...40).map { "word\($0)" }
            let original = try await services.submissions.submit([plain(words.joined(separator: " "))], to: datanet, by: bob)[0]
            #expect(original.status == .pending)
            // Whitespace and Unicode normalisation make these the same item.
            let copy = try await services.submissions.submit([plain("  " + words.joined(separator: " ") + "\r\n")], to: datanet, by: bob)[0]
            #expect(copy.reasonCode == "duplicate")

            // Near-duplicates are checked against accepted items only.
            _ = try await services.submissions.review(original.id, decision: .accept, reason: nil, by: curator)
            // One changed word out of 40: 35 of the 37 distinct 5-shingles are shared (Jaccard 0.946).
            var edited = words
            edited[39] = "changed"
            let near = try await services.submissions.submit([plain(edited.joined(separator: " "))], to: datanet, by: bob)[0]
            #expect(near.reasonCode == "near_duplicate")
            // Half the words replaced: Jaccard of shingles is near 0, so it is a new item.
            let different = (1...40).map { $0 % 2 == 0 ? "other\($0)" : "word\($0)" }
            let fresh = try await services.submissions.submit([plain(different.joined(separator: " "))], to: datanet, by: bob)[0]
            #expect(fresh.status == .pending)
            #expect(fresh.checks.map(\.check) == ["size", "format", "decode", "bounds", "duplicate", "near_duplicate"])
        }
    }

    @Test("Reviews need a reason to reject and happen once (who may review is the server's Authorization)", arguments: TestEngine.available)
    func reviewRules(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let item = try await services.submissions.submit([plain("A note about proofing baskets and flour.")], to: datanet, by: bob)[0]
            await #expect(throws: DataError.self) {
                try await services.submissions.review(item.id, decision: .reject, reason: "  ", by: curator)
            }
            let rejected = try await services.submissions.review(item.id, decision: .reject, reason: "Off topic", by: curator)
            #expect(rejected.status == .rejected)
            #expect(rejected.stage == .curator)
            #expect(rejected.reason == "Off topic")
            await #expect(throws: DataError.conflict(code: "already_decided", message: "Item \(item.id) has already been decided.")) {
                try await services.submissions.review(item.id, decision: .accept, reason: nil, by: curator)
            }
            let events = try await services.submissions.events(item.id)
            #expect(events.map(\.to) == [.pending, .rejected])
            #expect(events.last?.actor == "curator")
            #expect(events.last?.reason == "Off topic")
        }
    }

    @Test("The queue lists pending items oldest first, page by page", arguments: TestEngine.available)
    func queuePages(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            var ids: [Int] = []
            for index in 0..<7 {
                ids.append(try await services.submissions.submit([plain("Queue item number \(index) about crumb.")], to: datanet, by: bob)[0].id)
            }
            let first = try await services.submissions.queue(datanet, page: PageRequest(limit: 3, after: nil))
            #expect(first.items.map(\.id) == Array(ids[0..<3]))
            let second = try await services.submissions.queue(datanet, page: try PageRequest(limit: "3", cursor: first.next))
            #expect(second.items.map(\.id) == Array(ids[3..<6]))
            let third = try await services.submissions.queue(datanet, page: try PageRequest(limit: "3", cursor: second.next))
            #expect(third.items.map(\.id) == [ids[6]])
            #expect(third.next == nil)
        }
    }
}
