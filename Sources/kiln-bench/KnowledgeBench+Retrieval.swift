// The retrieval half of `kiln-bench knowledge`: known-item search over Python's documentation. Each query is the first
// sentence of a section, removed from the indexed text; that section is the one relevant answer. Kiln's BM25, dense
// (HNSW over its own embeddings) and hybrid (reciprocal rank fusion) rankings come from the same KnowledgeIndex chat
// uses; rank_bm25 and sentence-transformers + faiss (exact inner product) rank the same documents for the same queries.
import ArgumentParser
import Foundation
import KilnKnowledge
import KilnTensor

extension KnowledgeBench {
    /// nDCG@10 and recall@10 with one relevant document per query.
    static func metrics(_ ranked: [[Int64]], relevant: [Int]) -> (ndcg: Double, recall: Double) {
        var ndcg = 0.0, recall = 0.0
        for (ids, answer) in zip(ranked, relevant) {
            guard let rank = ids.prefix(10).firstIndex(of: Int64(answer)) else { continue }
            ndcg += 1 / log2(Double(rank) + 2)
            recall += 1
        }
        return (ndcg / Double(relevant.count), recall / Double(relevant.count))
    }

    func retrieval(_ corpus: PythonDocsCorpus, embedder: SentenceEmbedder, folder: URL) throws {
        let (documents, queries) = corpus.knownItems(limit: retrievalQueries)
        print("\n## Known-item retrieval over python3-doc: \(documents.count) sections, \(queries.count) queries (a section's first sentence)")
        guard queries.count >= 1000 else { throw ValidationError("only \(queries.count) known-item queries") }
        let corpusPath = cache + "/retrieval-corpus.json"
        let body: [String: Any] = ["documents": documents, "queries": queries.map { ["text": $0.text, "document": $0.document] }]
        try JSONSerialization.data(withJSONObject: body).write(to: URL(fileURLWithPath: corpusPath))

        let documentVectors = try cachedEmbeddings(documents, embedder: embedder, name: "retrieval-documents-\(documents.count)")
        let began = Date()
        let queryVectors = try embedder.embed(queries.map(\.text), batchSize: 64)
        let index = try KnowledgeIndex(dimension: 384, hnsw: HNSWParameters(m: m, efConstruction: efConstruction))
        try index.add(documents.enumerated().map { offset, text in
            (id: Int64(offset), text: text, vector: Array(documentVectors[(offset * 384)..<((offset + 1) * 384)]))
        })
        var results: [(String, Double, Double)] = []
        for mode in SearchMode.allCases {
            let ranked = try zip(queries, queryVectors).map { query, vector in
                try index.search(text: query.text, vector: vector, mode: mode, limit: 10, ef: 256).map(\.id)
            }
            let score = Self.metrics(ranked, relevant: queries.map(\.document))
            results.append(("Kiln \(mode.rawValue)", score.ndcg, score.recall))
        }
        let kilnSeconds = Date().timeIntervalSince(began)
        let (status, output) = try PeerProcess.run([Self.python, "tools/knowledge_peer.py", "retrieval", "--corpus", corpusPath, "--model", folder.path,
                                                    "--threads", "\(Parallel.cores)"])
        guard status == 0, let line = output.split(separator: "\n").last,
              let peers = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [String: Any]] else {
            throw ValidationError("tools/knowledge_peer.py retrieval failed: \(output.suffix(400))")
        }
        for (name, key) in [("rank_bm25 BM25Okapi", "rank_bm25"), ("sentence-transformers + faiss (exact)", "sentence_transformers_faiss")] {
            if let result = peers[key], let ndcg = result["ndcg10"] as? Double, let recall = result["recall10"] as? Double {
                results.append((name, ndcg, recall))
            }
        }
        print("| ranking | nDCG@10 | recall@10 |")
        print("|---|---:|---:|")
        for (name, ndcg, recall) in results { print("| \(name) | \(fixed(ndcg, 4)) | \(fixed(recall, 4)) |") }
        let byName = Dictionary(results.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        if let hybrid = byName["Kiln hybrid"], let bm25 = byName["Kiln bm25"], let dense = byName["Kiln dense"] {
            print("hybrid − best part: \(fixed(hybrid - max(bm25, dense), 4)) nDCG@10 (\(hybrid > max(bm25, dense) ? "hybrid beats both" : "hybrid does NOT beat both"))")
        }
        print("(Kiln: queries embedded, \(documents.count) documents indexed and \(3 * queries.count) searches in \(fixed(kilnSeconds, 1)) s)")
    }
}
