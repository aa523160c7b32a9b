// Ports transformers 5.24 `src/transformers/models/deepseek_v3/modeling_deepseek_v3.py` (DeepseekV3Attention,
// DeepseekV3MLP, DeepseekV3DecoderLayer, DeepseekV3Model, DeepseekV3ForCausalLM) with eager attention and explicit
// position_ids. The router and experts (DeepseekV3TopkRouter, DeepseekV3MoE) live in DeepSeekV3MoE.swift.
import Foundation
import KilnTensor

// MARK: - Configuration

/// The settings of a DeepSeek-V3 decoder (multi-head latent attention, dense then routed + shared expert MLPs).
public struct DeepSeekV3Configuration: Sendable, Equatable {
    /// C, the residual width (`hidden_size`).
    public var hiddenSize: Int
    /// I, the dense MLP width of the first `first_k_dense_replace` layers (`intermediate_size`).
    public var intermediateSize: Int
    /// L, decoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// H, attention heads (`num_attention_heads`); MLA has one key/value head per query head.
    public var attentionHeads: Int
    /// V, vocabulary rows (`vocab_size`).
    public var vocabSize: Int
    /// RMSNorm epsilon of the layer norms (`rms_norm_eps`).
    public var normEps: Float
    /// lm_head reuses embed_tokens (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// Bias on q_a_proj / q_proj, kv_a_proj_with_mqa and o_proj (`attention_bias`).
    public var attentionBias: Bool
    /// Latent attention sizes (`q_lora_rank`, `kv_lora_rank`, `qk_*_head_dim`, `v_head_dim`, `rope_interleave`).
    public var mla: MLAConfiguration
    /// Routed and shared expert settings.
    public var moe: MoEConfiguration
    /// The qk_rope_head_dim / 2 rotary inverse frequencies.
    public var inverseFrequencies: [Float]
    /// The attention score scale, qk_head_dim^-0.5 (HF `self.scaling`).
    public var softmaxScale: Float
    /// cos/sin multiplier (YaRN's `attention_factor`; 1 otherwise).
    public var ropeAttentionScaling: Float

    /// qk_nope_head_dim + qk_rope_head_dim, the per-head query/key width.
    public var qkHeadDim: Int { mla.qkNopeHeadDim + mla.qkRopeHeadDim }

    /// Reads a "deepseek_v3" config.json.
    /// - Throws: `ModelError.wrongFamily`, or `.unsupportedOption` naming a key these blocks do not implement
    ///   (rope types other than default and yarn are refused).
    public init(_ config: ModelConfiguration) throws(ModelError) {
        guard config.modelType == .deepseekV3 else { throw .wrongFamily(expected: "deepseek_v3", found: config.modelType.rawValue) }
        guard config.hiddenAct == "silu" else { throw .unsupportedOption(key: "hidden_act", value: config.hiddenAct) }
        guard let mla = config.mla else { throw .unsupportedOption(key: "kv_lora_rank", value: "missing") }
        guard let moe = config.moe else { throw .unsupportedOption(key: "n_routed_experts", value: "missing") }
        guard let rope = config.rope else { throw .unsupportedOption(key: "rope_parameters", value: "missing") }
        guard rope.kind == .default || rope.kind == .yarn else { throw .unsupportedOption(key: "rope_type", value: rope.kind.rawValue) }
        guard mla.qkRopeHeadDim % 2 == 0 else { throw .unsupportedOption(key: "qk_rope_head_dim", value: "\(mla.qkRopeHeadDim) (odd)") }
        guard moe.topkMethod == "noaux_tc" else { throw .unsupportedOption(key: "topk_method", value: moe.topkMethod) }
        guard moe.scoringFunc == "sigmoid" else { throw .unsupportedOption(key: "scoring_func", value: moe.scoringFunc) }
        // HF takes the top 2 scores of every group, so a group needs at least 2 experts.
        guard moe.routedExperts / moe.groups >= 2 else { throw .unsupportedOption(key: "n_group", value: "\(moe.groups)") }
        guard moe.expertsPerToken <= moe.topkGroup * (moe.routedExperts / moe.groups) else {
            throw .unsupportedOption(key: "num_experts_per_tok", value: "\(moe.expertsPerToken) (more than the kept groups hold)")
        }
        hiddenSize = config.hiddenSize
        intermediateSize = config.intermediateSize
        layerCount = config.layerCount
        attentionHeads = config.attentionHeads
        vocabSize = config.vocabSize
        normEps = Float(config.normEps)
        tieWordEmbeddings = config.tieWordEmbeddings
        attentionBias = config.attentionBias
        self.mla = mla
        self.moe = moe
        let yarn = rope.kind == .yarn
        inverseFrequencies = RoPE.inverseFrequencies(rotaryDim: mla.qkRopeHeadDim, theta: Float(rope.theta),
                                                     scaling: yarn ? rope.yarnScaling(maxPositionEmbeddings: config.maxPositionEmbeddings) : .none)
        ropeAttentionScaling = rope.attentionScaling
        if yarn, let mscaleAllDim = rope.mscaleAllDim, mscaleAllDim != 0 {
            // `yarn_apply_mscale`: the softmax scale grows by mscale² (computed in Python doubles).
            let mscale = RoPE.yarnMscale(rope.factor, mscaleAllDim)
            softmaxScale = Float(pow(Double(mla.qkNopeHeadDim + mla.qkRopeHeadDim), -0.5) * mscale * mscale)
        } else {
            softmaxScale = 1 / Float(mla.qkNopeHeadDim + mla.qkRopeHeadDim).squareRoot()
        }
    }
}

// MARK: - Attention

/// `DeepseekV3Attention`: multi-head latent attention. Queries go through a low-rank q_a/q_b pair (or q_proj);
/// keys and values come from one compressed latent plus a single rotary key shared by every head.
struct DeepSeekV3Attention: Sendable {
    /// q_proj alone (`q_lora_rank: null`), or q_a_proj → q_a_layernorm → q_b_proj.
    enum QueryProjection: Sendable {
        case direct(qProj: LlamaLinear)
        case lowRank(qAProj: LlamaLinear, qALayernorm: Tensor, qBProj: LlamaLinear)
    }

    var query: QueryProjection
    var kvAProjWithMQA, kvBProj, oProj: LlamaLinear
    var kvALayernorm: Tensor
    let configuration: DeepSeekV3Configuration
    /// HF builds q_a_layernorm and kv_a_layernorm with the RMSNorm default eps, not `rms_norm_eps`.
    static let latentNormEps: Float = 1e-6

    /// Loads `<prefix>.{q_a_proj,q_a_layernorm,q_b_proj | q_proj, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj}`.
    init(_ tensors: CheckpointTensors, prefix: String, _ c: DeepSeekV3Configuration) throws(ModelError) {
        configuration = c
        let m = c.mla, h = c.attentionHeads
        if let rank = m.qLoraRank {
            query = .lowRank(
                qAProj: try LlamaLinear(tensors, "\(prefix).q_a_proj", outputs: rank, inputs: c.hiddenSize, bias: c.attentionBias),
                qALayernorm: try tensors.take("\(prefix).q_a_layernorm.weight", [rank]),
                qBProj: try LlamaLinear(tensors, "\(prefix).q_b_proj", outputs: h * c.qkHeadDim, inputs: rank, bias: false))
        } else {
            query = .direct(qProj: try LlamaLinear(tensors, "\(prefix).q_proj", outputs: h * c.qkHeadDim, inputs: c.hiddenSize,
                                                   bias: false))
        }
        kvAProjWithMQA = try LlamaLinear(tensors, "\(prefix).kv_a_proj_with_mqa", outputs: m.kvLoraRank + m.qkRopeHeadDim,
                                         inputs: c.hiddenSize, bias: c.attentionBias)
        kvALayernorm = try tensors.take("\(prefix).kv_a_layernorm.weight", [m.kvLoraRank])
        kvBProj = try LlamaLinear(tensors, "\(prefix).kv_b_proj", outputs: h * (m.qkNopeHeadDim + m.vHeadDim),
                                  inputs: m.kvLoraRank, bias: false)
        oProj = try LlamaLinear(tensors, "\(prefix).o_proj", outputs: c.hiddenSize, inputs: h * m.vHeadDim, bias: c.attentionBias)
    }

    /// x (B, T, C), rope rows (B·T), keyMask (B·Tk) over cached + new keys; appends this step's keys and values
    /// (zero-padded to a common width, see below) to `cache`. Returns (B, T, C).
    func callAsFunction(_ x: Tensor, rope: RoPETable, keyMask: [Bool], cache: inout LayerKVCache) -> Tensor {
        let c = configuration, m = c.mla, h = c.attentionHeads
        let (nope, rot, valueDim) = (m.qkNopeHeadDim, m.qkRopeHeadDim, m.vHeadDim)
        let layout: RoPELayout = m.ropeInterleave ? .interleaved : .halfSplit
        let queries = switch query {
        case .direct(let qProj): qProj(x)
        case .lowRank(let qAProj, let qALayernorm, let qBProj):
            qBProj(RMSNorm.forward(qAProj(x), weight: qALayernorm, eps: Self.latentNormEps).0)
        }
        let q = Heads.split(queries, heads: h)                                   // (B, H, T, nope + rot)
        let compressed = kvAProjWithMQA(x)                                       // (B, T, kvLoraRank + rot)
        let latent = MLAOps.sliceLast(compressed, from: 0, width: m.kvLoraRank)
        let kv = Heads.split(kvBProj(RMSNorm.forward(latent, weight: kvALayernorm, eps: Self.latentNormEps).0), heads: h)
        // HF `apply_rotary_pos_emb_interleave` de-interleaves (x0, x2, …, x1, x3, …) and rotates halves; rotating the
        // pairs (x2i, x2i+1) in place gives the same values in another order, and q and k share that order, so the
        // scores are identical.
        let qRot = RoPE.forward(MLAOps.sliceLast(q, from: nope, width: rot), table: rope, layout: layout)
        let kRot = RoPE.forward(Heads.split(MLAOps.sliceLast(compressed, from: m.kvLoraRank, width: rot), heads: 1),
                                table: rope, layout: layout)                     // (B, 1, T, rot), shared by all heads
        // Attention wants one width for q, k and v: pad with zeros (scores are unchanged since the scale is explicit,
        // and the value padding is cut off after).
        let width = max(nope + rot, valueDim)
        let queryStates = MLAOps.concatenateLast([MLAOps.sliceLast(q, from: 0, width: nope), qRot], width: width)
        let keyStates = MLAOps.concatenateLast([MLAOps.sliceLast(kv, from: 0, width: nope), kRot], width: width)
        let valueStates = MLAOps.concatenateLast([MLAOps.sliceLast(kv, from: nope, width: valueDim)], width: width)
        let options = AttentionOptions(causal: true, keyMask: keyMask, scale: c.softmaxScale)
        let output = cache.attend(query: queryStates, keys: keyStates, values: valueStates, options: options)
        return oProj(Heads.merge(MLAOps.sliceLast(output, from: 0, width: valueDim)))
    }
}

/// Slicing and joining along the last dimension, which MLA needs and KilnTensor has no kernel for.
enum MLAOps {
    /// x (…, W) → (…, width), columns from..<from + width.
    static func sliceLast(_ x: Tensor, from: Int, width: Int) -> Tensor {
        let full = x.shape.last!
        let rows = x.count / full
        var storage = [Float]()
        storage.reserveCapacity(rows * width)
        for row in 0..<rows { storage += x.storage[(row * full + from)..<(row * full + from + width)] }
        return Tensor(shape: Array(x.shape.dropLast()) + [width], storage: storage)
    }

    /// Pieces (B, Hi, T, Wi) with Hi = H or 1 (broadcast over heads) joined along the last dimension and
    /// zero-padded to `width`: (B, H, T, width).
    static func concatenateLast(_ pieces: [Tensor], width: Int) -> Tensor {
        let heads = pieces.map { $0.shape[1] }.max()!
        let (batch, steps) = (pieces[0].shape[0], pieces[0].shape[2])
        var y = Tensor(zeros: [batch, heads, steps, width])
        for b in 0..<batch {
            for h in 0..<heads {
                for t in 0..<steps {
                    var column = ((b * heads + h) * steps + t) * width
                    for piece in pieces {
                        let (ph, pw) = (piece.shape[1], piece.shape[3])
                        let source = ((b * ph + (ph == 1 ? 0 : h)) * steps + t) * pw
                        for i in 0..<pw { y.storage[column + i] = piece.storage[source + i] }
                        column += pw
                    }
                }
            }
        }
        return y
    }
}

// MARK: - Block

/// `DeepseekV3DecoderLayer`: pre-norm MLA and a dense MLP (first `first_k_dense_replace` layers) or the MoE.
struct DeepSeekV3Block: Sendable {
    var selfAttn: DeepSeekV3Attention
    var mlp: DeepSeekV3FeedForward
    var inputLayernorm, postAttentionLayernorm: Tensor
    let eps: Float

    /// Loads `model.layers.<index>.…`.
    init(_ tensors: CheckpointTensors, index: Int, _ c: DeepSeekV3Configuration) throws(ModelError) {
        let prefix = "model.layers.\(index)"
        selfAttn = try DeepSeekV3Attention(tensors, prefix: "\(prefix).self_attn", c)
        mlp = index < c.moe.firstKDenseReplace
            ? .dense(try DeepSeekV3MLP(tensors, prefix: "\(prefix).mlp", hidden: c.hiddenSize, intermediate: c.intermediateSize))
            : .experts(try DeepSeekV3MoE(tensors, prefix: "\(prefix).mlp", c))
        inputLayernorm = try tensors.take("\(prefix).input_layernorm.weight", [c.hiddenSize])
        postAttentionLayernorm = try tensors.take("\(prefix).post_attention_layernorm.weight", [c.hiddenSize])
        eps = c.normEps
    }

    /// x (B, T, C) → (B, T, C), and the routing of an MoE layer (nil for a dense one).
    func callAsFunction(_ x: Tensor, rope: RoPETable, keyMask: [Bool], cache: inout LayerKVCache) -> (Tensor, DeepSeekV3Routing?) {
        let attended = selfAttn(RMSNorm.forward(x, weight: inputLayernorm, eps: eps).0, rope: rope, keyMask: keyMask, cache: &cache)
        let h = FamilyOps.add(x, attended)
        let normed = RMSNorm.forward(h, weight: postAttentionLayernorm, eps: eps).0
        switch mlp {
        case .dense(let dense): return (FamilyOps.add(h, dense(normed)), nil)
        case .experts(let moe):
            let (y, routing) = moe(normed)
            return (FamilyOps.add(h, y), routing)
        }
    }
}

// MARK: - Model

/// `DeepseekV3ForCausalLM`: embed_tokens, L decoder layers, the final norm and lm_head.
public struct DeepSeekV3Model: CausalLM {
    /// The resolved settings.
    public let configuration: DeepSeekV3Configuration
    var embedTokens: Tensor
    var layers: [DeepSeekV3Block]
    var norm: Tensor
    var lmHead: Tensor

    /// Builds the model from sanitized HF-named tensors, checking each shape against the configuration.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape` naming the tensor.
    public init(configuration c: DeepSeekV3Configuration, weights: [String: Tensor], adapters: AdapterUpdates = [:]) throws(ModelError) {
        let tensors = CheckpointTensors(tensors: Self.sanitize(weights: weights, configuration: c), adapters: adapters)
        configuration = c
        embedTokens = try tensors.take("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])
        layers = []
        for index in 0..<c.layerCount { layers.append(try DeepSeekV3Block(tensors, index: index, c)) }
        norm = try tensors.take("model.norm.weight", [c.hiddenSize])
        lmHead = try tensors.take("lm_head.weight", [c.vocabSize, c.hiddenSize])
    }

    /// Loads a "deepseek_v3" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> DeepSeekV3Model {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> DeepSeekV3Model {
        let config = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let configuration = try DeepSeekV3Configuration(config)
        return try DeepSeekV3Model(configuration: configuration, weights: CheckpointTensors.read(WeightMap(folder: folder)), adapters: adapters)
    }

    /// Drops rotary `inv_freq` buffers and the multi-token-prediction layers (`model.layers.<L>…`, which
    /// `DeepseekV3ForCausalLM` never loads), and ties lm_head to embed_tokens when configured.
    public static func sanitize(weights: [String: Tensor], configuration: DeepSeekV3Configuration) -> [String: Tensor] {
        let extra = "model.layers.\(configuration.layerCount)."
        var weights = weights.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") && !$0.key.hasPrefix(extra) }
        if configuration.tieWordEmbeddings, let embedding = weights["model.embed_tokens.weight"] {
            weights["lm_head.weight"] = embedding
        }
        return weights
    }

    /// inputIds (B, T), attentionMask (B, T) or nil (all ones), positionIds (B, T) or nil (0..<T).
    /// Returns logits (B, T, V) and L+1 hidden states (B, T, C); rows at left-pad positions are not HF's.
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        var cache = LlamaCache(layers: layers.count, batch: inputIds.count)
        return try forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds, cache: &cache).output
    }

    /// As `forward(inputIds:attentionMask:positionIds:)` for T new steps after the Tpast in `cache`, which it extends;
    /// also returns each MoE layer's routing, keyed by layer index.
    /// - Throws: `ModelError.invalidInput` for ragged rows, ids outside the vocabulary or a cache of another batch size.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?,
                        cache: inout LlamaCache) throws(ModelError) -> (output: CausalLMOutput, routing: [Int: DeepSeekV3Routing]) {
        let c = configuration
        let (batch, steps, positions, keyMask) = try cache.advance(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds,
                                                                   layers: layers.count, vocabulary: c.vocabSize)
        let rope = RoPE.table(positions: Array(positions.joined()), inverseFrequencies: c.inverseFrequencies,
                              attentionScaling: c.ropeAttentionScaling)

        var x = Embedding.forward(ids: Array(inputIds.joined()), table: embedTokens).reshaped([batch, steps, c.hiddenSize])
        var hiddenStates = [x]
        var routing: [Int: DeepSeekV3Routing] = [:]
        for (index, layer) in layers.enumerated() {
            let (y, layerRouting) = layer(x, rope: rope, keyMask: keyMask, cache: &cache.layers[index])
            x = y
            routing[index] = layerRouting
            if index < layers.count - 1 { hiddenStates.append(x) }
        }
        x = RMSNorm.forward(x, weight: norm, eps: c.normEps).0
        hiddenStates.append(x)
        return (CausalLMOutput(logits: MatMul.forward(x, weight: lmHead), hiddenStates: hiddenStates), routing)
    }
}

extension DeepSeekV3Model: IncrementalDecoder {
    /// V.
    public var vocabularySize: Int { configuration.vocabSize }

    /// An empty cache for `batch` rows.
    public func makeCache(batch: Int) -> LlamaCache { LlamaCache(layers: layers.count, batch: batch) }

    /// Logits of the new steps after those in `cache`, positions continuing its mask.
    public func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout LlamaCache,
                             lastStepOnly: Bool) throws(ModelError) -> Tensor {
        let (mask, positions) = cache.generationInputs(inputIds, attentionMask: attentionMask)
        let logits = try forward(inputIds: inputIds, attentionMask: mask, positionIds: positions, cache: &cache).output.logits
        return lastStepOnly ? FamilyOps.lastStep(logits) : logits
    }
}
