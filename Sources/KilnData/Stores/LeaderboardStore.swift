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

/// Reads leaderboards from the `standings` rows that each acceptance updates, a page at a time.
public final class LeaderboardStore: Sendable {
    private let database: Database

    /// Creates the store.
    public init(database: Database) {
        self.database = database
    }

    /// Where the previous page ended: the last row's sort key, its rank and how many rows came before the next page.
    struct Cursor: Equatable {
        var accepted: Int
        var bytes: Int
        var username: String
        var rank: Int
        var position: Int

        /// `accepted.bytes.rank.position.username`; usernames hold no dots' worth of ambiguity because the name is last.
        var text: String { "\(accepted).\(bytes).\(rank).\(position).\(username)" }

        init(accepted: Int, bytes: Int, username: String, rank: Int, position: Int) {
            self.accepted = accepted
            self.bytes = bytes
            self.username = username
            self.rank = rank
            self.position = position
        }

        /// Reads a cursor this store wrote.
        /// - Throws: `DataError.badRequest` for anything else.
        init(_ text: String) throws {
            let parts = text.split(separator: ".", maxSplits: 4, omittingEmptySubsequences: false)
            guard parts.count == 5, let accepted = RequestNumber.parse(parts[0]), let bytes = RequestNumber.parse(parts[1]),
                  let rank = RequestNumber.parse(parts[2]), let position = RequestNumber.parse(parts[3]), !parts[4].isEmpty else {
                throw DataError.badRequest(code: "invalid_cursor", message: "The cursor is not one this leaderboard gave.")
            }
            self.init(accepted: accepted, bytes: bytes, username: String(parts[4]), rank: rank, position: position)
        }
    }

    /// The standings in one Datanet, or across all of them when `datanet` is `nil`, from `page.token` on.
    ///
    /// Ranked by accepted items, then accepted bytes, then name. Only acceptances count (a curator's acceptance of
    /// their own item only once a second curator confirms it), so a rejection can never lower anyone's place.
    public func standings(in datanet: Datanet?, page: PageRequest) async throws -> Page<Standing> {
        let board = datanet?.id ?? 0
        let cursor = try page.token.map(Cursor.init)
        let after: SQLQueryString = cursor.map { c in
            """
            AND (accepted < \(bind: c.accepted) OR (accepted = \(bind: c.accepted) AND (accepted_bytes < \(bind: c.bytes)
                OR (accepted_bytes = \(bind: c.bytes) AND username > \(bind: c.username)))))
            """
        } ?? ""
        let rows = try await database.read { sql in
            try await sql.raw("""
                SELECT username, accepted, accepted_bytes FROM standings WHERE datanet_id = \(bind: board) AND accepted > 0 \(after)
                ORDER BY accepted DESC, accepted_bytes DESC, username LIMIT \(bind: page.limit + 1)
                """).all()
        }
        var standings: [Standing] = []
        var previous = cursor.map { (accepted: $0.accepted, bytes: $0.bytes, rank: $0.rank) }
        let before = cursor?.position ?? 0
        for (index, row) in rows.prefix(page.limit).enumerated() {
            let accepted = try row.decode(column: "accepted", as: Int.self)
            let bytes = try row.decode(column: "accepted_bytes", as: Int.self)
            let rank = previous.flatMap { $0.accepted == accepted && $0.bytes == bytes ? $0.rank : nil } ?? before + index + 1
            standings.append(Standing(rank: rank, username: try row.decode(column: "username", as: String.self), accepted: accepted,
                                      acceptedBytes: bytes))
            previous = (accepted, bytes, rank)
        }
        let next = rows.count > page.limit ? standings.last.map {
            Cursor(accepted: $0.accepted, bytes: $0.acceptedBytes, username: $0.username, rank: $0.rank, position: before + standings.count).text
        } : nil
        return Page(items: standings, next: next)
    }
}
