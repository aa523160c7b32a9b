// Rankings of contributors by what was accepted; rejections never count against anyone.
import Foundation
import KilnStore
import SQLKit

/// One contributor's standing.
public struct Standing: Sendable, Equatable {
    /// 1 for the top; equal standings share a rank (1, 2, 2, 4).
    public var rank: Int
    /// The contributor.
    public var username: String
    /// Accepted items.
    public var accepted: Int
    /// Bytes of the accepted items.
    public var acceptedBytes: Int
}

/// Computes leaderboards from accepted items only.
public final class LeaderboardStore: Sendable {
    private let database: Database

    /// Creates the store.
    public init(database: Database) {
        self.database = database
    }

    /// The standings in one Datanet, or across all of them when `datanet` is `nil`.
    ///
    /// Ranked by accepted items, then accepted bytes; only accepted items are read, so a
    /// rejection can never lower anyone's place.
    public func standings(in datanet: Datanet?, page: PageRequest) async throws -> Page<Standing> {
        let offset = page.after ?? 0
        let filter: SQLQueryString = datanet.map { "AND s.datanet_id = \(bind: $0.id)" } ?? ""
        let rows = try await database.read { sql in
            try await sql.raw("""
                SELECT u.username, COUNT(*) AS accepted, CAST(SUM(s.bytes) AS BIGINT) AS accepted_bytes
                FROM submissions s JOIN users u ON u.id = s.contributor_id
                WHERE s.status = 'accepted' \(filter)
                GROUP BY u.id, u.username ORDER BY accepted DESC, accepted_bytes DESC, u.username
                """).all()
        }
        var standings: [Standing] = []
        standings.reserveCapacity(rows.count)
        for row in rows {
            let accepted = try row.decode(column: "accepted", as: Int.self)
            let bytes = try row.decode(column: "accepted_bytes", as: Int.self)
            let rank: Int
            if let last = standings.last, last.accepted == accepted, last.acceptedBytes == bytes {
                rank = last.rank
            } else {
                rank = standings.count + 1
            }
            standings.append(Standing(rank: rank, username: try row.decode(column: "username", as: String.self), accepted: accepted, acceptedBytes: bytes))
        }
        let slice = Array(standings.dropFirst(offset).prefix(page.limit))
        let next = offset + slice.count < standings.count ? String(offset + slice.count) : nil
        return Page(items: slice, next: next)
    }
}
