// Ports transformers 5.24 `src/transformers/models/glm/modeling_glm.py` (GlmAttention, GlmMLP, GlmDecoderLayer,
// GlmModel, GlmForCausalLM; GLM-4, `model_type` "glm") with eager attention and explicit position_ids.
// It is LLaMA's decoder (Llama.swift) with three differences: q/k/v bias, one fused `gate_up_proj`, and RoPE on
// only the first `partial_rotary_factor`·D dims of each head, paired interleaved (2i, 2i+1) rather than half-split.
// ChatGLM.swift maps the remote-code ChatGLM2/3 / glm-4-9b-chat checkpoints onto this model.
import Foundation
import KilnTensor

// MARK: - Configuration

/// The settings of a GLM-4 decoder, resolved from config.json ("glm", or "chatglm" through ChatGLM.swift).
public struct GLMConfiguration: Sendable, Equatable {
    /// Family the folder declared (`model_type`).
    public var modelType: ModelType
    /// C, the residual width (`hidden_size`).
    public var hiddenSize: Int
    /// I, the MLP width (`intermediate_size`); `gate_up_proj` has 2·I rows.
    public var intermediateSize: Int
    /// L, decoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// H, query heads (`num_attention_heads`).
    public var attentionHeads: Int
    /// KVH, key/value heads (`num_key_value_heads`); H is a multiple of it (grouped-query attention).
    public var kvHeads: Int
    /// D, per-head dims (`head_dim`).
    public var headDim: Int
    /// V, vocabulary rows (`vocab_size`).
    public var vocabSize: Int
    /// RMSNorm epsilon (`rms_norm_eps`).
    public var normEps: Float
    /// lm_head reuses embed_tokens (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// Bias on q_proj, k_proj, v_proj (`attention_bias`, GlmConfig default true); o_proj and the MLP never have one.
    public var qkvBias: Bool
    /// The R/2 inverse frequencies, R = D · `partial_rotary_factor` rotated dims per head.
    public var inverseFrequencies: [Float]
    /// llama.cpp's way of computing the angles, for GGUF files on the fast path; nil: position × `inverseFrequencies`.
    public var llamaCppRope: RoPE.LlamaCpp?

    /// Reads the fields "glm" and "chatglm" share; the family checks `model_type` and its own options first.
    /// - Throws: `ModelError.unsupportedOption` for an activation, rope type or rotary width GLM does not implement.
    init(_ config: ModelConfiguration) throws(ModelError) {
        guard config.hiddenAct == "silu" else { throw .unsupportedOption(key: "hidden_act", value: config.hiddenAct) }
        guard config.mlpBias == false else { throw .unsupportedOption(key: "mlp_bias", value: "true") }
        guard let rope = config.rope else { throw .unsupportedOption(key: "rope_parameters", value: "missing") }
        // Only the plain schedule: GlmRotaryEmbedding supports others, but no GLM-4 checkpoint uses them.
        guard rope.kind == .default else { throw .unsupportedOption(key: "rope_type", value: rope.kind.rawValue) }
        // GlmRotaryEmbedding: dim = int(head_dim * partial_rotary_factor), which must be even and non-zero.
        let rotaryDim = Int(Double(config.headDim) * config.partialRotaryFactor)
        guard rotaryDim > 0, rotaryDim % 2 == 0 else {
            throw .unsupportedOption(key: "partial_rotary_factor", value: "\(config.partialRotaryFactor) (rotary dim \(rotaryDim))")
        }
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
        inverseFrequencies = RoPE.inverseFrequencies(rotaryDim: rotaryDim, theta: Float(rope.theta))
    }

    /// GLM-4 as `GlmConfig` reads it.
    /// - Throws: `ModelError.wrongFamily` unless `model_type` is "glm", or an unsupported option.
    public static func glm(_ config: ModelConfiguration) throws(ModelError) -> GLMConfiguration {
        guard config.modelType == .glm else { throw .wrongFamily(expected: "glm", found: config.modelType.rawValue) }
        return try GLMConfiguration(config)
    }
}

/// `nn.Linear` `<name>.weight` (OC, C) and, when `bias`, `<name>.bias` (OC), shape-checked.
private func glmLinear(_ tensors: CheckpointTensors, _ name: String, outputs: Int, inputs: Int,
                       bias: Bool) throws(ModelError) -> LinearLayer {
    LinearLayer(weight: try tensors.takeLinear("\(name).weight", [outputs, inputs]),
                bias: bias ? try tensors.take("\(name).bias", [outputs]) : nil,
                updates: try tensors.updates("\(name).weight", outputs: outputs, inputs: inputs))
}

// MARK: - Attention

/// `GlmAttention`: q/k/v projections with bias, interleaved partial RoPE, grouped-query attention, o_proj.
struct GLMAttention: Sendable {
    var qProj, kProj, vProj, oProj: LinearLayer
    let configuration: GLMConfiguration
    /// llama.cpp's float16 attention numerics (`CheckpointTensors.llamaCppNumerics`).
    let halfPrecision: Bool

    /// Loads `<prefix>.{q,k,v,o}_proj`.
    init(_ tensors: CheckpointTensors, prefix: String, _ c: GLMConfiguration) throws(ModelError) {
        configuration = c
        halfPrecision = tensors.llamaCppNumerics
        let (q, kv) = (c.attentionHeads * c.headDim, c.kvHeads * c.headDim)
        qProj = try glmLinear(tensors, "\(prefix).q_proj", outputs: q, inputs: c.hiddenSize, bias: c.qkvBias)
        kProj = try glmLinear(tensors, "\(prefix).k_proj", outputs: kv, inputs: c.hiddenSize, bias: c.qkvBias)
        vProj = try glmLinear(tensors, "\(prefix).v_proj", outputs: kv, inputs: c.hiddenSize, bias: c.qkvBias)
        oProj = try glmLinear(tensors, "\(prefix).o_proj", outputs: c.hiddenSize, inputs: q, bias: false)
    }

    /// x (B, T, C), rope rows (B·T), keyMask (B·Tk) over cached + new keys; appends this step's k/v to `cache`.
    /// Returns (B, T, C).
    func callAsFunction(_ x: Tensor, rope: RoPETable, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        let c = configuration
        // GLM's apply_rotary_pos_emb takes cos[..., :R/2].repeat_interleave(2) and rotate_half on x[0::2]/x[1::2]
        // over q[..., :R], passing q[..., R:] through: the `.interleaved` layout on a table of R/2 frequencies.
        let q = RoPE.forward(Heads.split(qProj(x), heads: c.attentionHeads), table: rope, layout: .interleaved)
        let k = RoPE.forward(Heads.split(kProj(x), heads: c.kvHeads), table: rope, layout: .interleaved)
        let v = Heads.split(vProj(x), heads: c.kvHeads)
        // As in LlamaAttention: fully masked (left-pad) queries get zeros here, uniform weights in HF eager; no
        // real position reads them.
        var options = AttentionOptions(causal: true, keyMask: keyMask)
        options.halfPrecision = halfPrecision
        return oProj(Heads.merge(cache.attend(query: q, keys: k, values: v, options: options)))
    }
}

// MARK: - MLP

/// `GlmMLP`: down_proj(silu(gate) ⊙ up) with gate, up = gate_up_proj(x).chunk(2) (first I rows gate, last I up).
struct GLMMLP: Sendable {
    var gateUpProj, downProj: LinearLayer

    /// Loads `<prefix>.gate_up_proj` (2I, C) and `<prefix>.down_proj` (C, I), neither with bias.
    init(_ tensors: CheckpointTensors, prefix: String, _ c: GLMConfiguration) throws(ModelError) {
        gateUpProj = try glmLinear(tensors, "\(prefix).gate_up_proj", outputs: 2 * c.intermediateSize, inputs: c.hiddenSize, bias: false)
        downProj = try glmLinear(tensors, "\(prefix).down_proj", outputs: c.hiddenSize, inputs: c.intermediateSize, bias: false)
    }

    /// x (B, T, C) → (B, T, C).
    func callAsFunction(_ x: Tensor) -> Tensor { downProj(SwiGLU.forward(fused: gateUpProj(x))) }
}

// MARK: - Block

/// `GlmDecoderLayer`: pre-norm attention and MLP, each added back to the residual stream.
struct GLMBlock: Sendable {
    var selfAttn: GLMAttention
    var mlp: GLMMLP
    var inputLayernorm, postAttentionLayernorm: Tensor
    let eps: Float

    /// Loads `model.layers.<index>.…`.
    init(_ tensors: CheckpointTensors, index: Int, _ c: GLMConfiguration) throws(ModelError) {
        let prefix = "model.layers.\(index)"
        selfAttn = try GLMAttention(tensors, prefix: "\(prefix).self_attn", c)
        mlp = try GLMMLP(tensors, prefix: "\(prefix).mlp", c)
        inputLayernorm = try tensors.take("\(prefix).input_layernorm.weight", [c.hiddenSize])
        postAttentionLayernorm = try tensors.take("\(prefix).post_attention_layernorm.weight", [c.hiddenSize])
        eps = c.normEps
    }

    /// x (B, T, C) → (B, T, C).
    func callAsFunction(_ x: Tensor, rope: RoPETable, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        let attended = selfAttn(RMSNorm.forward(x, weight: inputLayernorm, eps: eps).0, rope: rope, keyMask: keyMask, cache: &cache)
        let h = FamilyOps.add(x, attended)
        return FamilyOps.add(h, mlp(RMSNorm.forward(h, weight: postAttentionLayernorm, eps: eps).0))
    }
}

// MARK: - Model

/// Per-layer keys and values plus the cached steps' mask; the same bookkeeping as LLaMA's, so the same type.
public typealias GLMCache = LlamaCache

/// `GlmForCausalLM`: embed_tokens, L decoder layers, the final norm and lm_head.
public struct GLMModel: CausalLM {
    /// The resolved settings.
    public let configuration: GLMConfiguration
    var embedTokens: LinearWeight
    var layers: [GLMBlock]
    var norm: Tensor
    var lmHead: LinearWeight

    /// Builds the model from HF-named "glm" tensors, checking each shape against the configuration.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape` naming the tensor.
    public init(configuration c: GLMConfiguration, weights: [String: Tensor], adapters: AdapterUpdates = [:]) throws(ModelError) {
        try self.init(configuration: c, tensors: CheckpointTensors(tensors: Self.sanitize(weights: weights, configuration: c), adapters: adapters))
    }

    /// Builds the model from HF-named tensors whose matrices may stay in a GGUF file's encoding; a tied head is
    /// the embedding whatever the file stores.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape` naming the tensor.
    public init(configuration c: GLMConfiguration, tensors: CheckpointTensors) throws(ModelError) {
        configuration = c
        embedTokens = try tensors.takeLinear("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])
        layers = []
        for index in 0..<c.layerCount { layers.append(try GLMBlock(tensors, index: index, c)) }
        norm = try tensors.take("model.norm.weight", [c.hiddenSize])
        lmHead = c.tieWordEmbeddings ? embedTokens : try tensors.takeLinear("lm_head.weight", [c.vocabSize, c.hiddenSize])
    }

    /// Loads a "glm" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> GLMModel {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> GLMModel {
        let config = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let configuration = try GLMConfiguration.glm(config)
        return try GLMModel(configuration: configuration, weights: CheckpointTensors.read(WeightMap(folder: folder)), adapters: adapters)
    }

    /// Drops rotary `inv_freq` buffers (recomputed from config), and points lm_head at embed_tokens when tied,
    /// as `PreTrainedModel.tie_weights` does (a stored lm_head is then ignored).
    public static func sanitize(weights: [String: Tensor], configuration: GLMConfiguration) -> [String: Tensor] {
        var weights = weights.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") }
        if configuration.tieWordEmbeddings, let embedding = weights["model.embed_tokens.weight"] {
            weights["lm_head.weight"] = embedding
        }
        return weights
    }

    /// inputIds (B, T), attentionMask (B, T) or nil (all ones), positionIds (B, T) or nil (0..<T).
    /// Returns logits (B, T, V) and L+1 hidden states (B, T, C); rows at left-pad positions are not HF's (see
    /// `GLMAttention`), and no real position reads them.
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        var cache = GLMCache(layers: layers.count, batch: inputIds.count)
        return try forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds, cache: &cache)
    }

    /// As `forward(inputIds:attentionMask:positionIds:)` for T new steps after the Tpast in `cache`, which it
    /// extends; masks are the new steps' only, default positions continue at Tpast. With `lastStepOnly` the logits
    /// are (B, 1, V) for each row's last step and no hidden states are kept (generation).
    /// - Throws: `ModelError.invalidInput` for ragged rows, ids outside the vocabulary or a cache of another shape.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?,
                        cache: inout GLMCache, lastStepOnly: Bool = false) throws(ModelError) -> CausalLMOutput {
        let c = configuration
        let (batch, steps, positions, keyMask) = try cache.advance(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds,
                                                                   layers: layers.count, vocabulary: c.vocabSize)
        let rope = c.llamaCppRope?.table(positions: Array(positions.joined()))
            ?? RoPE.table(positions: Array(positions.joined()), inverseFrequencies: c.inverseFrequencies)

        var x = embedTokens.gather(Array(inputIds.joined())).reshaped([batch, steps, c.hiddenSize])
        var hiddenStates = lastStepOnly ? [] : [x]
        for (index, layer) in layers.enumerated() {
            x = layer(x, rope: rope, keyMask: keyMask, cache: &cache.layers[index])
            if !lastStepOnly && index < layers.count - 1 { hiddenStates.append(x) }
        }
        x = RMSNorm.forward(lastStepOnly ? FamilyOps.lastStep(x) : x, weight: norm, eps: c.normEps).0
        if !lastStepOnly { hiddenStates.append(x) }
        return CausalLMOutput(logits: lmHead.apply(x), hiddenStates: hiddenStates)
    }
}

extension GLMModel: IncrementalDecoder {
    /// V.
    public var vocabularySize: Int { configuration.vocabSize }

    /// An empty cache for `batch` rows.
    public func makeCache(batch: Int) -> GLMCache { GLMCache(layers: layers.count, batch: batch) }

    /// Logits of the new steps after those in `cache`, positions continuing its mask.
    public func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout GLMCache,
                             lastStepOnly: Bool) throws(ModelError) -> Tensor {
        let (mask, positions) = cache.generationInputs(inputIds, attentionMask: attentionMask)
        return try forward(inputIds: inputIds, attentionMask: mask, positionIds: positions, cache: &cache, lastStepOnly: lastStepOnly).logits
    }
}
