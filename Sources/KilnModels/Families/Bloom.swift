// Port of transformers `src/transformers/models/bloom/modeling_bloom.py` (v5.24.0, the version that wrote
// Tests/Fixtures/models/bloom): build_alibi_tensor, BloomAttention, BloomMLP, BloomBlock, BloomModel and
// BloomForCausalLM (tied lm_head). The fused query_key_value is per-head interleaved (view(B, T, H, 3, D));
// `sanitize` regroups it as q|k|v so the attention slices it like GPT-2's.
import Foundation
import KilnTensor

// MARK: - Configuration

/// The config.json fields BLOOM's forward pass reads, validated against what this port implements.
public struct BloomConfiguration: Sendable, Equatable {
    /// C (`hidden_size`).
    public var hiddenSize: Int
    /// L (`n_layer`).
    public var layerCount: Int
    /// H (`n_head`); head dim D = C / H.
    public var heads: Int
    /// V (`vocab_size`).
    public var vocabSize: Int
    /// LayerNorm epsilon (`layer_norm_epsilon`).
    public var eps: Float
    /// `apply_residual_connection_post_layernorm` (default false): the residual is the normed input, not the input.
    public var residualPostLayerNorm: Bool
    /// `tie_word_embeddings` (default true): lm_head reuses word_embeddings.
    public var tieWordEmbeddings: Bool

    /// BLOOM-only keys that `ModelConfiguration` does not carry.
    struct Extras: Decodable {
        var residualPostLayerNorm: Bool?

        enum CodingKeys: String, CodingKey {
            case residualPostLayerNorm = "apply_residual_connection_post_layernorm"
        }
    }

    /// Reads and checks `config.json` at `url`.
    /// - Throws: `ConfigError` for a malformed file, `ModelError` for another family or an unsupported option.
    public static func load(url: URL) throws -> BloomConfiguration {
        try BloomConfiguration(ModelConfiguration.load(url: url), extras: ConfigError.decodeFile(Extras.self, url: url))
    }

    init(_ config: ModelConfiguration, extras: Extras) throws(ModelError) {
        guard config.modelType == .bloom else { throw .wrongFamily(expected: "bloom", found: config.modelType.rawValue) }
        guard config.hiddenSize % config.attentionHeads == 0 else {
            throw .unsupportedOption(key: "n_head", value: "\(config.attentionHeads) does not divide hidden_size \(config.hiddenSize)")
        }
        hiddenSize = config.hiddenSize
        layerCount = config.layerCount
        heads = config.attentionHeads
        vocabSize = config.vocabSize
        eps = Float(config.normEps)
        residualPostLayerNorm = extras.residualPostLayerNorm ?? false
        tieWordEmbeddings = config.tieWordEmbeddings
    }
}

// MARK: - Attention

/// BloomAttention: fused query_key_value, scores scaled by 1/√D plus the ALiBi bias, causal and padding mask, dense.
struct BloomAttention: Sendable {
    /// (3C, C) after sanitize: rows 0..<C give q, C..<2C k, 2C..<3C v.
    var queryKeyValue: LinearLayer
    /// (C, C).
    var dense: LinearLayer
    var heads: Int
    /// llama.cpp's float16 attention numerics (`CheckpointTensors.llamaCppNumerics`).
    var halfPrecision = false

    /// x is (B, T, C); alibi (B, H, Tk) and keyMask (B·Tk) cover cached and new keys. Returns (B, T, C) before the residual.
    func forward(_ x: Tensor, alibi: Tensor, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        // HF: baddbmm(alibi, q, kᵀ, beta=1, alpha=1/√D) + causal mask, softmax in float32, then PV. Fully masked
        // (left-pad) query rows differ (HF: uniform over all keys; here: zeros) but no real position reads them.
        var options = AttentionOptions(causal: true, keyMask: keyMask, bias: alibi)
        options.halfPrecision = halfPrecision
        return dense(cache.attend(fusedQKV: queryKeyValue(x), heads: heads, options: options))
    }
}

// MARK: - MLP

/// BloomMLP: dense_h_to_4h, BLOOM's tanh GELU (`bloom_gelu_forward`), dense_4h_to_h.
struct BloomMLP: Sendable {
    /// (4C, C).
    var denseHTo4H: LinearLayer
    /// (C, 4C).
    var dense4HToH: LinearLayer
    /// llama.cpp's float16 GELU table instead of BLOOM's (`CheckpointTensors.llamaCppNumerics`).
    var tabulated = false

    /// x (B, T, C) → (B, T, C) before the residual.
    func forward(_ x: Tensor) -> Tensor {
        let h = denseHTo4H(x)
        return dense4HToH(tabulated ? GELU.llamaCppForward(h) : GELU.forward(h, approximation: .bloom))
    }
}

// MARK: - Block

/// BloomBlock: input_layernorm → attention + residual → post_attention_layernorm → MLP + residual.
struct BloomBlock: Sendable {
    var inputLayerNorm: LayerNormLayer
    var selfAttention: BloomAttention
    var postAttentionLayerNorm: LayerNormLayer
    var mlp: BloomMLP
    /// `apply_residual_connection_post_layernorm`: add the normed input instead of the input.
    var residualPostLayerNorm: Bool

    /// x (B, T, C) → (B, T, C).
    func forward(_ x: Tensor, alibi: Tensor, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        let normed = inputLayerNorm(x)
        let attention = FamilyOps.add(residualPostLayerNorm ? normed : x,
                                      selfAttention.forward(normed, alibi: alibi, keyMask: keyMask, cache: &cache))
        let normedAttention = postAttentionLayerNorm(attention)
        return FamilyOps.add(residualPostLayerNorm ? normedAttention : attention, mlp.forward(normedAttention))
    }
}

// MARK: - Model

/// BloomForCausalLM: word embeddings + word_embeddings_layernorm, L blocks with ALiBi, ln_f, and the tied LM head.
public struct BloomModel: CausalLM {
    /// The validated configuration.
    public let configuration: BloomConfiguration
    /// (V, C) `word_embeddings`, also the LM head when tied.
    let wordEmbeddings: LinearWeight
    let wordEmbeddingsLayerNorm: LayerNormLayer
    let blocks: [BloomBlock]
    let lnF: LayerNormLayer
    /// (V, C): `word_embeddings`, or `lm_head.weight` when the config unties it.
    let lmHead: LinearWeight
    /// (H) ALiBi slopes, float32 as `build_alibi_tensor` computes them.
    let slopes: [Float]

    /// Loads config.json and the checkpoint from an HF BLOOM folder.
    /// - Throws: `ConfigError`, `SafeTensorsError`, or `ModelError` naming a missing or misshapen tensor.
    public static func load(folder: URL) throws -> BloomModel {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> BloomModel {
        let configuration = try BloomConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let weights = try CheckpointTensors.read(WeightMap(folder: folder))
        return try BloomModel(configuration: configuration, weights: sanitize(weights: weights, heads: configuration.heads),
                              adapters: sanitize(adapters: adapters, heads: configuration.heads))
    }

    /// Builds the model from sanitized weights and adapters (`transformer.`-prefixed HF names, query_key_value regrouped q|k|v).
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public init(configuration: BloomConfiguration, weights: [String: Tensor], adapters: AdapterUpdates = [:]) throws(ModelError) {
        try self.init(configuration: configuration, tensors: CheckpointTensors(tensors: weights, adapters: adapters))
    }

    /// Builds the model from sanitized names whose matrices may stay in a GGUF file's encoding.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public init(configuration: BloomConfiguration, tensors t: CheckpointTensors) throws(ModelError) {
        let c = configuration
        let width = c.hiddenSize
        func norm(_ prefix: String) throws(ModelError) -> LayerNormLayer {
            LayerNormLayer(weight: try t.take(prefix + ".weight", [width]), bias: try t.take(prefix + ".bias", [width]), eps: c.eps)
        }
        func linear(_ prefix: String, _ out: Int, _ input: Int) throws(ModelError) -> LinearLayer {
            LinearLayer(weight: try t.takeLinear(prefix + ".weight", [out, input]), bias: try t.take(prefix + ".bias", [out]),
                        updates: try t.updates(prefix + ".weight", outputs: out, inputs: input))
        }
        self.configuration = c
        wordEmbeddings = try t.takeLinear("transformer.word_embeddings.weight", [c.vocabSize, width])
        wordEmbeddingsLayerNorm = try norm("transformer.word_embeddings_layernorm")
        var blocks: [BloomBlock] = []
        for layer in 0..<c.layerCount {
            let p = "transformer.h.\(layer)"
            blocks.append(BloomBlock(
                inputLayerNorm: try norm(p + ".input_layernorm"),
                selfAttention: BloomAttention(queryKeyValue: try linear(p + ".self_attention.query_key_value", 3 * width, width),
                                              dense: try linear(p + ".self_attention.dense", width, width), heads: c.heads,
                                              halfPrecision: t.llamaCppNumerics),
                postAttentionLayerNorm: try norm(p + ".post_attention_layernorm"),
                mlp: BloomMLP(denseHTo4H: try linear(p + ".mlp.dense_h_to_4h", 4 * width, width),
                              dense4HToH: try linear(p + ".mlp.dense_4h_to_h", width, 4 * width), tabulated: t.llamaCppNumerics),
                residualPostLayerNorm: c.residualPostLayerNorm))
        }
        self.blocks = blocks
        lnF = try norm("transformer.ln_f")
        lmHead = c.tieWordEmbeddings ? wordEmbeddings : try t.takeLinear("lm_head.weight", [c.vocabSize, width])
        slopes = ALiBi.slopes(heads: c.heads)
    }

    /// ids, mask (B, T). positionIds is ignored: BLOOM has no position embeddings, and ALiBi takes its key positions
    /// from the mask (`(cumsum(mask) − 1) · mask`). Returns logits (B, T, V) and L+1 hidden states (B, T, C);
    /// only mask-1 positions match HF exactly.
    /// - Throws: `ModelError.invalidInput` for ragged rows or unknown ids.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        let (batch, steps) = try BatchCheck.dims(ids: inputIds, mask: attentionMask, positions: nil, vocabulary: configuration.vocabSize)
        let mask = attentionMask ?? Array(repeating: Array(repeating: 1, count: steps), count: batch)
        var caches = Array(repeating: LayerKVCache(), count: blocks.count)
        return run(ids: inputIds, fullMask: mask, caches: &caches, lastStepOnly: false)
    }

    /// The shared forward: ids (B, T) already checked; fullMask (B, Tk) covers cached + new keys (Tk ≥ T).
    /// With `lastStepOnly` the logits are (B, 1, V) and no hidden states are kept (generation).
    func run(ids: [[Int]], fullMask: [[Int]], caches: inout [LayerKVCache], lastStepOnly: Bool) -> CausalLMOutput {
        let (batch, steps, width) = (ids.count, ids[0].count, configuration.hiddenSize)
        let keyMask = fullMask.joined().map { $0 == 1 }
        let keyPositions = ALiBi.keyPositions(mask: keyMask, batch: batch, steps: fullMask[0].count)
        let alibi = ALiBi.bias(slopes: slopes, keyPositions: keyPositions, batch: batch)
        let embedded = wordEmbeddings.gather(Array(ids.joined())).reshaped([batch, steps, width])
        var x = wordEmbeddingsLayerNorm(embedded)
        var hidden: [Tensor] = lastStepOnly ? [] : [x]
        for (layer, block) in blocks.enumerated() {
            x = block.forward(x, alibi: alibi, keyMask: keyMask, cache: &caches[layer])
            if !lastStepOnly && layer + 1 < blocks.count { hidden.append(x) }
        }
        x = lnF(lastStepOnly ? FamilyOps.lastStep(x) : x)
        if !lastStepOnly { hidden.append(x) }
        return CausalLMOutput(logits: lmHead.apply(x), hiddenStates: hidden)
    }

    // MARK: - sanitize

    /// Checkpoint names and layouts → what `init(configuration:weights:)` reads: adds the `transformer.` prefix that
    /// bigscience's own files lack, and regroups each fused query_key_value weight (3C, C) and bias (3C) from
    /// per-head interleaved rows (h, {q,k,v}, d) to q|k|v blocks (part, h, d). A tied `lm_head.weight` is not read.
    public static func sanitize(weights: [String: Tensor], heads: Int) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, tensor) in weights {
            let key = name.hasPrefix("transformer.") || name.hasPrefix("lm_head.") ? name : "transformer." + name
            let fused = key.hasSuffix(".self_attention.query_key_value.weight") || key.hasSuffix(".self_attention.query_key_value.bias")
            result[key] = fused ? regroupQKV(tensor, heads: heads) : tensor
        }
        return result
    }

    /// Adapter updates with the same regrouping as their weights: B's rows of a fused query_key_value move as the weight's do
    /// (A, over the input, is unchanged), so an update keyed by the checkpoint's name applies to the regrouped weight.
    public static func sanitize(adapters: AdapterUpdates, heads: Int) -> AdapterUpdates {
        var result: AdapterUpdates = [:]
        for (name, updates) in adapters {
            let key = name.hasPrefix("transformer.") || name.hasPrefix("lm_head.") ? name : "transformer." + name
            result[key] = key.hasSuffix(".self_attention.query_key_value.weight")
                ? updates.map { LowRankUpdate(a: $0.a, b: regroupQKV($0.b, heads: heads), scaling: $0.scaling) }
                : updates
        }
        return result
    }

    /// Rows (H, 3, D) → (3, H, D) of a (3C, …) tensor; a tensor whose first dimension is not 3·H·D is left for the shape check.
    static func regroupQKV(_ fused: Tensor, heads: Int) -> Tensor {
        guard let rows = fused.shape.first, heads > 0, rows % (3 * heads) == 0 else { return fused }
        let headDim = rows / (3 * heads), rowWidth = fused.count / max(rows, 1)
        var storage = [Float](repeating: 0, count: fused.count)
        for h in 0..<heads {
            for part in 0..<3 {
                for d in 0..<headDim {
                    let from = (h * 3 + part) * headDim + d, to = (part * heads + h) * headDim + d
                    for i in 0..<rowWidth { storage[to * rowWidth + i] = fused.storage[from * rowWidth + i] }
                }
            }
        }
        return Tensor(shape: fused.shape, storage: storage)
    }
}

/// Per-layer keys and values plus the cached steps' mask (ALiBi reads the mask): LLaMA's bookkeeping, so its type.
public typealias BloomCache = LlamaCache

extension BloomModel: IncrementalDecoder {
    /// V.
    public var vocabularySize: Int { configuration.vocabSize }

    /// An empty cache for `batch` rows.
    public func makeCache(batch: Int) -> BloomCache { BloomCache(layers: blocks.count, batch: batch) }

    /// Logits of the new steps after those in `cache`; ALiBi distances come from the whole cached mask.
    /// - Throws: `ModelError.invalidInput` for bad ids or masks.
    public func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout BloomCache,
                             lastStepOnly: Bool) throws(ModelError) -> Tensor {
        _ = try cache.advance(inputIds: inputIds, attentionMask: attentionMask, positionIds: nil,
                              layers: blocks.count, vocabulary: configuration.vocabSize)
        return run(ids: inputIds, fullMask: cache.attentionMask, caches: &cache.layers, lastStepOnly: lastStepOnly).logits
    }
}
