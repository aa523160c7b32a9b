// A page costs the same however many rows lie beyond it: timed as a ratio of two node sizes in one run.
import Foundation
import KilnData
import KilnStore
import Testing

@Suite("Page cost does not grow with the table")
struct PageCostTests {
    /// Fills `count` users, Datanets and standings rows with one statement each (no per-row round trips).
    static func fill(_ services: KilnServices, count: Int) async throws {
        try await services.database.write { sql in
            try await sql.raw("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(bind: count))
                INSERT INTO users (username, password_hash, is_admin, created_at) SELECT 'user' || i, 'x', 0, 0 FROM n
                """).run()
            try await sql.raw("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(bind: count))
                INSERT INTO datanets (slug, title, description, kind, schema, rules, license, created_by, created_at)
                SELECT 'net-' || i, 'Net', '', 'text', 'plain', '{"daily_limit":10,"formats":["txt"],"max_item_bytes":100}', 'CC0-1.0', 1, 0
                FROM n
                """).run()
            try await sql.raw("""
                INSERT INTO standings (datanet_id, user_id, username, accepted, accepted_bytes)
                SELECT 0, id, username, id % 97 + 1, id % 13 * 100 FROM users
                """).run()
        }
    }

    /// The median seconds of `runs` calls of `body`.
    static func median(_ runs: Int = 15, _ body: () async throws -> Void) async throws -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try await body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[runs / 2]
    }

    /// The median time of a first and a deep page of Datanets and of the node's leaderboard, on a node of `count` rows.
    static func pageTimes(count: Int) async throws -> (datanets: Double, leaderboard: Double) {
        var result = (datanets: 0.0, leaderboard: 0.0)
        try await withServices(.sqlite) { services in
            try await fill(services, count: count)
            // A cursor deep in the table: the page after the middle.
            let middle = try await services.datanets.list(page: PageRequest(limit: 1, after: count / 2 + 1)).items[0].datanet.id
            result.datanets = try await median {
                _ = try await services.datanets.list(page: PageRequest(limit: 20, after: nil))
                _ = try await services.datanets.list(page: PageRequest(limit: 20, after: middle))
            }
            var cursor: String?
            for _ in 0..<3 { cursor = try await services.leaderboards.standings(in: nil, page: try PageRequest(limit: "20", cursor: cursor, keyset: true)).next }
            result.leaderboard = try await median {
                _ = try await services.leaderboards.standings(in: nil, page: PageRequest(limit: 20, after: nil))
                _ = try await services.leaderboards.standings(in: nil, page: try PageRequest(limit: "20", cursor: cursor, keyset: true))
            }
        }
        return result
    }

    @Test("A page of 20 Datanets or standings on a node of 40,000 takes at most 3× its time on a node of 400")
    func pagesAreIndexRanges() async throws {
        let small = try await Self.pageTimes(count: 400)
        let large = try await Self.pageTimes(count: 40_000)
        // Loading every row, as the pages did before, makes the large node about 100× slower.
        #expect(large.datanets <= small.datanets * 3, "Datanets: \(large.datanets) s vs \(small.datanets) s")
        #expect(large.leaderboard <= small.leaderboard * 3, "leaderboard: \(large.leaderboard) s vs \(small.leaderboard) s")
    }
}
