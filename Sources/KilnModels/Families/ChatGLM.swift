// ChatGLM2-6B, ChatGLM3-6B and the original glm-4-9b-chat (`model_type` "chatglm", remote `modeling_chatglm.py`),
// run as the transformers-native GLM-4 model of GLM.swift. `sanitize` is transformers' converter
// `src/transformers/models/glm/convert_glm_weights_to_hf.py` (STATE_DICT_MAPPING + the split of `query_key_value`),
// as restated in Tests/Fixtures/README.md §9.1, with two of its shortcuts fixed: the q/k/v split uses
// `kv_channels`, and the RoPE base is 10000·`rope_ratio` (ModelConfiguration resolves it).
import Foundation
import KilnTensor

// MARK: - Configuration

extension GLMConfiguration {
    /// ChatGLM's config mapped as the converter's `convert_config` does (README §9.1), refusing the variants
    /// whose network GLM-4 does not compute.
    /// - Throws: `ModelError.wrongFamily` unless `model_type` is "chatglm"; `.unsupportedOption` naming the
    ///   ChatGLM key (`rmsnorm: false`, `post_layer_norm: false`, `apply_residual_connection_post_layernorm: true`,
    ///   `add_bias_linear: true`).
    public static func chatGLM(_ config: ModelConfiguration) throws(ModelError) -> GLMConfiguration {
        guard config.modelType == .chatglm, let options = config.chatGLM else {
            throw .wrongFamily(expected: "chatglm", found: config.modelType.rawValue)
        }
        // ChatGLM's GLMBlock picks LayerNorm vs RMSNorm, residual source and final norm by these flags;
        // every released ChatGLM2/3/GLM-4 checkpoint has the values GLM-4 hard-codes.
        guard options.rmsNorm else { throw .unsupportedOption(key: "rmsnorm", value: "false") }
        guard options.postLayerNorm else { throw .unsupportedOption(key: "post_layer_norm", value: "false") }
        guard !options.residualPostLayerNorm else {
            throw .unsupportedOption(key: "apply_residual_connection_post_layernorm", value: "true")
        }
        // add_bias_linear puts a bias on `dense` and both MLP projections; GlmAttention/GlmMLP have none.
        guard !config.mlpBias else { throw .unsupportedOption(key: "add_bias_linear", value: "true") }
        return try GLMConfiguration(config)
    }
}

// MARK: - Model

/// `ChatGLMForConditionalGeneration` checkpoints run by a `GLMModel` after renaming and splitting their tensors.
public struct ChatGLMModel: CausalLM {
    /// The GLM-4 network the checkpoint was mapped onto.
    public let base: GLMModel

    /// Builds the model from ChatGLM-named tensors (`transformer.…`); `multiQueryAttention` is config.json's flag,
    /// which decides the row order of the fused `query_key_value`.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`, naming the ChatGLM tensor the GLM one came from.
    public init(configuration: GLMConfiguration, weights: [String: Tensor], multiQueryAttention: Bool = true) throws(ModelError) {
        let mapped = try Self.sanitize(weights: weights, configuration: configuration, multiQueryAttention: multiQueryAttention)
        do {
            base = try GLMModel(configuration: configuration, weights: mapped)
        } catch .missingTensor(let name) {
            throw .missingTensor(Self.checkpointName(of: name))
        } catch .wrongShape(let name, let expected, let found) {
            throw .wrongShape(tensor: Self.checkpointName(of: name), expected: expected, found: found)
        }
    }

    /// Loads a "chatglm" folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    public static func load(folder: URL) throws -> ChatGLMModel {
        let config = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let configuration = try GLMConfiguration.chatGLM(config)
        return try ChatGLMModel(configuration: configuration, weights: CheckpointTensors.read(WeightMap(folder: folder)),
                                multiQueryAttention: config.chatGLM?.multiQueryAttention ?? true)
    }

    /// Whole-name renames from the converter's STATE_DICT_MAPPING (ChatGLM → GLM-4).
    static let topLevelNames = [
        "transformer.embedding.word_embeddings.weight": "model.embed_tokens.weight",
        "transformer.encoder.final_layernorm.weight": "model.norm.weight",
        "transformer.output_layer.weight": "lm_head.weight",
    ]
    /// Per-layer suffix renames under `transformer.encoder.layers.ℓ.` → `model.layers.ℓ.`.
    static let layerNames = [
        "input_layernorm.weight": "input_layernorm.weight",
        "post_attention_layernorm.weight": "post_attention_layernorm.weight",
        "self_attention.dense.weight": "self_attn.o_proj.weight",
        "mlp.dense_h_to_4h.weight": "mlp.gate_up_proj.weight",
        "mlp.dense_4h_to_h.weight": "mlp.down_proj.weight",
    ]
    /// Where ChatGLM keeps its decoder layers (`GLMTransformer.layers` under `transformer.encoder`).
    static let layerPrefix = "transformer.encoder.layers."

    /// Renames ChatGLM tensors to GLM-4 names, splits `query_key_value` into q/k/v, and drops the
    /// `rotary_pos_emb.inv_freq` buffer (recomputed from config; ChatGLM's own forward never reads it either).
    /// Other names pass through unchanged, so a non-ChatGLM checkpoint fails on the first missing tensor.
    /// - Throws: `ModelError.wrongShape` for a fused q|k|v tensor whose rows do not match (H + 2·KVH)·D.
    public static func sanitize(weights: [String: Tensor], configuration c: GLMConfiguration,
                                multiQueryAttention: Bool = true) throws(ModelError) -> [String: Tensor] {
        var mapped: [String: Tensor] = [:]
        for (name, tensor) in weights {
            if name.hasSuffix("rotary_pos_emb.inv_freq") { continue }
            if let renamed = topLevelNames[name] {
                mapped[renamed] = tensor
                continue
            }
            guard let (layer, suffix) = layerParts(name) else {
                mapped[name] = tensor
                continue
            }
            let target = "model.layers.\(layer)."
            if let renamed = layerNames[suffix] {
                mapped[target + renamed] = tensor
            } else if suffix == "self_attention.query_key_value.weight" || suffix == "self_attention.query_key_value.bias" {
                let kind = suffix.hasSuffix("weight") ? "weight" : "bias"
                for (projection, part) in try splitQKV(tensor, name: name, c, multiQuery: multiQueryAttention) {
                    mapped[target + "self_attn.\(projection).\(kind)"] = part
                }
            } else {
                mapped[name] = tensor
            }
        }
        return mapped
    }

    /// (ℓ, rest) for `transformer.encoder.layers.ℓ.rest`, nil for other names.
    static func layerParts(_ name: String) -> (Int, String)? {
        guard name.hasPrefix(layerPrefix) else { return nil }
        let tail = name.dropFirst(layerPrefix.count)
        guard let dot = tail.firstIndex(of: "."), let layer = Int(tail[..<dot]) else { return nil }
        return (layer, String(tail[tail.index(after: dot)...]))
    }

    /// The ChatGLM name a sanitized GLM-4 name came from, for errors; unmapped names are returned as they are.
    static func checkpointName(of glmName: String) -> String {
        if let original = topLevelNames.first(where: { $0.value == glmName })?.key { return original }
        let prefix = "model.layers."
        guard glmName.hasPrefix(prefix) else { return glmName }
        let tail = glmName.dropFirst(prefix.count)
        guard let dot = tail.firstIndex(of: ".") else { return glmName }
        let (layer, suffix) = (tail[..<dot], String(tail[tail.index(after: dot)...]))
        if let original = layerNames.first(where: { $0.value == suffix })?.key { return "\(layerPrefix)\(layer).\(original)" }
        for projection in ["q_proj", "k_proj", "v_proj"] {
            for kind in ["weight", "bias"] where suffix == "self_attn.\(projection).\(kind)" {
                return "\(layerPrefix)\(layer).self_attention.query_key_value.\(kind)"
            }
        }
        return glmName
    }

    /// Cuts a fused q|k|v weight ((H + 2·KVH)·D, C) or bias ((H + 2·KVH)·D) into q_proj, k_proj and v_proj rows.
    /// With `multi_query_attention` the rows are `cat([q; k; v])`, each block head-major (README §9.1); without it
    /// (KVH = H) ChatGLM views them as (H, 3·D) and splits each head's row block into q, k, v (`SelfAttention.forward`).
    /// - Throws: `ModelError.wrongShape` naming the ChatGLM tensor.
    static func splitQKV(_ fused: Tensor, name: String, _ c: GLMConfiguration, multiQuery: Bool) throws(ModelError) -> [(String, Tensor)] {
        let (d, heads, kvHeads) = (c.headDim, c.attentionHeads, c.kvHeads)
        let rows = (heads + 2 * kvHeads) * d
        let expected = fused.rank == 1 ? [rows] : [rows, c.hiddenSize]
        guard fused.shape == expected else { throw .wrongShape(tensor: name, expected: expected, found: fused.shape) }
        let width = fused.rank == 1 ? 1 : c.hiddenSize
        let query, key, value: [Range<Int>]
        if !multiQuery {
            query = (0..<heads).map { ($0 * 3 * d)..<($0 * 3 * d + d) }
            key = query.map { ($0.lowerBound + d)..<($0.upperBound + d) }
            value = query.map { ($0.lowerBound + 2 * d)..<($0.upperBound + 2 * d) }
        } else {
            query = [0..<(heads * d)]
            key = [(heads * d)..<((heads + kvHeads) * d)]
            value = [((heads + kvHeads) * d)..<rows]
        }
        func gather(_ ranges: [Range<Int>]) -> Tensor {
            var storage = [Float]()
            for range in ranges { storage += fused.storage[(range.lowerBound * width)..<(range.upperBound * width)] }
            let count = ranges.reduce(0) { $0 + $1.count }
            return Tensor(shape: fused.rank == 1 ? [count] : [count, width], storage: storage)
        }
        return [("q_proj", gather(query)), ("k_proj", gather(key)), ("v_proj", gather(value))]
    }

    /// inputIds/attentionMask/positionIds (B, T) → logits (B, T, V) and L+1 hidden states (B, T, C), as GLM-4.
    /// - Throws: `ModelError.invalidInput` for ragged rows or ids outside the vocabulary.
    public func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput {
        try base.forward(inputIds: inputIds, attentionMask: attentionMask, positionIds: positionIds)
    }
}

extension ChatGLMModel: DelegatingDecoder {}
