// Port of transformers `src/transformers/models/bert/modeling_bert.py` (BertModel, eager attention, absolute
// positions): the encoder behind sentence embedders such as all-MiniLM-L6-v2. Post-LN blocks: each sublayer's
// output is added to its input and then normalised. Inference only; no pooler (sentence-transformers reads
// `last_hidden_state`).
import Foundation
import KilnTensor

/// The config.json fields a BERT encoder's forward pass reads, validated against what this port implements.
public struct BertConfiguration: Sendable, Equatable {
    /// C (`hidden_size`).
    public var hiddenSize: Int
    /// L (`num_hidden_layers`).
    public var layerCount: Int
    /// H (`num_attention_heads`); head dim D = C / H.
    public var heads: Int
    /// Feed-forward width (`intermediate_size`).
    public var intermediateSize: Int
    /// V (`vocab_size`).
    public var vocabSize: Int
    /// Rows of the position table (`max_position_embeddings`): the longest input.
    public var maxPositions: Int
    /// Rows of the segment table (`type_vocab_size`).
    public var typeVocabSize: Int
    /// LayerNorm epsilon (`layer_norm_eps`).
    public var eps: Float
    /// `hidden_act`: "gelu" → exact, "gelu_new"/"gelu_pytorch_tanh" → tanh.
    public var activation: GELUApproximation

    struct File: Decodable {
        var modelType: String?
        var hiddenSize: Int
        var numHiddenLayers: Int
        var numAttentionHeads: Int
        var intermediateSize: Int
        var vocabSize: Int
        var maxPositionEmbeddings: Int?
        var typeVocabSize: Int?
        var layerNormEps: Double?
        var hiddenAct: String?
        var positionEmbeddingType: String?
        var isDecoder: Bool?

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size", vocabSize = "vocab_size"
            case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
            case layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act"
            case positionEmbeddingType = "position_embedding_type", isDecoder = "is_decoder"
        }
    }

    /// Reads and checks `config.json` at `url`.
    /// - Throws: `ConfigError` for a malformed file, `ModelError` for another family or an unsupported option.
    public static func load(url: URL) throws -> BertConfiguration {
        try BertConfiguration(ConfigError.decodeFile(File.self, url: url))
    }

    init(_ file: File) throws(ModelError) {
        let family = file.modelType ?? "bert"
        guard family == "bert" else { throw .wrongFamily(expected: "bert", found: family) }
        let sizes = [file.hiddenSize, file.numHiddenLayers, file.numAttentionHeads, file.intermediateSize, file.vocabSize]
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
            throw .unsupportedOption(key: "hidden_size", value: "sizes must be positive: \(sizes)")
        }
        guard file.hiddenSize % file.numAttentionHeads == 0 else {
            throw .unsupportedOption(key: "num_attention_heads",
                                     value: "\(file.numAttentionHeads) does not divide hidden_size \(file.hiddenSize)")
        }
        if let kind = file.positionEmbeddingType, kind != "absolute" {
            throw .unsupportedOption(key: "position_embedding_type", value: kind)
        }
        if file.isDecoder == true { throw .unsupportedOption(key: "is_decoder", value: "true") }
        switch file.hiddenAct ?? "gelu" {
        case "gelu": activation = .exact
        case "gelu_new", "gelu_pytorch_tanh": activation = .tanh
        case let other: throw .unsupportedOption(key: "hidden_act", value: other)
        }
        hiddenSize = file.hiddenSize
        layerCount = file.numHiddenLayers
        heads = file.numAttentionHeads
        intermediateSize = file.intermediateSize
        vocabSize = file.vocabSize
        maxPositions = file.maxPositionEmbeddings ?? 512
        typeVocabSize = max(1, file.typeVocabSize ?? 2)
        eps = Float(file.layerNormEps ?? 1e-12)
    }
}

/// One BertLayer: self-attention with its output LayerNorm, then the feed-forward with its own.
struct BertLayer: Sendable {
    var query: LinearLayer, key: LinearLayer, value: LinearLayer
    var attentionOutput: LinearLayer
    var attentionNorm: LayerNormLayer
    var intermediate: LinearLayer
    var output: LinearLayer
    var outputNorm: LayerNormLayer
    var heads: Int
    var activation: GELUApproximation

    /// x (B, T, C) → (B, T, C); keyMask (B·T) is false on padding.
    func forward(_ x: Tensor, keyMask: [Bool]) -> Tensor {
        let options = AttentionOptions(causal: false, keyMask: keyMask)
        let (q, k, v) = (Heads.split(query(x), heads: heads), Heads.split(key(x), heads: heads), Heads.split(value(x), heads: heads))
        let context = Heads.merge(Attention.forward(query: q, key: k, value: v, options: options).0)
        let attended = attentionNorm(FamilyOps.add(attentionOutput(context), x))
        let fed = output(GELU.forward(intermediate(attended), approximation: activation))
        return outputNorm(FamilyOps.add(fed, attended))
    }
}

/// BertModel without its pooler: embeddings, then L post-LN encoder layers; returns `last_hidden_state`.
public struct BertEncoder: Sendable {
    /// The validated configuration.
    public let configuration: BertConfiguration
    let words: Tensor, positions: Tensor, types: Tensor
    let embeddingNorm: LayerNormLayer
    let layers: [BertLayer]

    /// Loads config.json and the checkpoint from an HF BERT folder (`bert.`-prefixed names are accepted too).
    /// - Throws: `ConfigError`, `SafeTensorsError`, or `ModelError` naming a missing or misshapen tensor.
    public static func load(folder: URL) throws -> BertEncoder {
        let configuration = try BertConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let map = try WeightMap(folder: folder)
        var weights: [String: Tensor] = [:]
        // Only floating tensors: the file also holds `embeddings.position_ids` (I64) and maybe a pooler.
        for name in map.names where !name.hasSuffix("position_ids") && !name.contains("pooler.") && !name.hasPrefix("cls.") {
            let key = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
            weights[key] = try map.tensor(name)
        }
        return try BertEncoder(configuration: configuration, weights: weights)
    }

    /// Builds the encoder from HF tensor names without the `bert.` prefix.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public init(configuration: BertConfiguration, weights: [String: Tensor]) throws(ModelError) {
        let c = configuration
        let t = CheckpointTensors(tensors: weights)
        // Old TF-converted checkpoints name LayerNorm's parameters gamma/beta.
        func norm(_ prefix: String) throws(ModelError) -> LayerNormLayer {
            let weight = t.tensors[prefix + ".weight"] != nil ? prefix + ".weight" : prefix + ".gamma"
            let bias = t.tensors[prefix + ".bias"] != nil ? prefix + ".bias" : prefix + ".beta"
            return LayerNormLayer(weight: try t.take(weight, [c.hiddenSize]), bias: try t.take(bias, [c.hiddenSize]), eps: c.eps)
        }
        func linear(_ prefix: String, _ out: Int, _ input: Int) throws(ModelError) -> LinearLayer {
            LinearLayer(weight: .dense(try t.take(prefix + ".weight", [out, input])), bias: try t.take(prefix + ".bias", [out]))
        }
        self.configuration = c
        words = try t.take("embeddings.word_embeddings.weight", [c.vocabSize, c.hiddenSize])
        positions = try t.take("embeddings.position_embeddings.weight", [c.maxPositions, c.hiddenSize])
        types = try t.take("embeddings.token_type_embeddings.weight", [c.typeVocabSize, c.hiddenSize])
        embeddingNorm = try norm("embeddings.LayerNorm")
        var layers: [BertLayer] = []
        for index in 0..<c.layerCount {
            let p = "encoder.layer.\(index)"
            let (width, inner) = (c.hiddenSize, c.intermediateSize)
            layers.append(BertLayer(
                query: try linear(p + ".attention.self.query", width, width),
                key: try linear(p + ".attention.self.key", width, width),
                value: try linear(p + ".attention.self.value", width, width),
                attentionOutput: try linear(p + ".attention.output.dense", width, width),
                attentionNorm: try norm(p + ".attention.output.LayerNorm"),
                intermediate: try linear(p + ".intermediate.dense", inner, width),
                output: try linear(p + ".output.dense", width, inner),
                outputNorm: try norm(p + ".output.LayerNorm"),
                heads: c.heads, activation: c.activation))
        }
        self.layers = layers
    }

    /// ids and mask (B, T), right-padded rows of one length, segment 0 throughout; returns (B, T, C).
    /// Positions are 0..<T whatever the mask, as BertModel's default `position_ids`.
    /// - Throws: `ModelError.invalidInput` for ragged rows, unknown ids, or T past `max_position_embeddings`.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]) throws(ModelError) -> Tensor {
        let c = configuration
        let (batch, steps) = try BatchCheck.dims(ids: inputIds, mask: attentionMask, positions: nil,
                                                 vocabulary: c.vocabSize, maxPosition: c.maxPositions)
        guard steps <= c.maxPositions else {
            throw .invalidInput(reason: "\(steps) tokens exceed max_position_embeddings \(c.maxPositions)")
        }
        var x = Embedding.forward(ids: Array(inputIds.joined()), table: words)
        let place = Embedding.forward(ids: Array(0..<steps), table: positions)
        x.withMutablePointer { xp in
            place.withPointer { pp in
                types.withPointer { tp in
                    for row in 0..<(batch * steps) {
                        let p = pp + (row % steps) * c.hiddenSize
                        // HF's order: words + segment, then + position.
                        for i in 0..<c.hiddenSize { xp[row * c.hiddenSize + i] = (xp[row * c.hiddenSize + i] + tp[i]) + p[i] }
                    }
                }
            }
        }
        x = embeddingNorm(x.reshaped([batch, steps, c.hiddenSize]))
        let keyMask = attentionMask.joined().map { $0 == 1 }
        for layer in layers { x = layer.forward(x, keyMask: keyMask) }
        return x
    }
}
