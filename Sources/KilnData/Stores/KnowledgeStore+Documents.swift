// Documents and chunks of a knowledge base, and the record of which chunks an answer used.
import Foundation
import KilnStore
import SQLKit

extension KnowledgeStore {
    /// A document to store with its chunks.
    public struct NewDocument: Sendable {
        public var name: String
        public var format: String
        public var sha256: String
        public var byteCount: Int
        public var datanetID: Int?
        public var versionNumber: Int?
        public var chunks: [NewKnowledgeChunk]

        /// Creates a document to store.
        public init(name: String, format: String, sha256: String, byteCount: Int, datanetID: Int? = nil, versionNumber: Int? = nil,
                    chunks: [NewKnowledgeChunk]) {
            self.name = name
            self.format = format
            self.sha256 = sha256
            self.byteCount = byteCount
            self.datanetID = datanetID
            self.versionNumber = versionNumber
            self.chunks = chunks
        }
    }

    /// What storing a document changed, for the in-memory indexes.
    public struct DocumentChange: Sendable {
        public var document: KnowledgeDocumentRecord
        /// The new chunks' ids in position order.
        public var addedChunkIDs: [Int]
        /// The chunks of the document it replaced.
        public var removedChunkIDs: [Int]
    }

    static func document(_ row: any SQLRow) throws -> KnowledgeDocumentRecord {
        KnowledgeDocumentRecord(
            id: try row.decode(column: "id", as: Int.self), baseID: try row.decode(column: "base_id", as: Int.self),
            name: try row.decode(column: "name", as: String.self), format: try row.decode(column: "format", as: String.self),
            sha256: try row.decode(column: "sha256", as: String.self), byteCount: try row.decode(column: "byte_count", as: Int.self),
            datanetID: try row.decode(column: "datanet_id", as: Int?.self), versionNumber: try row.decode(column: "version_number", as: Int?.self),
            chunkCount: try row.decode(column: "chunk_count", as: Int.self), createdAt: try row.decode(column: "created_at", as: Int.self))
    }

    static func chunk(_ row: any SQLRow) throws -> KnowledgeChunkRecord {
        let path = try row.decode(column: "heading_path", as: String.self)
        return KnowledgeChunkRecord(
            id: try row.decode(column: "id", as: Int.self), baseID: try row.decode(column: "base_id", as: Int.self),
            documentID: try row.decode(column: "document_id", as: Int.self), position: try row.decode(column: "position", as: Int.self),
            headingPath: (try? JSONDecoder().decode([String].self, from: Data(path.utf8))) ?? [],
            text: try row.decode(column: "text", as: String.self), itemID: try row.decode(column: "item_id", as: Int?.self),
            contributor: try row.decode(column: "contributor", as: String?.self))
    }

    /// The base's documents, newest first.
    public func documents(base: Int) async throws -> [KnowledgeDocumentRecord] {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM knowledge_documents WHERE base_id = \(bind: base) ORDER BY created_at DESC, id DESC").all().map(Self.document)
        }
    }

    /// The document `id` of base `base`.
    public func document(_ id: Int, base: Int) async throws -> KnowledgeDocumentRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM knowledge_documents WHERE id = \(bind: id) AND base_id = \(bind: base)").first().map(Self.document)
        }
    }

    /// Stores a document and its chunks, replacing the base's document of the same name, in one transaction.
    public func put(_ new: NewDocument, base: Int) async throws -> DocumentChange {
        let time = stamp
        let encoder = JSONEncoder()
        return try await database.write { sql in
            var removed: [Int] = []
            if let old = try await sql.raw("SELECT id FROM knowledge_documents WHERE base_id = \(bind: base) AND name = \(bind: new.name)").first() {
                let oldID = try old.decode(column: "id", as: Int.self)
                removed = try await sql.raw("SELECT id FROM knowledge_chunks WHERE document_id = \(bind: oldID)").all()
                    .map { try $0.decode(column: "id", as: Int.self) }
                try await sql.raw("DELETE FROM knowledge_chunks WHERE document_id = \(bind: oldID)").run()
                try await sql.raw("DELETE FROM knowledge_documents WHERE id = \(bind: oldID)").run()
            }
            let row = try await sql.raw("""
                INSERT INTO knowledge_documents (base_id, name, format, sha256, byte_count, datanet_id, version_number, chunk_count, created_at)
                VALUES (\(bind: base), \(bind: new.name), \(bind: new.format), \(bind: new.sha256), \(bind: new.byteCount),
                        \(bind: new.datanetID), \(bind: new.versionNumber), \(bind: new.chunks.count), \(bind: time))
                RETURNING *
                """).first()
            let document = try Self.document(row!)
            var added: [Int] = []
            for chunk in new.chunks {
                let path = String(decoding: try encoder.encode(chunk.headingPath), as: UTF8.self)
                let inserted = try await sql.raw("""
                    INSERT INTO knowledge_chunks (base_id, document_id, position, heading_path, text, embedding, item_id, contributor)
                    VALUES (\(bind: base), \(bind: document.id), \(bind: chunk.position), \(bind: path), \(bind: chunk.text),
                            \(bind: Self.encode(chunk.embedding)), \(bind: chunk.itemID), \(bind: chunk.contributor))
                    RETURNING id
                    """).first()
                added.append(try inserted!.decode(column: "id", as: Int.self))
            }
            try await sql.raw("UPDATE knowledge_bases SET updated_at = \(bind: time) WHERE id = \(bind: base)").run()
            return DocumentChange(document: document, addedChunkIDs: added, removedChunkIDs: removed)
        }
    }

    /// Removes a document and its chunks; returns the removed chunks' ids.
    /// - Throws: `DataError.notFound` when the base has no such document.
    public func removeDocument(_ id: Int, base: Int) async throws -> [Int] {
        let time = stamp
        return try await database.write { sql in
            guard try await sql.raw("SELECT id FROM knowledge_documents WHERE id = \(bind: id) AND base_id = \(bind: base)").first() != nil else {
                throw DataError.notFound("The knowledge base has no document \(id).")
            }
            let removed = try await sql.raw("SELECT id FROM knowledge_chunks WHERE document_id = \(bind: id)").all()
                .map { try $0.decode(column: "id", as: Int.self) }
            try await sql.raw("DELETE FROM knowledge_chunks WHERE document_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM knowledge_documents WHERE id = \(bind: id)").run()
            try await sql.raw("UPDATE knowledge_bases SET updated_at = \(bind: time) WHERE id = \(bind: base)").run()
            return removed
        }
    }

    /// The chunks of one document in order.
    public func chunks(document: Int) async throws -> [KnowledgeChunkRecord] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT id, base_id, document_id, position, heading_path, text, item_id, contributor FROM knowledge_chunks
                WHERE document_id = \(bind: document) ORDER BY position
                """).all().map(Self.chunk)
        }
    }

    /// The chunks with these ids (any order; missing ids are left out).
    public func chunks(ids: [Int]) async throws -> [KnowledgeChunkRecord] {
        guard !ids.isEmpty else { return [] }
        let list = ids.map(String.init).joined(separator: ",")
        return try await database.read { sql in
            // The ids are integers formatted here, never caller text.
            try await sql.raw("""
                SELECT id, base_id, document_id, position, heading_path, text, item_id, contributor FROM knowledge_chunks
                WHERE id IN (\(unsafeRaw: list))
                """).all().map(Self.chunk)
        }
    }

    /// Every chunk of a base with its indexed text and embedding, for building its indexes, `pageSize` rows at a time.
    public func indexRows(base: Int, after: Int = 0, pageSize: Int = 2000) async throws -> [(chunk: KnowledgeChunkRecord, embedding: [Float])] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT id, base_id, document_id, position, heading_path, text, item_id, contributor, embedding FROM knowledge_chunks
                WHERE base_id = \(bind: base) AND id > \(bind: after) ORDER BY id LIMIT \(bind: pageSize)
                """).all().map { row in
                (try Self.chunk(row), Self.decode(try row.decode(column: "embedding", as: String.self)))
            }
        }
    }

    /// Records the chunks an answer was given.
    public func recordUse(owner: User, completionID: String, chunkIDs: [Int]) async throws {
        let time = stamp
        let list = "[" + chunkIDs.map(String.init).joined(separator: ",") + "]"
        try await database.write { sql in
            try await sql.raw("""
                INSERT INTO knowledge_uses (owner_id, completion_id, chunk_ids, created_at)
                VALUES (\(bind: owner.id), \(bind: completionID), \(bind: list), \(bind: time))
                """).run()
        }
    }

    /// Who asked for a completion and the chunk ids it was given, in prompt order, if it used any.
    public func use(completionID: String) async throws -> (ownerID: Int, chunkIDs: [Int])? {
        try await database.read { sql in
            guard let row = try await sql.raw("SELECT owner_id, chunk_ids FROM knowledge_uses WHERE completion_id = \(bind: completionID)").first() else {
                return nil
            }
            let ids = try JSONDecoder().decode([Int].self, from: Data(try row.decode(column: "chunk_ids", as: String.self).utf8))
            return (try row.decode(column: "owner_id", as: Int.self), ids)
        }
    }

    /// An embedding as base64 of little-endian float32.
    static func encode(_ vector: [Float]) -> String {
        var bytes = Data(capacity: vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes.base64EncodedString()
    }

    /// The inverse of `encode` (an unreadable value gives an empty vector, which the index rejects).
    static func decode(_ text: String) -> [Float] {
        guard let bytes = Data(base64Encoded: text), bytes.count % 4 == 0 else { return [] }
        return stride(from: 0, to: bytes.count, by: 4).map { offset in
            Float(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
    }
}
