// Knowledge bases on a node: documents in, chunks embedded and stored, indexes kept in memory and the HNSW graph on
// disk under DATA/knowledge/<base id>/graph.hnsw. The database is the truth: a graph file that misses chunks (a crash
// after a commit) or holds removed ones is patched from it on load. Embedding and index work is seconds of CPU, so it
// runs on one queue of its own, never on the executors that answer requests; loads and changes take one async lock,
// so an index never misses a change that committed while it was being built.
import Foundation
import KilnData
import KilnKnowledge
import KilnModels
import KilnStore
import KilnTrain
import Logging

/// A base's settings, stored as JSON in its row.
struct KnowledgeSettings: Codable, Sendable, Equatable {
    var chunking = ChunkingOptions()
    var bm25 = BM25Parameters()
    var hnsw = HNSWParameters()

    init() {}

    static func decode(_ text: String) -> KnowledgeSettings {
        (try? JSONDecoder().decode(KnowledgeSettings.self, from: Data(text.utf8))) ?? KnowledgeSettings()
    }

    var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self) }
}

/// A retrieved chunk with its document and scores.
struct RetrievedChunk: Sendable {
    var chunk: KnowledgeChunkRecord
    var document: KnowledgeDocumentRecord?
    var base: KnowledgeBaseRecord
    var hit: KnowledgeHit
}

/// The node's knowledge bases.
final class KnowledgeService: @unchecked Sendable {
    let store: KnowledgeStore
    let folder: URL
    let embedderFolder: URL?
    let logger = Logger(label: "kiln.knowledge")
    private let changes = AsyncLock()
    private let queue = DispatchQueue(label: "kiln.knowledge", qos: .userInitiated)
    private let state = NSLock()
    private var loadedEmbedder: SentenceEmbedder?
    private var indexes: [Int: KnowledgeIndex] = [:]
    /// The most bytes one document may have.
    static let maxDocumentBytes = 32 << 20

    /// A service over `store`, its graphs under `folder`, embedding with the model in `embedderFolder`.
    init(store: KnowledgeStore, folder: URL, embedderFolder: URL? = DefaultEmbedder.locate()) {
        self.store = store
        self.folder = folder
        self.embedderFolder = embedderFolder
    }

    /// Runs CPU work on the knowledge queue.
    func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The sentence embedder, loaded on first use (on the queue).
    func embedder() throws -> SentenceEmbedder {
        if let loaded = state.withLock({ loadedEmbedder }) { return loaded }
        guard let embedderFolder else {
            throw DataError.unprocessable(code: "embedder_missing", message: """
                The sentence embedder \(DefaultEmbedder.name) is not installed: run ./scripts/setup, or set \(DefaultEmbedder.environmentKey) \
                to its folder.
                """)
        }
        do {
            let made = try SentenceEmbedder(folder: embedderFolder, name: DefaultEmbedder.name)
            state.withLock { loadedEmbedder = made }
            return made
        } catch {
            throw DataError.unprocessable(code: "embedder_unreadable", message: "The sentence embedder could not be loaded: \(error)")
        }
    }

    /// Unit embeddings of `texts` (on the queue).
    func embed(_ texts: [String]) async throws -> [[Float]] {
        try await onQueue { try self.embedder().embed(texts) }
    }

    /// Where a node keeps its graphs: DATA/knowledge.
    static func folder(in data: URL) -> URL { data.appendingPathComponent("knowledge", isDirectory: true) }

    func graphURL(_ base: Int) -> URL { folder.appendingPathComponent("\(base)", isDirectory: true).appendingPathComponent("graph.hnsw") }

    /// The base's index, built or loaded on first use.
    func index(_ base: KnowledgeBaseRecord) async throws -> KnowledgeIndex {
        if let cached = state.withLock({ indexes[base.id] }) { return cached }
        return try await changes.withLock { try await self.indexHoldingLock(base) }
    }

    /// `index` for a caller that holds `changes`.
    private func indexHoldingLock(_ base: KnowledgeBaseRecord) async throws -> KnowledgeIndex {
        if let cached = state.withLock({ indexes[base.id] }) { return cached }
        let settings = KnowledgeSettings.decode(base.settings)
        var rows: [(chunk: KnowledgeChunkRecord, embedding: [Float])] = []
        while true {
            let page = try await store.indexRows(base: base.id, after: rows.last?.chunk.id ?? 0)
            rows += page
            if page.count < 2000 { break }
        }
        let url = graphURL(base.id)
        let stored = rows
        let built: KnowledgeIndex = try await onQueue {
            let rows = stored
            let dimension = rows.first?.embedding.count ?? 384
            let lexical = rows.map { (id: Int64($0.chunk.id), text: DocumentChunk(position: 0, headingPath: $0.chunk.headingPath, text: $0.chunk.text).indexedText) }
            if let graph = try? HNSWIndex.load(from: url), graph.parameters.m == settings.hnsw.m, rows.isEmpty || graph.dimension == dimension {
                let index = KnowledgeIndex(graph: graph, bm25: settings.bm25)
                index.addLexical(lexical)
                let stored = Set(rows.map { Int64($0.chunk.id) }), inGraph = index.denseIDs
                let missing = rows.filter { !inGraph.contains(Int64($0.chunk.id)) }
                index.remove(Array(inGraph.subtracting(stored)))
                try index.addDense(missing.map { (id: Int64($0.chunk.id), vector: $0.embedding) })
                if !missing.isEmpty || inGraph.count != stored.count { try index.saveGraph(to: url) }
                return index
            }
            let index = try KnowledgeIndex(dimension: dimension, bm25: settings.bm25, hnsw: settings.hnsw)
            try index.add(zip(rows, lexical).map { (id: $0.1.id, text: $0.1.text, vector: $0.0.embedding) })
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try index.saveGraph(to: url)
            return index
        }
        state.withLock { indexes[base.id] = built }
        return built
    }

    /// Reads, chunks, embeds and stores a document, replacing one of the same name; then updates the indexes.
    func addDocument(base: KnowledgeBaseRecord, name: String, data: Data, format: DocumentFormat) async throws -> KnowledgeStore.DocumentChange {
        guard data.count <= Self.maxDocumentBytes else {
            throw DataError.tooLarge(limit: Self.maxDocumentBytes, message: "A document may be at most \(Self.maxDocumentBytes >> 20) MiB.")
        }
        let settings = KnowledgeSettings.decode(base.settings)
        let prepared: [NewKnowledgeChunk] = try await onQueue {
            let blocks: [DocumentBlock]
            do {
                blocks = try DocumentText.blocks(data, format: format)
            } catch {
                throw DataError.unprocessable(code: "unreadable_document", message: String(describing: error))
            }
            return try self.prepare(blocks: blocks, settings: settings)
        }
        let document = KnowledgeStore.NewDocument(name: name, format: format.rawValue, sha256: FileHash.sha256(data), byteCount: data.count,
                                                  chunks: prepared)
        return try await store(document, base: base)
    }

    /// Chunks and embeds blocks (on the queue).
    func prepare(blocks: [DocumentBlock], settings: KnowledgeSettings) throws -> [NewKnowledgeChunk] {
        let embedder = try embedder()
        let chunker = Chunker(options: settings.chunking) { max(0, embedder.tokenCount($0) - 2) }
        let chunks = chunker.chunks(blocks)
        let vectors = try embedder.embed(chunks.map(\.indexedText))
        return zip(chunks, vectors).map {
            NewKnowledgeChunk(position: $0.position, headingPath: $0.headingPath, text: $0.text, embedding: $1)
        }
    }

    /// Commits a prepared document and applies the change to the loaded index.
    func store(_ document: KnowledgeStore.NewDocument, base: KnowledgeBaseRecord) async throws -> KnowledgeStore.DocumentChange {
        guard !document.chunks.isEmpty else { throw DataError.unprocessable(code: "empty_document", message: "The document has no text.") }
        return try await changes.withLock {
            let index = try await self.indexHoldingLock(base)
            let change = try await self.store.put(document, base: base.id)
            let url = self.graphURL(base.id)
            try await self.onQueue {
                index.remove(change.removedChunkIDs.map(Int64.init))
                try index.add(zip(change.addedChunkIDs, document.chunks).map {
                    (id: Int64($0), text: DocumentChunk(position: $1.position, headingPath: $1.headingPath, text: $1.text).indexedText, vector: $1.embedding)
                })
                try index.saveGraph(to: url)
            }
            return change
        }
    }

    /// Removes a document from the store and the index.
    func removeDocument(base: KnowledgeBaseRecord, document: Int) async throws {
        try await changes.withLock {
            let index = try await self.indexHoldingLock(base)
            let removed = try await self.store.removeDocument(document, base: base.id)
            let url = self.graphURL(base.id)
            try await self.onQueue {
                index.remove(removed.map(Int64.init))
                try index.saveGraph(to: url)
            }
        }
    }

    /// Deletes a base, its rows and its graph file.
    func deleteBase(_ base: KnowledgeBaseRecord) async throws {
        try await changes.withLock {
            try await self.store.delete(base.id)
            _ = self.state.withLock { self.indexes.removeValue(forKey: base.id) }
            try? FileManager.default.removeItem(at: self.graphURL(base.id).deletingLastPathComponent())
        }
    }

    /// The best `limit` chunks across `bases` for a query, each base searched alone and the lists merged by score.
    func search(_ query: String, bases: [KnowledgeBaseRecord], mode: SearchMode, limit: Int, rerank: Bool = false) async throws -> [RetrievedChunk] {
        let query = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty, !bases.isEmpty else { return [] }
        let vector = mode == .bm25 && !rerank ? nil : try await embed([query]).first
        var hits: [(KnowledgeBaseRecord, KnowledgeHit)] = []
        for base in bases {
            let index = try await index(base)
            let found = try await onQueue { try index.search(text: query, vector: vector, mode: mode, limit: limit, rerank: rerank) }
            hits += found.map { (base, $0) }
        }
        if bases.count > 1 { hits.sort { $0.1.score > $1.1.score } }
        hits = Array(hits.prefix(limit))
        let records = Dictionary(try await store.chunks(ids: hits.map { Int($0.1.id) }).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var documents: [Int: KnowledgeDocumentRecord] = [:]
        var out: [RetrievedChunk] = []
        for (base, hit) in hits {
            guard let chunk = records[Int(hit.id)] else { continue }
            if documents[chunk.documentID] == nil { documents[chunk.documentID] = try await store.document(chunk.documentID, base: base.id) }
            out.append(RetrievedChunk(chunk: chunk, document: documents[chunk.documentID], base: base, hit: hit))
        }
        return out
    }
}
