// Port of transformers `src/transformers/models/gpt2/modeling_gpt2.py` (v5.24.0, eager attention, the version
// that wrote Tests/Fixtures/models/gpt2): GPT2Attention, GPT2MLP, GPT2Block, GPT2Model and GPT2LMHeadModel
// (tied lm_head). Conv1D weights are stored [in, out]; `sanitize` turns them into Linear's (out, in).
import Foundation
import KilnTensor

// MARK: - Configuration

/// The config.json fields GPT-2's forward pass reads, validated against what this port implements.
public struct GPT2Configuration: Sendable, Equatable {
    /// C (`n_embd`).
    public var hiddenSize: Int
    /// L (`n_layer`).
    public var layerCount: Int
    /// H (`n_head`); head dim D = C / H.
    public var heads: Int
    /// MLP width (`n_inner`, default 4·C).
    public var intermediateSize: Int
    /// V (`vocab_size`).
    public var vocabSize: Int
    /// Rows of the position table (`n_positions`): the largest position id + 1.
    public var maxPositions: Int
    /// LayerNorm epsilon (`layer_norm_epsilon`).
    public var eps: Float
    /// `activation_function`: "gelu_new"/"gelu_pytorch_tanh" → tanh, "gelu" → exact.
    public var activation: GELUApproximation
    /// `scale_attn_weights` (default true): scores divided by √D.
    public var scaleAttentionWeights: Bool
    /// `scale_attn_by_inverse_layer_idx` (default false): scores of layer i also divided by i + 1.
    public var scaleByInverseLayerIndex: Bool
    /// `tie_word_embeddings` (default true): lm_head reuses wte.
    public var tieWordEmbeddings: Bool

    /// GPT-2-only keys that `ModelConfiguration` does not carry.
    struct Extras: Decodable {
        var scaleAttentionWeights: Bool?
        var scaleByInverseLayerIndex: Bool?
        var addCrossAttention: Bool?

        enum CodingKeys: String, CodingKey {
            case scaleAttentionWeights = "scale_attn_weights"
            case scaleByInverseLayerIndex = "scale_attn_by_inverse_layer_idx"
            case addCrossAttention = "add_cross_attention"
        }
    }

    /// Reads and checks `config.json` at `url`.
    /// - Throws: `ConfigError` for a malformed file, `ModelError` for another family or an unsupported option.
    public static func load(url: URL) throws -> GPT2Configuration {
        try GPT2Configuration(ModelConfiguration.load(url: url), extras: ConfigError.decodeFile(Extras.self, url: url))
    }

    init(_ config: ModelConfiguration, extras: Extras) throws(ModelError) {
        guard config.modelType == .gpt2 else { throw .wrongFamily(expected: "gpt2", found: config.modelType.rawValue) }
        guard config.hiddenSize % config.attentionHeads == 0 else {
            throw .unsupportedOption(key: "n_head", value: "\(config.attentionHeads) does not divide n_embd \(config.hiddenSize)")
        }
        switch config.hiddenAct {
        case "gelu_new", "gelu_pytorch_tanh": activation = .tanh
        case "gelu": activation = .exact
        default: throw .unsupportedOption(key: "activation_function", value: config.hiddenAct)
        }
        if extras.addCrossAttention == true { throw .unsupportedOption(key: "add_cross_attention", value: "true") }
        hiddenSize = config.hiddenSize
        layerCount = config.layerCount
        heads = config.attentionHeads
        intermediateSize = config.intermediateSize
        vocabSize = config.vocabSize
        maxPositions = config.maxPositionEmbeddings ?? 1024
        eps = Float(config.normEps)
        scaleAttentionWeights = extras.scaleAttentionWeights ?? true
        scaleByInverseLayerIndex = extras.scaleByInverseLayerIndex ?? false
        tieWordEmbeddings = config.tieWordEmbeddings
    }
}

// MARK: - Attention

/// GPT2Attention: fused c_attn projection to q|k|v, causal attention, c_proj.
struct GPT2Attention: Sendable {
    /// (3C, C) after sanitize: rows 0..<C give q, C..<2C k, 2C..<3C v.
    var cAttn: LinearLayer
    /// (C, C).
    var cProj: LinearLayer
    var heads: Int
    /// 1/√D, further divided by (layer + 1) under `scale_attn_by_inverse_layer_idx`.
    var scale: Float
    /// llama.cpp's float16 attention numerics (`CheckpointTensors.llamaCppNumerics`).
    var halfPrecision = false

    /// x is (B, T, C); keyMask (B·Tk) covers cached and new keys. Appends this step's k, v to `cache`.
    func forward(_ x: Tensor, keyMask: [Bool]?, cache: inout LayerKVCache) -> Tensor {
        // HF eager: scores + causal/padding mask, softmax, PV. Fully masked (left-pad) query rows differ
        // (HF: uniform over all keys; here: zeros) but no real position reads them.
        var options = AttentionOptions(causal: true, keyMask: keyMask, scale: scale)
        options.halfPrecision = halfPrecision
        return cProj(cache.attend(fusedQKV: cAttn(x), heads: heads, options: options))
    }
}

// MARK: - MLP

/// GPT2MLP: c_fc, GELU, c_proj.
struct GPT2MLP: Sendable {
    /// (I, C) after sanitize.
    var cFc: LinearLayer
    /// (C, I) after sanitize.
    var cProj: LinearLayer
    var activation: GELUApproximation
    /// llama.cpp's float16 GELU table instead of `activation` (`CheckpointTensors.llamaCppNumerics`).
    var tabulated = false

    /// x (B, T, C) → (B, T, C).
    func forward(_ x: Tensor) -> Tensor {
        let h = cFc(x)
        return cProj(tabulated ? GELU.llamaCppForward(h) : GELU.forward(h, approximation: activation))
    }
}

// MARK: - Block

/// GPT2Block: pre-LN residual attention then pre-LN residual MLP.
struct GPT2Block: Sendable {
    var ln1: LayerNormLayer
    var attention: GPT2Attention
    var ln2: LayerNormLayer
    var mlp: GPT2MLP

    /// x (B, T, C) → (B, T, C): h = x + attn(ln_1(x)); h + mlp(ln_2(h)).
    func forward(_ x: Tensor, keyMask: [Bool]?, cache: inout LayerKVCache) -> Tensor {
        let h = FamilyOps.add(x, attention.forward(ln1(x), keyMask: keyMask, cache: &cache))
        return FamilyOps.add(h, mlp.forward(ln2(h)))
    }
}

// MARK: - Model

/// GPT2LMHeadModel: token + position embeddings, L blocks, ln_f, and the tied LM head.
public struct GPT2Model: CausalLM {
    /// The validated configuration.
    public let configuration: GPT2Configuration
    /// (V, C) token embeddings `wte`, also the LM head when tied.
    let wte: LinearWeight
    /// (maxPositions, C) learned position embeddings `wpe`.
    let wpe: Tensor
    let blocks: [GPT2Block]
    let lnF: LayerNormLayer
    /// (V, C): `wte`, or `lm_head.weight` when the config unties it.
    let lmHead: LinearWeight

    /// Loads config.json and the checkpoint from an HF GPT-2 folder.
    /// - Throws: `ConfigError`, `SafeTensorsError`, or `ModelError` naming a missing or misshapen tensor.
    public static func load(folder: URL) throws -> GPT2Model {
        try load(folder: folder, adapters: [:])
    }

    /// Loads a folder with unmerged LoRA `adapters` applied beside its weights.
    /// - Throws: as `load(folder:)`, or `ModelError.wrongShape` for an adapter that does not fit its weight.
    public static func load(folder: URL, adapters: AdapterUpdates) throws -> GPT2Model {
        let configuration = try GPT2Configuration.load(url: folder.appendingPathComponent("config.json"))
        let weights = try CheckpointTensors.read(WeightMap(folder: folder))
        return try GPT2Model(configuration: configuration, weights: sanitize(weights: weights), adapters: adapters)
    }

    /// Builds the model from sanitized weights (`transformer.`-prefixed HF names, Linear layout).
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public init(configuration: GPT2Configuration, weights: [String: Tensor], adapters: AdapterUpdates = [:]) throws(ModelError) {
        try self.init(configuration: configuration, tensors: CheckpointTensors(tensors: weights, adapters: adapters))
    }

    /// Builds the model from sanitized names whose matrices may stay in a GGUF file's encoding.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public init(configuration: GPT2Configuration, tensors t: CheckpointTensors) throws(ModelError) {
        let c = configuration
        let (width, inner) = (c.hiddenSize, c.intermediateSize)
        func norm(_ prefix: String) throws(ModelError) -> LayerNormLayer {
            LayerNormLayer(weight: try t.take(prefix + ".weight", [width]), bias: try t.take(prefix + ".bias", [width]), eps: c.eps)
        }
        func linear(_ prefix: String, _ out: Int, _ input: Int) throws(ModelError) -> LinearLayer {
            LinearLayer(weight: try t.takeLinear(prefix + ".weight", [out, input]), bias: try t.take(prefix + ".bias", [out]),
                        updates: try t.updates(prefix + ".weight", outputs: out, inputs: input))
        }
        self.configuration = c
        wte = try t.takeLinear("transformer.wte.weight", [c.vocabSize, width])
        wpe = try t.take("transformer.wpe.weight", [c.maxPositions, width])
        var blocks: [GPT2Block] = []
        for layer in 0..<c.layerCount {
            let p = "transformer.h.\(layer)"
            var scale: Float = c.scaleAttentionWeights ? 1 / Float(width / c.heads).squareRoot() : 1
            if c.scaleByInverseLayerIndex { scale /= Float(layer + 1) }
            blocks.append(GPT2Block(
                ln1: try norm(p + ".ln_1"),
                attention: GPT2Attention(cAttn: try linear(p + ".attn.c_attn", 3 * width, width),
                                         cProj: try linear(p + ".attn.c_proj", width, width), heads: c.heads, scale: scale,
                                         halfPrecision: t.llamaCppNumerics),
                ln2: try norm(p + ".ln_2"),
                mlp: GPT2MLP(cFc: try linear(p + ".mlp.c_fc", inner, width), cProj: try linear(p + ".mlp.c_proj", width, inner),
                             activation: c.activation, tabulated: t.llamaCppNumerics)))
        }
        self.blocks = blocks
        lnF = try norm("transformer.ln_f")
        lmHead = c.tieWordEmbeddings ? wte : try t.takeLinear("lm_head.weight", [c.vocabSize, width])
    }

    /// ids, mask (B, T); positionIds (B, T) or nil for 0..<T (HF's `cache_position` default, whatever the mask).
    /// Returns logits (B, T, V) and L+1 hidden states (B, T, C); only mask-1 positions match HF exactly.
    /// - Throws: `ModelError.invalidInput` for ragged rows, unknown ids or positions ≥ n_positions.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        let c = configuration
        let (batch, steps) = try BatchCheck.dims(ids: inputIds, mask: attentionMask, positions: positionIds,
                                                 vocabulary: c.vocabSize, maxPosition: c.maxPositions)
        guard positionIds != nil || steps <= c.maxPositions else {
            throw ModelError.invalidInput(reason: "\(steps) steps exceed n_positions \(c.maxPositions)")
        }
        let positions = positionIds ?? Array(repeating: Array(0..<steps), count: batch)
        let keyMask = attentionMask.map { $0.joined().map { $0 == 1 } }
        var caches = Array(repeating: LayerKVCache(), count: blocks.count)
        return run(ids: inputIds, positions: positions, keyMask: keyMask, caches: &caches, lastStepOnly: false)
    }

    /// The shared forward: ids and positions (B, T) already checked, keyMask (B·Tk) over cached + new keys.
    /// With `lastStepOnly` the logits are (B, 1, V) and no hidden states are kept (generation).
    func run(ids: [[Int]], positions: [[Int]], keyMask: [Bool]?, caches: inout [LayerKVCache],
             lastStepOnly: Bool) -> CausalLMOutput {
        let (batch, steps, width) = (ids.count, ids[0].count, configuration.hiddenSize)
        let tokens = wte.gather(Array(ids.joined()))
        let places = Embedding.forward(ids: Array(positions.joined()), table: wpe)
        var x = FamilyOps.add(tokens, places).reshaped([batch, steps, width])
        var hidden: [Tensor] = lastStepOnly ? [] : [x]
        for (layer, block) in blocks.enumerated() {
            x = block.forward(x, keyMask: keyMask, cache: &caches[layer])
            if !lastStepOnly && layer + 1 < blocks.count { hidden.append(x) }
        }
        x = lnF(lastStepOnly ? FamilyOps.lastStep(x) : x)
        if !lastStepOnly { hidden.append(x) }
        return CausalLMOutput(logits: lmHead.apply(x), hiddenStates: hidden)
    }

    // MARK: - sanitize

    /// Checkpoint names and layouts → what `init(configuration:weights:)` reads: adds the `transformer.` prefix that
    /// OpenAI-era files lack, drops the causal-mask buffers (`attn.bias`, `attn.masked_bias`), and transposes the
    /// Conv1D weights ([in, out]) to Linear's (out, in). A tied `lm_head.weight`, if stored, is simply not read.
    public static func sanitize(weights: [String: Tensor]) -> [String: Tensor] {
        let conv1D = [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"]
        var result: [String: Tensor] = [:]
        for (name, tensor) in weights {
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }
            let key = name.hasPrefix("transformer.") || name.hasPrefix("lm_head.") ? name : "transformer." + name
            result[key] = conv1D.contains(where: key.hasSuffix) ? FamilyOps.transposed(tensor) : tensor
        }
        return result
    }
}

/// Per-layer keys and values plus the cached steps' mask: the same bookkeeping as LLaMA's, so the same type.
public typealias GPT2Cache = LlamaCache

extension GPT2Model: IncrementalDecoder {
    /// V.
    public var vocabularySize: Int { configuration.vocabSize }

    /// An empty cache for `batch` rows.
    public func makeCache(batch: Int) -> GPT2Cache { GPT2Cache(layers: blocks.count, batch: batch) }

    /// Logits of the new steps after those in `cache`; learned positions continue each row's mask count.
    /// - Throws: `ModelError.invalidInput` for bad ids or masks, or a position past n_positions.
    public func decodeLogits(_ inputIds: [[Int]], attentionMask: [[Int]]?, cache: inout GPT2Cache,
                             lastStepOnly: Bool) throws(ModelError) -> Tensor {
        let (mask, positions) = cache.generationInputs(inputIds, attentionMask: attentionMask)
        if let bad = positions.joined().first(where: { $0 >= configuration.maxPositions }) {
            throw .invalidInput(reason: "position \(bad) is past n_positions \(configuration.maxPositions)")
        }
        let (_, _, _, keyMask) = try cache.advance(inputIds: inputIds, attentionMask: mask, positionIds: positions,
                                                   layers: blocks.count, vocabulary: configuration.vocabSize)
        return run(ids: inputIds, positions: positions, keyMask: keyMask, caches: &cache.layers, lastStepOnly: lastStepOnly).logits
    }
}

extension GPT2Model {
    /// Bytes of weights one decoding step reads: every matrix and norm once (the tied wte once, as the LM head);
    /// the embedding lookups touch one row each.
    public var weightBytes: Int {
        var bytes = lmHead.byteCount + (lnF.weight.count + lnF.bias.count) * 4
        for block in blocks {
            for linear in [block.attention.cAttn, block.attention.cProj, block.mlp.cFc, block.mlp.cProj] {
                bytes += linear.weight.byteCount + (linear.bias?.count ?? 0) * 4
            }
            bytes += (block.ln1.weight.count * 2 + block.ln2.weight.count * 2) * 4
        }
        return bytes
    }
}
