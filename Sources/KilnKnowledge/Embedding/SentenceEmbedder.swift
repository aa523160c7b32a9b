// A sentence-transformers model run on KilnTensor: tokenizer → BERT encoder → pooling → optional L2 normalisation,
// read from the same files sentence-transformers reads (modules.json, sentence_bert_config.json,
// 1_Pooling/config.json). Texts are batched by length, as `SentenceTransformer.encode` sorts them, so a batch pads
// little; results come back in input order.
import Foundation
import KilnModels
import KilnTensor

/// How token states become one vector (sentence-transformers `Pooling`).
public enum PoolingMode: String, Sendable, Equatable {
    /// The average over real tokens.
    case mean
    /// The first token's state ([CLS]).
    case cls
    /// The elementwise maximum over real tokens.
    case max
    /// The sum over real tokens divided by √(token count).
    case meanSqrtLength = "mean_sqrt_len"
}

/// Why an embedding model could not be loaded or run.
public enum EmbedderError: Error, Equatable, CustomStringConvertible {
    /// A file of the model folder is missing or malformed.
    case badModel(String)

    /// A sentence for people.
    public var description: String {
        switch self {
        case .badModel(let reason): "The embedding model cannot be used: \(reason)."
        }
    }
}

/// Turns texts into fixed-size vectors, equal to sentence-transformers' `encode` for the same folder.
public final class SentenceEmbedder: Sendable {
    /// The name the model is served under (`/v1/embeddings`' `model`).
    public let name: String
    /// Vector size.
    public let dimension: Int
    /// Longest input in word pieces, specials included (`max_seq_length`); longer texts are cut.
    public let maxTokens: Int
    /// How token states are pooled.
    public let pooling: PoolingMode
    /// Whether vectors are scaled to unit length (a `Normalize` module).
    public let normalizes: Bool
    let encoder: BertEncoder
    let tokenizer: Tokenizer

    /// Loads a sentence-transformers folder (or a plain BERT folder: then mean pooling, no normalisation, 512 tokens).
    /// - Throws: `EmbedderError`, or the loader's `ConfigError`/`ModelError`/`SafeTensorsError`/`TokenizerError`.
    public init(folder: URL, name: String) throws {
        encoder = try BertEncoder.load(folder: folder)
        tokenizer = try Tokenizer(folder: folder)
        let configuration = encoder.configuration
        var limit = configuration.maxPositions
        if let data = try? Data(contentsOf: folder.appendingPathComponent("sentence_bert_config.json")) {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw EmbedderError.badModel("sentence_bert_config.json is not a JSON object")
            }
            if let value = object["max_seq_length"] as? Int, value > 0 { limit = Swift.min(limit, value) }
        }
        maxTokens = limit
        var mode = PoolingMode.mean
        var normalize = false
        if let data = try? Data(contentsOf: folder.appendingPathComponent("modules.json")) {
            guard let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw EmbedderError.badModel("modules.json is not a list of modules")
            }
            for module in modules {
                let type = module["type"] as? String ?? ""
                if type.hasSuffix(".Normalize") { normalize = true }
                if type.hasSuffix(".Pooling"), let path = module["path"] as? String {
                    mode = try Self.poolingMode(folder.appendingPathComponent(path).appendingPathComponent("config.json"))
                }
            }
        }
        pooling = mode
        normalizes = normalize
        dimension = configuration.hiddenSize
        self.name = name
    }

    /// The pooling module's mode; exactly one mode must be on.
    static func poolingMode(_ url: URL) throws -> PoolingMode {
        guard let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EmbedderError.badModel("\(url.lastPathComponent) of the pooling module is missing or malformed")
        }
        let modes: [(String, PoolingMode)] = [("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
                                              ("pooling_mode_max_tokens", .max), ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLength)]
        let on = modes.filter { object[$0.0] as? Bool == true }.map(\.1)
        guard on.count == 1, let mode = on.first else {
            throw EmbedderError.badModel("the pooling module must turn on exactly one supported mode")
        }
        return mode
    }

    /// The word-piece ids the model reads for `text`, specials included, cut to `maxTokens`.
    public func inputIds(_ text: String) -> [Int] { tokenizer.encode(text, maxLength: maxTokens) }

    /// The number of word pieces of `text` before any cut (for `usage.prompt_tokens`).
    public func tokenCount(_ text: String) -> Int { inputIds(text).count }

    /// One vector per text, in input order; `batchSize` texts of similar length share one forward pass.
    /// - Throws: `ModelError` only for a model whose vocabulary does not cover its own tokenizer.
    public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        let ids = texts.map(inputIds)
        // Longest first, as sentence-transformers orders its batches; ties keep input order.
        let order = ids.indices.sorted { ids[$0].count != ids[$1].count ? ids[$0].count > ids[$1].count : $0 < $1 }
        var result = [[Float]](repeating: [], count: texts.count)
        var start = 0
        while start < order.count {
            let chunk = Array(order[start..<Swift.min(start + Swift.max(1, batchSize), order.count)])
            let vectors = try embedBatch(chunk.map { ids[$0] })
            for (slot, index) in chunk.enumerated() { result[index] = vectors[slot] }
            start += chunk.count
        }
        return result
    }

    /// Vectors for rows of ids, right-padded to the longest row.
    func embedBatch(_ rows: [[Int]]) throws -> [[Float]] {
        let steps = rows.map(\.count).max() ?? 0
        let padded = rows.map { $0 + Array(repeating: 0, count: steps - $0.count) }
        let mask = rows.map { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: steps - $0.count) }
        let states = try encoder.forward(inputIds: padded, attentionMask: mask)
        return rows.indices.map { row in
            var vector = pool(states, row: row, steps: steps, real: rows[row].count)
            if normalizes { Self.normalize(&vector) }
            return vector
        }
    }

    /// Row `row` of states (B, T, C) pooled over its first `real` positions.
    func pool(_ states: Tensor, row: Int, steps: Int, real: Int) -> [Float] {
        let width = dimension
        let base = row * steps * width
        var vector = [Float](repeating: pooling == .max ? -.infinity : 0, count: width)
        let count = pooling == .cls ? 1 : real
        for t in 0..<count {
            let offset = base + t * width
            for i in 0..<width {
                let value = states.storage[offset + i]
                vector[i] = pooling == .max ? Swift.max(vector[i], value) : vector[i] + value
            }
        }
        // sentence-transformers clamps the token count at 1e-9 so an all-pad row divides safely.
        switch pooling {
        case .mean: for i in 0..<width { vector[i] /= Swift.max(Float(real), 1e-9) }
        case .meanSqrtLength: for i in 0..<width { vector[i] /= Float(real).squareRoot() }
        case .cls, .max: break
        }
        return vector
    }

    /// Scales to unit length as `torch.nn.functional.normalize` (norm clamped at 1e-12).
    static func normalize(_ vector: inout [Float]) {
        var sum: Float = 0
        for value in vector { sum += value * value }
        let norm = Swift.max(sum.squareRoot(), 1e-12)
        for i in vector.indices { vector[i] /= norm }
    }
}
