// The JSON shapes of knowledge bases, documents, chunks and search results (snake_case on the wire).
import Foundation
import KilnData
import KilnKnowledge

/// A knowledge base as the API shows it.
struct KnowledgeBaseBody: Encodable {
    var id: Int
    var name: String
    var description: String
    var owner_id: Int?
    var is_public: Bool
    var is_builtin: Bool
    var editable: Bool
    var embedder: String
    var document_count: Int
    var chunk_count: Int
    var max_tokens: Int
    var overlap_tokens: Int
    var k1: Double
    var b: Double
    var m: Int
    var ef_construction: Int
    var ef_search: Int
    var created_at: String
    var updated_at: String
    var documents: [KnowledgeDocumentBody]?

    init(_ base: KnowledgeBaseRecord, viewer: User) {
        let settings = KnowledgeSettings.decode(base.settings)
        (id, name, description, owner_id, is_public, is_builtin) = (base.id, base.name, base.description, base.ownerID, base.isPublic, base.isBuiltin)
        editable = base.editable(by: viewer)
        embedder = base.embedder
        (document_count, chunk_count) = (base.documentCount, base.chunkCount)
        (max_tokens, overlap_tokens) = (settings.chunking.maxTokens, settings.chunking.overlapTokens)
        (k1, b) = (settings.bm25.k1, settings.bm25.b)
        (m, ef_construction, ef_search) = (settings.hnsw.m, settings.hnsw.efConstruction, settings.hnsw.efSearch)
        created_at = ISO8601.string(milliseconds: base.createdAt)
        updated_at = ISO8601.string(milliseconds: base.updatedAt)
    }
}

/// A document as the API shows it.
struct KnowledgeDocumentBody: Encodable {
    var id: Int
    var base_id: Int
    var name: String
    var format: String
    var sha256: String
    var bytes: Int
    var datanet_id: Int?
    var version: Int?
    var chunk_count: Int
    var created_at: String
    var chunks: [KnowledgeChunkBody]?

    init(_ document: KnowledgeDocumentRecord) {
        (id, base_id, name, format, sha256, bytes) = (document.id, document.baseID, document.name, document.format, document.sha256, document.byteCount)
        (datanet_id, version, chunk_count) = (document.datanetID, document.versionNumber, document.chunkCount)
        created_at = ISO8601.string(milliseconds: document.createdAt)
    }
}

/// A chunk, with its document and, from a search, the scores each ranking gave it.
struct KnowledgeChunkBody: Encodable {
    var id: Int
    var base_id: Int
    var document_id: Int
    var document: String?
    var position: Int
    var heading_path: [String]
    var text: String
    var item_id: Int?
    var contributor: String?
    /// The chunk's page, for a citation link.
    var url: String
    var score: Double?
    var bm25: Double?
    var bm25_rank: Int?
    var dense: Double?
    var dense_rank: Int?

    init(_ chunk: KnowledgeChunkRecord, document: KnowledgeDocumentRecord?) {
        (id, base_id, document_id, position, heading_path, text) = (chunk.id, chunk.baseID, chunk.documentID, chunk.position, chunk.headingPath, chunk.text)
        self.document = document?.name
        (item_id, contributor) = (chunk.itemID, chunk.contributor)
        url = "/knowledge/\(chunk.baseID)/documents/\(chunk.documentID)#chunk-\(chunk.id)"
    }

    init(_ found: RetrievedChunk) {
        self.init(found.chunk, document: found.document)
        score = found.hit.score
        (bm25, bm25_rank, dense, dense_rank) = (found.hit.bm25, found.hit.bm25Rank, found.hit.dense, found.hit.denseRank)
    }
}
