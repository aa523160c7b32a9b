// One knowledge base's search structures in memory: the BM25 inverted index and the HNSW graph over the same chunk
// ids. The database holds the chunks and their embeddings; this is rebuilt or patched from it, so it never has to be
// the only copy of anything.
import Foundation

/// The lexical and dense indexes of one knowledge base, safe to search from many tasks while one changes it.
public final class KnowledgeIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var lexical: BM25Index
    private let dense: HNSWIndex

    /// An empty index for `dimension`-long embeddings.
    public init(dimension: Int, bm25: BM25Parameters = BM25Parameters(), hnsw: HNSWParameters = HNSWParameters()) throws(HNSWError) {
        lexical = BM25Index(parameters: bm25)
        dense = try HNSWIndex(dimension: dimension, parameters: hnsw)
    }

    /// An index around a graph loaded from disk; the lexical side is filled by `addLexical`.
    public init(graph: HNSWIndex, bm25: BM25Parameters) {
        lexical = BM25Index(parameters: bm25)
        dense = graph
    }

    /// The ids the graph holds, for reconciling it with the database.
    public var denseIDs: Set<Int64> { lock.withLock { Set(dense.liveLabels) } }

    /// Adds (or replaces) chunks in both indexes.
    public func add(_ chunks: [(id: Int64, text: String, vector: [Float])]) throws {
        try lock.withLock {
            try dense.add(labels: chunks.map(\.id), vectors: chunks.flatMap(\.vector))
            lexical.remove(chunks.map { Int($0.id) })
            lexical.add(chunks.map { (id: Int($0.id), text: $0.text) })
        }
    }

    /// Adds chunks to the lexical index alone (the graph already has them, mapped from disk).
    public func addLexical(_ chunks: [(id: Int64, text: String)]) {
        lock.withLock { lexical.add(chunks.map { (id: Int($0.id), text: $0.text) }) }
    }

    /// Adds vectors to the graph alone (those the file on disk missed).
    public func addDense(_ chunks: [(id: Int64, vector: [Float])]) throws {
        try lock.withLock { try dense.add(labels: chunks.map(\.id), vectors: chunks.flatMap(\.vector)) }
    }

    /// Removes chunks from both indexes.
    public func remove(_ ids: [Int64]) {
        lock.withLock {
            dense.remove(ids)
            lexical.remove(ids.map(Int.init))
        }
    }

    /// The stored embedding of a chunk.
    public func vector(_ id: Int64) -> [Float]? { lock.withLock { dense.vector(id) } }

    /// Writes the graph to `url` (the lexical index is rebuilt from the chunk texts on load: it takes milliseconds).
    public func saveGraph(to url: URL) throws { try lock.withLock { try dense.save(to: url) } }

    /// The best `limit` chunks for a query: its text for BM25, its unit embedding for the graph.
    /// Hybrid fuses the two lists (each `depth` long) by reciprocal rank; `rerank` reorders the result by MMR.
    public func search(text: String, vector: [Float]?, mode: SearchMode, limit: Int, depth: Int? = nil, ef: Int? = nil,
                       rerank: Bool = false) throws -> [KnowledgeHit] {
        let limit = max(1, limit)
        let depth = max(depth ?? max(limit * 5, 50), limit)
        return try lock.withLock { () throws -> [KnowledgeHit] in
            let lexicalList: [(id: Int64, score: Double)] = mode == .dense ? [] : lexical.search(text, limit: depth).map { (Int64($0.id), $0.score) }
            var denseList: [(id: Int64, score: Double)] = []
            if mode != .bm25, let vector {
                denseList = try dense.search(vector, k: depth, ef: max(ef ?? dense.parameters.efSearch, depth)).map { ($0.label, Double($0.score)) }
            }
            var hits: [KnowledgeHit]
            switch mode {
            case .bm25:
                hits = lexicalList.prefix(rerank ? depth : limit).enumerated().map {
                    KnowledgeHit(id: $0.element.id, score: $0.element.score, bm25: $0.element.score, bm25Rank: $0.offset + 1)
                }
            case .dense:
                hits = denseList.prefix(rerank ? depth : limit).enumerated().map {
                    KnowledgeHit(id: $0.element.id, score: $0.element.score, dense: $0.element.score, denseRank: $0.offset + 1)
                }
            case .hybrid:
                hits = HybridRanking.fuse(lexical: lexicalList, dense: denseList, limit: rerank ? depth : limit)
                // Each list's figure for a chunk the other list found beyond its depth, so the page shows both.
                for index in hits.indices {
                    if hits[index].dense == nil, let vector, let stored = dense.vector(hits[index].id) {
                        hits[index].dense = Double(HNSWIndex.dot(vector, stored, min(vector.count, stored.count)))
                    }
                }
            }
            guard rerank, let vector else { return Array(hits.prefix(limit)) }
            var vectors: [Int64: [Float]] = [:]
            for hit in hits { vectors[hit.id] = dense.vector(hit.id) }
            return HybridRanking.maximalMarginalRelevance(hits, query: vector, vectors: vectors, limit: limit)
        }
    }
}
