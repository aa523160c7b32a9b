// Ports transformers 5.24 `src/transformers/models/llama/modeling_llama.py` (LlamaAttention, LlamaMLP,
// LlamaDecoderLayer, LlamaModel, LlamaForCausalLM) with eager attention and explicit position_ids.
// Mistral, Qwen2 and Qwen3 reuse these blocks; their files only build a `LlamaConfiguration` variant
// (bias flags, per-head q/k norm, sliding window), the way their HF modeling files are generated from Llama's.
import Foundation
import KilnTensor

// MARK: - Configuration

/// The settings of a LLaMA-shaped decoder, resolved from config.json by the family that owns the file.
public struct LlamaConfiguration: Sendable, Equatable {
    /// Family the folder declared (`model_type`).
    public var modelType: ModelType
    /// C, the residual width (`hidden_size`).
    public var hiddenSize: Int
    /// I, the MLP width (`intermediate_size`).
    public var intermediateSize: Int
    /// L, decoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// H, query heads (`num_attention_heads`).
    public var attentionHeads: Int
    /// KVH, key/value heads (`num_key_value_heads`); H is a multiple of it (grouped-query attention).
    public var kvHeads: Int
    /// D, per-head dims (`head_dim`, default C / H; Qwen3 sets it independently of C).
    public var headDim: Int
    /// V, vocabulary rows (`vocab_size`).
    public var vocabSize: Int
    /// RMSNorm epsilon (`rms_norm_eps`).
    public var normEps: Float
    /// lm_head reuses embed_tokens (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// Bias on q_proj, k_proj, v_proj (LLaMA/Qwen3 `attention_bias`; always on for Qwen2).
    public var qkvBias: Bool
    /// Bias on o_proj (LLaMA/Qwen3 `attention_bias`; never for Qwen2 and Mistral).
    public var outputBias: Bool
    /// Bias on gate/up/down (`mlp_bias`, LLaMA only).
    public var mlpBias: Bool
    /// Per-head RMSNorm (`q_norm`, `k_norm`, weight (D)) on q and k before RoPE (Qwen3).
    public var qkNorm: Bool
    /// Keys a query may look back over (Mistral `sliding_window`); nil: full causal attention.
    public var slidingWindow: Int?
    /// The D/2 rotary inverse frequencies after `rope_type` scaling.
    public var inverseFrequencies: [Float]
    /// Which dims RoPE pairs: HF checkpoints rotate halves; llama.cpp's converter permuted q/k rows so GGUF
    /// "llama" files pair neighbours (same scores, since q and k share the permutation).
    public var ropeLayout: RoPELayout = .halfSplit
    /// cos/sin multiplier (YaRN's `attention_factor`; 1 for the other rope types).
    public var ropeAttentionScaling: Float
    /// llama.cpp's way of computing the angles, set for GGUF files on the fast path (`CheckpointTensors.llamaCppNumerics`);
    /// nil: position × `inverseFrequencies`.
    public var llamaCppRope: RoPE.LlamaCpp?

    /// Reads the fields every LLaMA-shaped family shares; the family sets the bias, norm and window flags after.
    /// - Throws: `ModelError.unsupportedOption` for an activation or rope type these blocks do not implement.
    public init(_ config: ModelConfiguration) throws(ModelError) {
        guard config.hiddenAct == "silu" else { throw .unsupportedOption(key: "hidden_act", value: config.hiddenAct) }
        guard config.headDim % 2 == 0 else { throw .unsupportedOption(key: "head_dim", value: "\(config.headDim) (odd)") }
        guard let rope = config.rope else { throw .unsupportedOption(key: "rope_parameters", value: "missing") }
        guard config.partialRotaryFactor == 1 else {
            throw .unsupportedOption(key: "partial_rotary_factor", value: "\(config.partialRotaryFactor)")
        }
        let scaling: RoPEScaling
        switch rope.kind {
        case .default: scaling = .none
        case .linear: scaling = .linear(factor: Float(rope.factor))
        case .llama3:
            scaling = .llama3(factor: Float(rope.factor), lowFrequencyFactor: Float(rope.lowFreqFactor),
                              highFrequencyFactor: Float(rope.highFreqFactor),
                              originalMaxPositionEmbeddings: rope.originalMaxPositionEmbeddings ?? 8192)
        case .yarn: scaling = rope.yarnScaling(maxPositionEmbeddings: config.maxPositionEmbeddings)
        case .dynamic: throw .unsupportedOption(key: "rope_type", value: rope.kind.rawValue)
        }
        ropeAttentionScaling = rope.attentionScaling
        modelType = config.modelType
        hiddenSize = config.hiddenSize
        intermediateSize = config.intermediateSize
        layerCount = config.layerCount
        attentionHeads = config.attentionHeads
        kvHeads = config.kvHeads
        headDim = config.headDim
        vocabSize = config.vocabSize
        normEps = Float(config.normEps)
        tieWordEmbeddings = config.tieWordEmbeddings
        qkvBias = config.attentionBias
        outputBias = config.attentionBias
        mlpBias = config.mlpBias
        qkNorm = false
        slidingWindow = nil
        inverseFrequencies = RoPE.inverseFrequencies(rotaryDim: config.headDim, theta: Float(rope.theta), scaling: scaling)
    }

    /// LLaMA 2/3 as `LlamaConfig` reads it: biases from `attention_bias`/`mlp_bias`, no q/k norm, no window.
    /// - Throws: `ModelError.wrongFamily` unless `model_type` is "llama", or an unsupported option.
    public static func llama(_ config: ModelConfiguration) throws(ModelError) -> LlamaConfiguration {
        guard config.modelType == .llama else { throw .wrongFamily(expected: "llama", found: config.modelType.rawValue) }
        return try LlamaConfiguration(config)
    }
}

// MARK: - Attention

/// `LlamaAttention`: q/k/v projections, optional per-head norm, RoPE, grouped-query attention, o_proj.
struct LlamaAttention: Sendable {
    var qProj, kProj, vProj, oProj: LlamaLinear
    var qNorm, kNorm: Tensor?
    let configuration: LlamaConfiguration
    /// llama.cpp's float16 attention numerics (`CheckpointTensors.llamaCppNumerics`).
    let halfPrecision: Bool

    /// Loads `<prefix>.{q,k,v,o}_proj` and, for Qwen3, `<prefix>.{q,k}_norm` (D).
    init(_ tensors: CheckpointTensors, prefix: String, _ c: LlamaConfiguration) throws(ModelError) {
        halfPrecision = tensors.llamaCppNumerics
        configuration = c
        qProj = try LlamaLinear(tensors, "\(prefix).q_proj", outputs: c.attentionHeads * c.headDim, inputs: c.hiddenSize, bias: c.qkvBias)
        kProj = try LlamaLinear(tensors, "\(prefix).k_proj", outputs: c.kvHeads * c.headDim, inputs: c.hiddenSize, bias: c.qkvBias)
        vProj = try LlamaLinear(tensors, "\(prefix).v_proj", outputs: c.kvHeads * c.headDim, inputs: c.hiddenSize, bias: c.qkvBias)
        oProj = try LlamaLinear(tensors, "\(prefix).o_proj", outputs: c.hiddenSize, inputs: c.attentionHeads * c.headDim, bias: c.outputBias)
        qNorm = c.qkNorm ? try tensors.take("\(prefix).q_norm.weight", [c.headDim]) : nil
        kNorm = c.qkNorm ? try tensors.take("\(prefix).k_norm.weight", [c.headDim]) : nil
    }

    /// x (B, T, C), rope rows (B·T), keyMask (B·Tk) over cached + new keys; appends this step's k/v to `cache`.
    /// Returns (B, T, C).
    func callAsFunction(_ x: Tensor, rope: RoPETable, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        let c = configuration
        let projected = LlamaLinear.apply([qProj, kProj, vProj], to: x)
        let q = heads(projected[0], norm: qNorm, count: c.attentionHeads, rope: rope)
        let k = heads(projected[1], norm: kNorm, count: c.kvHeads, rope: rope)
        let v = Heads.split(projected[2], heads: c.kvHeads)
        // Eager HF adds finfo.min to masked scores; for a query with any visible key that is exactly −∞'s zero
        // weight. Fully masked (left-pad) queries differ: HF spreads them uniformly, Attention returns zeros.
        var options = AttentionOptions(causal: true, keyMask: keyMask, window: c.slidingWindow)
        options.halfPrecision = halfPrecision
        return oProj(Heads.merge(cache.attend(query: q, keys: k, values: v, options: options)))
    }

    /// y (B, T, count·D) → (B, count, T, D): per-head RMSNorm over D when given (Qwen3 normalises before the
    /// transpose, `q_norm(q_proj(x).view(hidden_shape))`), then RoPE in HF's `rotate_half` layout.
    private func heads(_ y: Tensor, norm: Tensor?, count: Int, rope: RoPETable) -> Tensor {
        var y = y
        if let norm {
            y = LlamaBlock.norm(y.reshaped([y.count / configuration.headDim, configuration.headDim]), norm,
                                configuration.normEps, llamaCpp: halfPrecision).reshaped(y.shape)
        }
        return RoPE.forward(Heads.split(y, heads: count), table: rope, layout: configuration.ropeLayout)
    }
}

// MARK: - MLP

/// `LlamaMLP`: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)).
struct LlamaMLP: Sendable {
    var gateProj, upProj, downProj: LlamaLinear
    /// llama.cpp's SwiGLU arithmetic (`CheckpointTensors.llamaCppNumerics`), also the block's norms'.
    let llamaCpp: Bool

    /// Loads `<prefix>.{gate,up,down}_proj`.
    init(_ tensors: CheckpointTensors, prefix: String, _ c: LlamaConfiguration) throws(ModelError) {
        llamaCpp = tensors.llamaCppNumerics
        gateProj = try LlamaLinear(tensors, "\(prefix).gate_proj", outputs: c.intermediateSize, inputs: c.hiddenSize, bias: c.mlpBias)
        upProj = try LlamaLinear(tensors, "\(prefix).up_proj", outputs: c.intermediateSize, inputs: c.hiddenSize, bias: c.mlpBias)
        downProj = try LlamaLinear(tensors, "\(prefix).down_proj", outputs: c.hiddenSize, inputs: c.intermediateSize, bias: c.mlpBias)
    }

    /// x (B, T, C) → (B, T, C).
    func callAsFunction(_ x: Tensor) -> Tensor {
        let projected = LlamaLinear.apply([gateProj, upProj], to: x)
        let (gate, up) = (projected[0], projected[1])
        return downProj(llamaCpp ? GGMLOps.swiGLU(gate: gate, up: up) : SwiGLU.forward(gate: gate, up: up))
    }
}

// MARK: - Block

/// `LlamaDecoderLayer`: pre-norm attention and MLP, each added back to the residual stream.
struct LlamaBlock: Sendable {
    var selfAttn: LlamaAttention
    var mlp: LlamaMLP
    var inputLayernorm, postAttentionLayernorm: Tensor
    let eps: Float

    /// Loads `model.layers.<index>.…`.
    init(_ tensors: CheckpointTensors, index: Int, _ c: LlamaConfiguration) throws(ModelError) {
        let prefix = "model.layers.\(index)"
        selfAttn = try LlamaAttention(tensors, prefix: "\(prefix).self_attn", c)
        mlp = try LlamaMLP(tensors, prefix: "\(prefix).mlp", c)
        inputLayernorm = try tensors.take("\(prefix).input_layernorm.weight", [c.hiddenSize])
        postAttentionLayernorm = try tensors.take("\(prefix).post_attention_layernorm.weight", [c.hiddenSize])
        eps = c.normEps
    }

    /// RMSNorm over the last dimension: HF's, or llama.cpp's arithmetic (`GGMLOps.rmsNorm`) on the GGUF fast path.
    static func norm(_ x: Tensor, _ weight: Tensor, _ eps: Float, llamaCpp: Bool) -> Tensor {
        llamaCpp ? GGMLOps.rmsNorm(x, weight: weight, eps: eps) : RMSNorm.forward(x, weight: weight, eps: eps).0
    }

    /// x (B, T, C) → (B, T, C).
    func callAsFunction(_ x: Tensor, rope: RoPETable, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        let attended = selfAttn(Self.norm(x, inputLayernorm, eps, llamaCpp: mlp.llamaCpp), rope: rope, keyMask: keyMask, cache: &cache)
        let h = FamilyOps.add(x, attended)
        return FamilyOps.add(h, mlp(Self.norm(h, postAttentionLayernorm, eps, llamaCpp: mlp.llamaCpp)))
    }
}

// MARK: - Model

/// Keys and values of every layer plus the attention mask of the steps they hold, for incremental decoding.
public struct LlamaCache: Sendable {
    /// One cache per decoder layer.
    public var layers: [LayerKVCache]
    /// (B, Tpast) mask of the cached steps (1 real, 0 padding).
    public var attentionMask: [[Int]]

    /// An empty cache for `layers` decoder layers and a batch of `batch` rows.
    public init(layers: Int, batch: Int) {
        self.layers = Array(repeating: LayerKVCache(), count: layers)
        attentionMask = Array(repeating: [], count: batch)
    }

    /// Tpast, the number of cached steps.
    public var length: Int { attentionMask.first?.count ?? 0 }

    /// Checks T new steps against this cache and records their mask; shared by every cached family's forward.
    /// Returns B, T, the positions (given, or continuing at Tpast) and the key mask over all Tpast + T steps.
    /// - Throws: `ModelError.invalidInput` for ragged rows, ids outside the vocabulary or a cache of another shape.
    mutating func advance(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?, layers layerCount: Int,
                          vocabulary: Int) throws(ModelError) -> (batch: Int, steps: Int, positions: [[Int]], keyMask: [Bool]) {
        let (batch, steps) = try BatchCheck.dims(ids: inputIds, mask: attentionMask, positions: positionIds, vocabulary: vocabulary)
        if let row = attentionMask?.firstIndex(where: { $0.count != steps }) {
            throw .invalidInput(reason: "attention mask row \(row) is not \(steps) long")
        }
        guard layers.count == layerCount, self.attentionMask.count == batch else {
            throw .invalidInput(reason: "cache is for \(self.attentionMask.count) rows and \(layers.count) layers")
        }
        let past = length
        let positions = positionIds ?? Array(repeating: Array(past..<(past + steps)), count: batch)
        let mask = attentionMask ?? Array(repeating: Array(repeating: 1, count: steps), count: batch)
        for b in 0..<batch { self.attentionMask[b] += mask[b] }
        return (batch, steps, positions, self.attentionMask.joined().map { $0 == 1 })
    }
}

/// `LlamaForCausalLM`: embed_tokens, L decoder layers, the final norm and lm_head.
public struct LlamaModel: CausalLM {
    /// The resolved settings.
    public let configuration: LlamaConfiguration
    var embedTokens: LinearWeight
    var layers: [LlamaBlock]
    var norm: Tensor
    var lmHead: LinearWeight

    /// Builds the model from sanitized HF-named tensors, checking each shape against the configuration.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape` naming the tensor.
    public init(configuration c: LlamaConfiguration, weights: [String: Tensor], adapters: AdapterUpdates = [:]) throws(ModelError) {
        try self.init(configuration: c, tensors: CheckpointTensors(tensors: Self.sanitize(weights: weights, configuration: c), adapters: adapters))
    }

    /// Builds the model from HF-named tensors, dense or quantised, with a tied head already pointed at the embedding
    /// (`sanitize` and the `checkpoint` readers do that).
    init(configuration c: LlamaConfiguration, tensors: CheckpointTensors) throws(ModelError) {
        configuration = c
        embedTokens = try tensors.takeLinear("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])
        layers = []
        for index in 0..<c.layerCount { layers.append(try LlamaBlock(tensors, index: index, c)) }
        norm = try tensors.take("model.norm.weight", [c.hiddenSize])
        lmHead = try tensors.takeLinear("lm_head.weight", [c.vocabSize, c.hiddenSize])
    }

    /// Loads a "llama" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> LlamaModel {
        try load(folder: folder, adapters: [:], configure: LlamaConfiguration.llama)
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> LlamaModel {
        try load(folder: folder, adapters: adapters, configure: LlamaConfiguration.llama)
    }

    /// Loads config.json through a family's `configure` step, then the checkpoint (shared by Mistral and Qwen).
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError`.
    static func load(folder: URL, adapters: AdapterUpdates = [:],
                     configure: (ModelConfiguration) throws(ModelError) -> LlamaConfiguration) throws -> LlamaModel {
        var (configuration, tensors) = try checkpoint(folder: folder, configure: configure)
        tensors.adapters = adapters
        return try LlamaModel(configuration: configuration, tensors: tensors)
    }

    /// The configuration and sanitized tensors of a folder (16-bit matrices kept stored), for `load` and for code
    /// that builds its own graph over the weights.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError`.
    public static func checkpoint(folder: URL, configure: (ModelConfiguration) throws(ModelError) -> LlamaConfiguration)
        throws -> (LlamaConfiguration, CheckpointTensors) {
        let config = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let configuration = try configure(config)
        var tensors = try CheckpointTensors.readKeepingHalfMatrices(WeightMap(folder: folder))
        tensors.tensors = sanitize(weights: tensors.tensors, configuration: configuration)
        // As `sanitize` does for dense weights: a tied head is the embedding, whatever the file stores.
        if configuration.tieWordEmbeddings { tensors.quantized["lm_head.weight"] = tensors.quantized["model.embed_tokens.weight"] }
        return (configuration, tensors)
    }

    /// Drops the rotary `inv_freq` buffers older exports carry (recomputed from config), and points lm_head
    /// at embed_tokens when tied, as `PreTrainedModel.tie_weights` does (a stored lm_head is then ignored).
    public static func sanitize(weights: [String: Tensor], configuration: LlamaConfiguration) -> [String: Tensor] {
        var weights = weights.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") }
        if configuration.tieWordEmbeddings, let embedding = weights["model.embed_tokens.weight"] {
            weights["lm_head.weight"] = embedding
        }
        return weights
    }

    /// inputIds (B, T), attentionMask (B, T) or nil (all ones), positionIds (B, T) or nil (0..<T).
    /// Returns logits (B, T, V) and L+1 hidden states (B, T, C). Rows at left-pad positions are not HF's (see
    /// `LlamaAttention`); no real position reads them.
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        var cache = LlamaCache(layers: layers.count, batch: inputIds.count)
        return try forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds, cache: &cache)
    }

    /// As `forward(inputIds:attentionMask:positionIds:)` for T new steps after the Tpast in `cache`, which it
    /// extends; masks are the new steps' only, default positions continue at Tpast. With `lastStepOnly` the
    /// logits are (B, 1, V) for each row's last step and no hidden states are kept (generation).
    /// - Throws: `ModelError.invalidInput` for ragged rows, ids outside the vocabulary or a cache of another batch size.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?,
                        cache: inout LlamaCache, lastStepOnly: Bool = false) throws(ModelError) -> CausalLMOutput {
        let c = configuration
        let (batch, steps, positions, keyMask) = try cache.advance(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds,
                                                                   layers: layers.count, vocabulary: c.vocabSize)
        let rope = c.llamaCppRope?.table(positions: Array(positions.joined()))
            ?? RoPE.table(positions: Array(positions.joined()), inverseFrequencies: c.inverseFrequencies, attentionScaling: c.ropeAttentionScaling)

        var x = embedTokens.gather(Array(inputIds.joined())).reshaped([batch, steps, c.hiddenSize])
        var hiddenStates = lastStepOnly ? [] : [x]
        for (index, layer) in layers.enumerated() {
            x = layer(x, rope: rope, keyMask: keyMask, cache: &cache.layers[index])
            if !lastStepOnly && index < layers.count - 1 { hiddenStates.append(x) }
        }
        x = LlamaBlock.norm(lastStepOnly ? FamilyOps.lastStep(x) : x, norm, c.normEps, llamaCpp: layers.first?.mlp.llamaCpp ?? false)
        if !lastStepOnly { hiddenStates.append(x) }
        return CausalLMOutput(logits: lmHead.apply(x), hiddenStates: hiddenStates)
    }
}

extension LlamaModel: IncrementalDecoder {
    /// V.
    public var vocabularySize: Int { configuration.vocabSize }

    /// An empty cache for `batch` rows.
    public func makeCache(batch: Int) -> LlamaCache { LlamaCache(layers: layers.count, batch: batch) }

    /// Logits of the new steps after those in `cache`, positions continuing its mask.
    public func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout LlamaCache,
                             lastStepOnly: Bool) throws(ModelError) -> Tensor {
        let (mask, positions) = cache.generationInputs(inputIds, attentionMask: attentionMask)
        return try forward(inputIds: inputIds, attentionMask: mask, positionIds: positions, cache: &cache,
                           lastStepOnly: lastStepOnly).logits
    }
}

extension LlamaModel {
    /// Bytes of weights one decoding step reads: every matrix once (a tied embedding once, as the LM head)
    /// plus the norms; the embedding lookup itself touches one row.
    public var weightBytes: Int {
        var total = lmHead.byteCount + norm.count * 4
        for layer in layers {
            let a = layer.selfAttn, m = layer.mlp
            for linear in [a.qProj, a.kProj, a.vProj, a.oProj, m.gateProj, m.upProj, m.downProj] {
                total += linear.weight.byteCount + (linear.bias?.count ?? 0) * 4
            }
            total += (layer.inputLayernorm.count + layer.postAttentionLayernorm.count) * 4
        }
        return total
    }
}

extension RopeConfiguration {
    /// The YaRN frequency scaling of these parameters; `original_max_position_embeddings` defaults to the
    /// config's `max_position_embeddings`, as transformers' `standardize_rope_params` sets it.
    func yarnScaling(maxPositionEmbeddings: Int?) -> RoPEScaling {
        .yarn(factor: Float(factor), originalMaxPositionEmbeddings: originalMaxPositionEmbeddings ?? maxPositionEmbeddings ?? 4096,
              betaFast: betaFast, betaSlow: betaSlow)
    }

    /// The cos/sin multiplier: YaRN's attention factor, 1 for every other rope type.
    var attentionScaling: Float {
        guard kind == .yarn else { return 1 }
        return Float(RoPE.yarnAttentionFactor(factor: factor, mscale: mscale, mscaleAllDim: mscaleAllDim, attentionFactor: attentionFactor))
    }
}
