// Chat conversations kept on the node for their owner, so the Chat page shows them in any browser. A conversation is
// a title and its turns as the page writes them (JSON, at most 1 MiB); each user keeps the newest 100.
import Foundation
import KilnStore
import SQLKit

/// One stored conversation's heading.
public struct ConversationSummary: Sendable, Equatable {
    public var id: Int
    public var title: String
    /// Unix milliseconds of the last save.
    public var updatedAt: Int
}

/// The conversations table.
public final class ConversationStore: Sendable {
    private let database: Database
    private let now: @Sendable () -> Date
    /// Conversations a user keeps; saving past it drops the oldest.
    public static let perUser = 100
    /// The most bytes of turns one conversation holds.
    public static let maxBodyBytes = 1 << 20

    /// Creates the store.
    public init(database: Database, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.now = now
    }

    /// `owner`'s conversations, newest first.
    public func list(owner: User) async throws -> [ConversationSummary] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT id, title, updated_at FROM conversations WHERE owner_id = \(bind: owner.id) ORDER BY updated_at DESC, id DESC
                """).all().map { row in
                ConversationSummary(id: try row.decode(column: "id", as: Int.self), title: try row.decode(column: "title", as: String.self),
                                    updatedAt: try row.decode(column: "updated_at", as: Int.self))
            }
        }
    }

    /// The turns (JSON text) of `owner`'s conversation `id`.
    /// - Throws: `DataError.notFound` when it is not theirs or does not exist.
    public func body(_ id: Int, owner: User) async throws -> (ConversationSummary, String) {
        let row = try await database.read { sql in
            try await sql.raw("SELECT id, title, body, updated_at FROM conversations WHERE id = \(bind: id) AND owner_id = \(bind: owner.id)").first()
        }
        guard let row else { throw DataError.notFound("There is no conversation \(id).") }
        return (ConversationSummary(id: id, title: try row.decode(column: "title", as: String.self), updatedAt: try row.decode(column: "updated_at", as: Int.self)),
                try row.decode(column: "body", as: String.self))
    }

    /// Stores a conversation: a new one when `id` is nil, else `owner`'s conversation `id` replaced.
    /// - Returns: its id.
    /// - Throws: `DataError.badRequest` for an empty or long title or a body over `maxBodyBytes`, `.notFound` for an `id`
    ///   that is not theirs.
    public func save(_ id: Int?, owner: User, title: String, body: String) async throws -> Int {
        let title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(title.count) else {
            throw DataError.badRequest(code: "bad_field", message: "Field \"title\" must be 1 to 200 characters.")
        }
        guard body.utf8.count <= Self.maxBodyBytes else {
            throw DataError.badRequest(code: "too_large", message: "A conversation holds at most 1 MiB of turns; start a new one.")
        }
        let stamp = Int(now().timeIntervalSince1970 * 1000)
        return try await database.write { sql in
            if let id {
                let changed = try await sql.raw("""
                    UPDATE conversations SET title = \(bind: title), body = \(bind: body), updated_at = \(bind: stamp)
                    WHERE id = \(bind: id) AND owner_id = \(bind: owner.id) RETURNING id
                    """).first()
                guard changed != nil else { throw DataError.notFound("There is no conversation \(id).") }
                return id
            }
            let row = try await sql.raw("""
                INSERT INTO conversations (owner_id, title, body, updated_at) VALUES (\(bind: owner.id), \(bind: title), \(bind: body), \(bind: stamp))
                RETURNING id
                """).first()
            let created = try row!.decode(column: "id", as: Int.self)
            try await sql.raw("""
                DELETE FROM conversations WHERE owner_id = \(bind: owner.id) AND id NOT IN
                (SELECT id FROM conversations WHERE owner_id = \(bind: owner.id) ORDER BY updated_at DESC, id DESC LIMIT \(bind: Self.perUser))
                """).run()
            return created
        }
    }

    /// Deletes `owner`'s conversation `id`.
    /// - Throws: `DataError.notFound` when it is not theirs.
    public func delete(_ id: Int, owner: User) async throws {
        let gone = try await database.write { sql in
            try await sql.raw("DELETE FROM conversations WHERE id = \(bind: id) AND owner_id = \(bind: owner.id) RETURNING id").first() != nil
        }
        guard gone else { throw DataError.notFound("There is no conversation \(id).") }
    }
}
