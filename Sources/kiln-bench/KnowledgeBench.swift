// `kiln-bench knowledge`: Kiln's retrieval beside the libraries people use for it, all in one run on this CPU.
//   ann        HNSW on 100,000 random 384-d unit vectors and on 100,000 real all-MiniLM-L6-v2 embeddings (Python's docs),
//              Kiln vs hnswlib vs faiss-cpu with the same M, efConstruction and threads: build time, recall@10 against
//              exact search over an ef sweep, and queries/s at the cheapest ef that reaches recall 0.95.
//   embed      sentences/s of Kiln's embedder vs sentence-transformers on the same sentences and batch size.
//   retrieval  known-item search over python3-doc (≥ 1,000 queries): nDCG@10 and recall@10 of Kiln's BM25, dense and
//              hybrid search beside rank_bm25 and sentence-transformers + faiss.
// The baselines run in .venv-bench (scripts/bench-setup) through tools/knowledge_peer.py.
import ArgumentParser
import Foundation
import KilnKnowledge
import KilnModels
import KilnTensor

struct KnowledgeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knowledge",
                                                    abstract: "HNSW vs hnswlib and faiss, embedding vs sentence-transformers, retrieval quality.")

    @Option(help: "Vectors in each HNSW dataset.")
    var count = 100_000
    @Option(help: "Queries of the HNSW datasets.")
    var queries = 1000
    @Option(help: "HNSW M (every library).")
    var m = 16
    @Option(name: .customLong("ef-construction"), help: "HNSW efConstruction (every library).")
    var efConstruction = 200
    @Option(help: "The ef values of the sweep.")
    var efs = "10,16,24,32,48,64,96,128,192,256,384,512"
    @Option(help: "HNSW datasets: random, minilm (comma-separated).")
    var datasets = "random,minilm"
    @Option(help: "Parts to run: ann, embed, retrieval (comma-separated).")
    var parts = "ann,embed,retrieval"
    @Option(name: .customLong("retrieval-queries"), help: "Known-item queries of the retrieval benchmark.")
    var retrievalQueries = 1500
    @Option(help: "Where embeddings and peer files are cached between runs.")
    var cache = ".build-bench/knowledge"

    static let python = ".venv-bench/bin/python"

    func run() async throws {
        if !FileManager.default.isExecutableFile(atPath: Self.python) {
            guard try PeerProcess.run(["./scripts/bench-setup"]).status == 0 else { throw ValidationError("scripts/bench-setup failed") }
        }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        guard let folder = DefaultEmbedder.locate() else { throw ValidationError("The embedder is not installed: run ./scripts/setup.") }
        let embedder = try SentenceEmbedder(folder: folder, name: DefaultEmbedder.name)
        print("Knowledge benchmark: \(Parallel.cores) threads for every library, M \(m), efConstruction \(efConstruction)")
        let wanted = Set(parts.split(separator: ",").map(String.init))
        var corpus: PythonDocsCorpus?
        func docs() throws -> PythonDocsCorpus {
            if let corpus { return corpus }
            let loaded = try PythonDocsCorpus.load()
            print("python3-doc: \(loaded.sections.count) sections")
            corpus = loaded
            return loaded
        }
        let sets = Set(datasets.split(separator: ",").map(String.init))
        if wanted.contains("ann"), sets.contains("random") {
            let (data, queryVectors) = randomUnitVectors(count: count, queries: queries)
            try annComparison("random", data: data, queries: queryVectors)
        }
        if wanted.contains("ann"), sets.contains("minilm") {
            let texts = try docs().texts(count + queries)
            guard texts.count == count + queries else { throw ValidationError("python3-doc gave only \(texts.count) texts") }
            let vectors = try cachedEmbeddings(texts, embedder: embedder, name: "minilm-\(texts.count)")
            try annComparison("MiniLM", data: Array(vectors[..<(count * 384)]), queries: Array(vectors[(count * 384)...]))
        }
        if wanted.contains("embed") { try embeddingThroughput(try docs().texts(2000), embedder: embedder, folder: folder) }
        if wanted.contains("retrieval") { try retrieval(try docs(), embedder: embedder, folder: folder) }
    }

    /// Unit vectors uniform on the sphere (normalised Gaussians, Box–Muller) from a fixed seed.
    func randomUnitVectors(count: Int, queries: Int) -> ([Float], [Float]) {
        var state: UInt64 = 42
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        func vectors(_ n: Int) -> [Float] {
            var out = [Float](repeating: 0, count: n * 384)
            for row in 0..<n {
                var norm: Float = 0
                for j in stride(from: 0, to: 384, by: 2) {
                    let r = (-2 * log(uniform())).squareRoot(), angle = 2 * Double.pi * uniform()
                    out[row * 384 + j] = Float(r * cos(angle))
                    out[row * 384 + j + 1] = Float(r * sin(angle))
                }
                for j in 0..<384 { norm += out[row * 384 + j] * out[row * 384 + j] }
                let scale = 1 / norm.squareRoot()
                for j in 0..<384 { out[row * 384 + j] *= scale }
            }
            return out
        }
        return (vectors(count), vectors(queries))
    }

    /// Embeddings of `texts`, read from the cache when an earlier run made them.
    func cachedEmbeddings(_ texts: [String], embedder: SentenceEmbedder, name: String) throws -> [Float] {
        let url = URL(fileURLWithPath: cache).appendingPathComponent(name + ".f32")
        if let data = try? Data(contentsOf: url), data.count == texts.count * 384 * 4 {
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        var out: [Float] = []
        out.reserveCapacity(texts.count * 384)
        let began = Date()
        for start in stride(from: 0, to: texts.count, by: 4096) {
            out += try embedder.embed(Array(texts[start..<min(start + 4096, texts.count)]), batchSize: 64).flatMap { $0 }
            let done = min(start + 4096, texts.count)
            // Progress goes to standard error, unbuffered, so it shows while standard output is a file.
            FileHandle.standardError.write(Data("  embedding \(name): \(done)/\(texts.count), \(fixed(Double(done) / Date().timeIntervalSince(began), 0)) texts/s\n".utf8))
        }
        try out.withUnsafeBytes { try Data($0).write(to: url) }
        return out
    }

    func write(_ values: [Float], _ name: String) throws -> String {
        let path = cache + "/" + name
        try values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
        return path
    }

    /// One dataset through Kiln, hnswlib and faiss.
    func annComparison(_ name: String, data: [Float], queries: [Float]) throws {
        let n = data.count / 384, q = queries.count / 384
        print("\n## HNSW on \(n) \(name) vectors (384-d), \(q) queries, recall@10 against exact search")
        let dataPath = try write(data, "\(name)-data.f32"), queryPath = try write(queries, "\(name)-queries.f32")
        let truthPath = cache + "/\(name)-truth.i32"
        let (status, output) = try PeerProcess.run([Self.python, "tools/knowledge_peer.py", "ann", "--vectors", dataPath, "--queries", queryPath,
                                                    "--truth", truthPath, "--m", "\(m)", "--ef-construction", "\(efConstruction)",
                                                    "--efs", efs, "--threads", "\(Parallel.cores)"])
        guard status == 0, let line = output.split(separator: "\n").last,
              let peers = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [String: Any]] else {
            throw ValidationError("tools/knowledge_peer.py ann failed: \(output.suffix(400))")
        }
        let truthData = try Data(contentsOf: URL(fileURLWithPath: truthPath))
        let truth: [Set<Int64>] = truthData.withUnsafeBytes { raw in
            let ids = raw.bindMemory(to: Int32.self)
            return (0..<q).map { row in Set((0..<10).map { Int64(ids[row * 10 + $0]) }) }
        }
        let index = try HNSWIndex(dimension: 384, parameters: HNSWParameters(m: m, efConstruction: efConstruction))
        let began = Date()
        try index.add(labels: (0..<n).map(Int64.init), vectors: data)
        let build = Date().timeIntervalSince(began)
        var sweep: [(ef: Int, recall: Double, qps: Double)] = []
        for ef in efs.split(separator: ",").compactMap({ Int($0) }) {
            var best = 0.0
            var hits: [[HNSWHit]] = []
            for _ in 0..<2 {
                let started = Date()
                hits = try index.search(batch: queries, k: 10, ef: max(ef, 10))
                best = max(best, Double(q) / Date().timeIntervalSince(started))
            }
            let found = zip(hits, truth).reduce(0) { total, pair in total + pair.0.filter { pair.1.contains($0.label) }.count }
            sweep.append((ef, Double(found) / Double(10 * q), best))
        }
        var rows: [(String, Double, [(ef: Int, recall: Double, qps: Double)])] = [("Kiln", build, sweep)]
        for library in ["hnswlib", "faiss"] {
            guard let result = peers[library], let seconds = result["build_s"] as? Double, let points = result["sweep"] as? [[String: Any]] else { continue }
            rows.append((library, seconds, points.map { (($0["ef"] as? Int) ?? 0, ($0["recall"] as? Double) ?? 0, ($0["qps"] as? Double) ?? 0) }))
        }
        print("| library | build s | recall@10 at ef 64 | cheapest ef with recall ≥ 0.95 | its recall | queries/s there |")
        print("|---|---:|---:|---:|---:|---:|")
        var qpsAt95: [String: Double] = [:]
        for (library, seconds, points) in rows {
            let at64 = points.first { $0.ef == 64 }?.recall ?? .nan
            let good = points.filter { $0.recall >= 0.95 }
            let best = good.max { $0.qps < $1.qps }
            qpsAt95[library] = best?.qps
            print("| \(library) | \(fixed(seconds, 1)) | \(fixed(at64, 3)) | \(best.map { "\($0.ef)" } ?? "–") | \(best.map { fixed($0.recall, 3) } ?? "–") | \(best.map { fixed($0.qps, 0) } ?? "–") |")
        }
        if let kiln = qpsAt95["Kiln"], let hnswlib = qpsAt95["hnswlib"], let hnswBuild = rows.first(where: { $0.0 == "hnswlib" })?.1 {
            print("Kiln/hnswlib: \(fixed(kiln / hnswlib, 2))× the queries/s at recall ≥ 0.95, \(fixed(build / hnswBuild, 2))× the build time")
        }
        print("sweep (ef: recall / queries/s):")
        for (library, _, points) in rows {
            print("  \(library): " + points.map { "\($0.ef): \(fixed($0.recall, 3))/\(fixed($0.qps, 0))" }.joined(separator: "  "))
        }
    }

    /// Sentences per second, Kiln and sentence-transformers, on the same sentences with batch 32.
    func embeddingThroughput(_ sentences: [String], embedder: SentenceEmbedder, folder: URL) throws {
        print("\n## Embedding throughput: \(sentences.count) sentences of Python's docs, batch 32")
        _ = try embedder.embed(Array(sentences.prefix(64)), batchSize: 32)
        var kiln = 0.0
        for _ in 0..<2 {
            let began = Date()
            _ = try embedder.embed(sentences, batchSize: 32)
            kiln = max(kiln, Double(sentences.count) / Date().timeIntervalSince(began))
        }
        let path = cache + "/embed-sentences.json"
        try JSONSerialization.data(withJSONObject: sentences).write(to: URL(fileURLWithPath: path))
        let (status, output) = try PeerProcess.run([Self.python, "tools/knowledge_peer.py", "embed", "--sentences", path, "--model", folder.path,
                                                    "--batch", "32", "--threads", "\(Parallel.cores)"])
        guard status == 0, let line = output.split(separator: "\n").last,
              let peer = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let theirs = peer["sentences_per_s"] as? Double else {
            throw ValidationError("tools/knowledge_peer.py embed failed: \(output.suffix(400))")
        }
        print("| embedder | sentences/s |")
        print("|---|---:|")
        print("| Kiln (KilnTensor) | \(fixed(kiln, 0)) |")
        print("| sentence-transformers \(peer["sentence_transformers"] ?? "?") (torch \(peer["torch"] ?? "?")) | \(fixed(theirs, 0)) |")
        print("Kiln/sentence-transformers: \(fixed(kiln / theirs, 2))×")
    }
}
