// Knowledge bases, their documents and chunks (with embeddings), and which chunks each answer used. A document's
// chunks arrive in the same transaction as its row and the removal of the document it replaces, so a crash while
// indexing leaves the base exactly as it was before that document. Embeddings are computed before the transaction.
import Foundation
import KilnStore
import SQLKit

/// A knowledge base's row.
public struct KnowledgeBaseRecord: Sendable, Equatable {
    public var id: Int
    /// Nil for the built-in base.
    public var ownerID: Int?
    public var name: String
    public var description: String
    public var isPublic: Bool
    public var isBuiltin: Bool
    public var embedder: String
    /// The settings JSON (chunking, BM25, HNSW), read by the server.
    public var settings: String
    public var createdAt: Int
    public var updatedAt: Int
    public var documentCount: Int
    public var chunkCount: Int

    /// Whether `user` may search it and read its chunks.
    public func visible(to user: User) -> Bool { isPublic || isBuiltin || ownerID == user.id || user.isAdmin }

    /// Whether `user` may change it.
    public func editable(by user: User) -> Bool { !isBuiltin && (ownerID == user.id || user.isAdmin) }
}

/// A document's row.
public struct KnowledgeDocumentRecord: Sendable, Equatable {
    public var id: Int
    public var baseID: Int
    public var name: String
    public var format: String
    public var sha256: String
    public var byteCount: Int
    public var datanetID: Int?
    public var versionNumber: Int?
    public var chunkCount: Int
    public var createdAt: Int
}

/// A chunk as stored.
public struct KnowledgeChunkRecord: Sendable, Equatable {
    public var id: Int
    public var baseID: Int
    public var documentID: Int
    public var position: Int
    public var headingPath: [String]
    public var text: String
    /// The Datanet item it came from, with the item's contributor, when it came from one.
    public var itemID: Int?
    public var contributor: String?
}

/// A chunk to store: its place, text, unit embedding and origin.
public struct NewKnowledgeChunk: Sendable {
    public var position: Int
    public var headingPath: [String]
    public var text: String
    public var embedding: [Float]
    public var itemID: Int?
    public var contributor: String?

    /// Creates a chunk to store.
    public init(position: Int, headingPath: [String], text: String, embedding: [Float], itemID: Int? = nil, contributor: String? = nil) {
        self.position = position
        self.headingPath = headingPath
        self.text = text
        self.embedding = embedding
        self.itemID = itemID
        self.contributor = contributor
    }
}

/// The knowledge tables.
public final class KnowledgeStore: Sendable {
    let database: Database
    let now: @Sendable () -> Date
    /// Bases one user may own.
    public static let perUser = 50

    /// Creates the store.
    public init(database: Database, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.now = now
    }

    var stamp: Int { Int(now().timeIntervalSince1970 * 1000) }

    static let baseColumns = """
        b.id, b.owner_id, b.name, b.description, b.is_public, b.is_builtin, b.embedder, b.settings, b.created_at, b.updated_at,
        (SELECT COUNT(*) FROM knowledge_documents d WHERE d.base_id = b.id) AS document_count,
        (SELECT COUNT(*) FROM knowledge_chunks c WHERE c.base_id = b.id) AS chunk_count
        """

    static func base(_ row: any SQLRow) throws -> KnowledgeBaseRecord {
        KnowledgeBaseRecord(
            id: try row.decode(column: "id", as: Int.self), ownerID: try row.decode(column: "owner_id", as: Int?.self),
            name: try row.decode(column: "name", as: String.self), description: try row.decode(column: "description", as: String.self),
            isPublic: try row.decode(column: "is_public", as: Int.self) != 0, isBuiltin: try row.decode(column: "is_builtin", as: Int.self) != 0,
            embedder: try row.decode(column: "embedder", as: String.self), settings: try row.decode(column: "settings", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int.self), updatedAt: try row.decode(column: "updated_at", as: Int.self),
            documentCount: try row.decode(column: "document_count", as: Int.self), chunkCount: try row.decode(column: "chunk_count", as: Int.self))
    }

    /// Creates a base owned by `owner` (nil: the built-in base).
    /// - Throws: `DataError.badRequest` for a bad name, `.conflict` when the owner already has a base of that name or
    ///   `perUser` bases.
    public func create(owner: User?, name: String, description: String, isPublic: Bool, embedder: String, settings: String) async throws
        -> KnowledgeBaseRecord {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(name.count), !name.contains(where: \.isNewline) else {
            throw DataError.badRequest(code: "bad_field", message: "Field \"name\" must be 1 to 100 characters on one line.")
        }
        guard description.count <= 2000 else {
            throw DataError.badRequest(code: "bad_field", message: "Field \"description\" must be at most 2000 characters.")
        }
        let time = stamp
        let id = try await database.write { sql in
            let query: SQLQueryString = if let owner { "SELECT name FROM knowledge_bases WHERE owner_id = \(bind: owner.id)" }
                else { "SELECT name FROM knowledge_bases WHERE owner_id IS NULL" }
            let owned = try await sql.raw(query).all().map { try $0.decode(column: "name", as: String.self) }
            if owned.contains(where: { $0.lowercased() == name.lowercased() }) {
                throw DataError.conflict(code: "name_taken", message: "You already have a knowledge base named \(name).")
            }
            if owner != nil, owned.count >= Self.perUser {
                throw DataError.conflict(code: "too_many", message: "A user keeps at most \(Self.perUser) knowledge bases; delete one first.")
            }
            let row = try await sql.raw("""
                INSERT INTO knowledge_bases (owner_id, name, description, is_public, is_builtin, embedder, settings, created_at, updated_at)
                VALUES (\(bind: owner?.id), \(bind: name), \(bind: description), \(bind: isPublic ? 1 : 0), \(bind: owner == nil ? 1 : 0),
                        \(bind: embedder), \(bind: settings), \(bind: time), \(bind: time))
                RETURNING id
                """).first()
            return try row!.decode(column: "id", as: Int.self)
        }
        return try await base(id)!
    }

    /// The base `id`, if it exists.
    public func base(_ id: Int) async throws -> KnowledgeBaseRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.baseColumns) FROM knowledge_bases b WHERE b.id = \(bind: id)").first().map(Self.base)
        }
    }

    /// The built-in base, if it was made.
    public func builtinBase() async throws -> KnowledgeBaseRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.baseColumns) FROM knowledge_bases b WHERE b.is_builtin = 1 ORDER BY b.id LIMIT 1")
                .first().map(Self.base)
        }
    }

    /// Every base, for loading indexes at start.
    public func allBases() async throws -> [KnowledgeBaseRecord] {
        try await database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.baseColumns) FROM knowledge_bases b ORDER BY b.id").all().map(Self.base)
        }
    }

    /// The bases `user` may search: their own, public ones and the built-in one (all, for an admin).
    public func bases(visibleTo user: User) async throws -> [KnowledgeBaseRecord] {
        try await allBases().filter { $0.visible(to: user) }
    }

    /// Deletes a base with its documents and chunks.
    public func delete(_ id: Int) async throws {
        try await database.write { sql in
            try await sql.raw("DELETE FROM knowledge_chunks WHERE base_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM knowledge_documents WHERE base_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM knowledge_bases WHERE id = \(bind: id)").run()
        }
    }
}
