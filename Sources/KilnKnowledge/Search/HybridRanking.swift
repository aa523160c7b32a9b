// Combining rankings: reciprocal rank fusion (Cormack, Clarke & Büttcher, 2009), which needs no score calibration
// between BM25's unbounded scores and cosine similarities, and maximal marginal relevance (Carbonell & Goldstein,
// 1998) as the optional rerank, which trades a little relevance for chunks that do not repeat each other.

/// Which ranking a search uses.
public enum SearchMode: String, Sendable, Codable, CaseIterable {
    case bm25, dense, hybrid
}

/// One result with what each ranking said of it.
public struct KnowledgeHit: Sendable, Equatable, Codable {
    /// The chunk's id.
    public var id: Int64
    /// The final score: BM25, cosine similarity, or the fused reciprocal-rank score.
    public var score: Double
    /// Its BM25 score and 1-based rank, when BM25 found it.
    public var bm25: Double?
    public var bm25Rank: Int?
    /// Its cosine similarity and 1-based rank, when the dense search found it.
    public var dense: Double?
    public var denseRank: Int?
}

/// Rank fusion and reranking.
public enum HybridRanking {
    /// RRF's constant: 60, as in the paper and in Elasticsearch and Weaviate.
    public static let rrfK = 60.0

    /// Fuses two ranked lists (best first) by Σ 1 / (k + rank); ties keep the lexical order, then the id.
    public static func fuse(lexical: [(id: Int64, score: Double)], dense: [(id: Int64, score: Double)], limit: Int) -> [KnowledgeHit] {
        var hits: [Int64: KnowledgeHit] = [:]
        for (rank, item) in lexical.enumerated() {
            hits[item.id, default: KnowledgeHit(id: item.id, score: 0)].bm25 = item.score
            hits[item.id]!.bm25Rank = rank + 1
            hits[item.id]!.score += 1 / (rrfK + Double(rank + 1))
        }
        for (rank, item) in dense.enumerated() {
            hits[item.id, default: KnowledgeHit(id: item.id, score: 0)].dense = item.score
            hits[item.id]!.denseRank = rank + 1
            hits[item.id]!.score += 1 / (rrfK + Double(rank + 1))
        }
        return hits.values.sorted {
            if $0.score != $1.score { return $0.score > $1.score }
            if ($0.bm25Rank ?? .max) != ($1.bm25Rank ?? .max) { return ($0.bm25Rank ?? .max) < ($1.bm25Rank ?? .max) }
            return $0.id < $1.id
        }.prefix(limit).map { $0 }
    }

    /// Reorders `hits` by maximal marginal relevance: each pick maximises λ·sim(query, c) − (1−λ)·max sim(c, picked),
    /// with similarities from the unit `vectors` of the chunks (a hit without one keeps its place at the end).
    public static func maximalMarginalRelevance(_ hits: [KnowledgeHit], query: [Float], vectors: [Int64: [Float]], lambda: Double = 0.7,
                                                limit: Int) -> [KnowledgeHit] {
        var pool = hits.filter { vectors[$0.id] != nil }
        let rest = hits.filter { vectors[$0.id] == nil }
        var picked: [KnowledgeHit] = []
        func similarity(_ a: [Float], _ b: [Float]) -> Double {
            var sum: Float = 0
            for i in 0..<min(a.count, b.count) { sum += a[i] * b[i] }
            return Double(sum)
        }
        while !pool.isEmpty, picked.count < limit {
            var bestIndex = 0, bestValue = -Double.infinity
            for (index, hit) in pool.enumerated() {
                let vector = vectors[hit.id]!
                let redundancy = picked.map { similarity(vector, vectors[$0.id]!) }.max() ?? 0
                let value = lambda * similarity(query, vector) - (1 - lambda) * redundancy
                if value > bestValue {
                    bestValue = value
                    bestIndex = index
                }
            }
            picked.append(pool.remove(at: bestIndex))
        }
        return Array((picked + rest).prefix(limit))
    }
}
