// Runs a GGUF file's weights in place. The metadata becomes the config.json transformers would derive
// (`integrations/ggml.py` GGUF_CONFIG_MAPPING) and goes through the same validated decode as a folder's;
// llama.cpp tensor names (`convert_hf_to_gguf.py` / gguf-py `TENSOR_MAPPING`) are renamed to HF's; matrices
// stay in their block encoding (`QuantizedMatrix`) and only 1-D tensors (norms, biases) are widened.
import Foundation
import KilnTensor

/// Why a GGUF file could not be run.
public enum GGUFModelError: Error, Equatable, Sendable {
    /// `general.architecture` names a model Kiln does not run from GGUF.
    case unsupportedArchitecture(String, supported: [String])
    /// A required hyper-parameter key is absent or has the wrong type.
    case missingMetadata(String)
    /// A tensor name no mapping covers (a layout this loader would silently mis-run).
    case unexpectedTensor(String)
}

extension GGUFModelError: LocalizedError {
    /// A one-sentence explanation naming the key or tensor.
    public var errorDescription: String? {
        switch self {
        case .unsupportedArchitecture(let arch, let supported):
            "GGUF architecture \"\(arch)\" is not supported; supported: \(supported.joined(separator: ", "))."
        case .missingMetadata(let key): "The GGUF metadata lacks \(key) (or it has the wrong type)."
        case .unexpectedTensor(let name): "The GGUF file holds tensor \(name), which Kiln does not know how to use."
        }
    }
}

/// GGUF files as runnable models: LLaMA-shaped architectures here, GPT-2, BLOOM and GLM in GGUFFamilies.swift.
public enum GGUFModel {
    /// `general.architecture` values → HF `model_type` (llama.cpp's "chatglm" is GLM-4's `glm`).
    public static let architectures: [String: String] = ["llama": "llama", "mistral": "mistral", "qwen2": "qwen2", "qwen3": "qwen3",
                                                         "gpt2": "gpt2", "bloom": "bloom", "chatglm": "glm"]
    /// The architectures that run on the LLaMA blocks (`load`, `checkpoint`, and training from a GGUF base).
    public static let llamaArchitectures = ["llama", "mistral", "qwen2", "qwen3"]

    /// Opens `url` and builds its model.
    /// - Throws: `GGUFError`, `GGUFModelError`, `ConfigError` or `ModelError` naming what is at fault.
    public static func load(url: URL) throws -> LlamaModel {
        try load(reader: GGUFReader(url: url))
    }

    /// Builds the model of an open file; its matrices keep referencing the file's mapping.
    /// - Throws: `GGUFModelError`, `ConfigError` or `ModelError`.
    public static func load(reader: GGUFReader) throws -> LlamaModel {
        try load(reader: reader, adapters: [:])
    }

    /// Builds the model with unmerged LoRA `adapters` (HF names and row order) beside its quantised weights. For files
    /// whose q/k rows llama.cpp permuted, each q/k update's B rows take the same permutation, so the update lands on
    /// the rows it was trained for.
    /// - Throws: as `load(reader:)`, or `ModelError.missingTensor` for an update of a weight the file lacks.
    public static func load(reader: GGUFReader, adapters: AdapterUpdates) throws -> LlamaModel {
        let (configuration, file) = try checkpoint(reader: reader)
        var tensors = file
        for name in adapters.keys where tensors.quantized[name] == nil && tensors.tensors[name] == nil {
            throw ModelError.missingTensor("\(name) (adapted by a LoRA adapter)")
        }
        tensors.adapters = placed(adapters, configuration)
        return try LlamaModel(configuration: configuration, tensors: tensors)
    }

    /// `adapters` (HF row order) in the file's row order: where llama.cpp permuted a q/k weight's rows, the update's B
    /// rows take the same permutation.
    static func placed(_ adapters: AdapterUpdates, _ configuration: LlamaConfiguration) -> AdapterUpdates {
        var placed: AdapterUpdates = [:]
        for (name, updates) in adapters {
            let heads = name.hasSuffix("self_attn.q_proj.weight") ? configuration.attentionHeads
                : name.hasSuffix("self_attn.k_proj.weight") ? configuration.kvHeads : nil
            guard configuration.ropeLayout == .interleaved, let heads else {
                placed[name] = updates
                continue
            }
            placed[name] = updates.map { update in
                let (rows, rank) = (update.b.shape[0], update.b.shape[1])
                var permuted = [Float](repeating: 0, count: update.b.count)
                for (hfRow, fileRow) in BaseCheckpoint.halfSplitOrder(rows: rows, heads: heads).enumerated() {
                    permuted.replaceSubrange((fileRow * rank)..<((fileRow + 1) * rank), with: update.b.storage[(hfRow * rank)..<((hfRow + 1) * rank)])
                }
                return LowRankUpdate(a: update.a, b: Tensor(shape: update.b.shape, storage: permuted), scaling: update.scaling)
            }
        }
        return placed
    }

    /// The configuration and HF-named tensors of an open file (matrices in place, vectors widened), for `load` and
    /// for code that builds its own graph over the weights.
    /// - Throws: `GGUFModelError`, `ConfigError` or `ModelError`.
    public static func checkpoint(reader: GGUFReader) throws -> (LlamaConfiguration, CheckpointTensors) {
        let arch = reader.architecture ?? ""
        guard architectures[arch] != nil else { throw GGUFModelError.unsupportedArchitecture(arch, supported: architectures.keys.sorted()) }
        // The GPT-2, BLOOM and GLM files run through `loadAny`; this path (and training) is the LLaMA blocks'.
        guard llamaArchitectures.contains(arch) else { throw GGUFModelError.unsupportedArchitecture(arch, supported: llamaArchitectures) }
        let config = try configuration(reader: reader)
        var c: LlamaConfiguration
        switch config.modelType {
        case .mistral: c = try LlamaConfiguration.mistral(config)
        case .qwen2: c = try LlamaConfiguration.qwen2(config)
        case .qwen3: c = try LlamaConfiguration.qwen3(config)
        default: c = try LlamaConfiguration.llama(config)
        }
        // llama.cpp's converter permutes q/k rows for "llama" (and "mistral") into the neighbour-pair layout.
        if reader.architecture == "llama" || reader.architecture == "mistral" { c.ropeLayout = .interleaved }
        var tensors = try familyTensors(reader, rename: hfName)
        // Llama 3.1 files store the llama3 per-frequency divisors instead of rope scaling keys.
        let divisors = tensors.tensors.removeValue(forKey: "rope_freqs.weight")?.storage
            ?? tensors.quantized.removeValue(forKey: "rope_freqs.weight")?.dequantized().storage
        if let divisors {
            guard divisors.count == c.inverseFrequencies.count else {
                throw ModelError.wrongShape(tensor: "rope_freqs.weight", expected: [c.inverseFrequencies.count], found: [divisors.count])
            }
            c.inverseFrequencies = zip(c.inverseFrequencies, divisors).map { $0 / $1 }
        }
        // A tied head is the embedding, whatever the file stores.
        if c.tieWordEmbeddings { tensors.quantized["lm_head.weight"] = tensors.quantized["model.embed_tokens.weight"] }
        // YaRN and the llama3 keys keep Kiln's angles (llama.cpp's YaRN ramp is not mirrored).
        if tensors.llamaCppNumerics, let rope = config.rope, rope.kind == .default || rope.kind == .linear {
            c.llamaCppRope = RoPE.LlamaCpp(base: Float(rope.theta), rotaryDim: c.headDim, divisors: divisors,
                                           freqScale: rope.kind == .linear ? 1 / Float(rope.factor) : 1)
        }
        return (c, tensors)
    }

    /// The config.json transformers derives from the metadata, decoded by `ModelConfiguration`.
    /// - Throws: `GGUFModelError` for an unknown architecture or missing keys, `ConfigError` for bad values.
    public static func configuration(reader: GGUFReader) throws -> ModelConfiguration {
        let data = try JSONSerialization.data(withJSONObject: try configJSON(reader: reader), options: [.sortedKeys])
        return try ModelConfiguration.decode(data)
    }

    /// The derived config.json object.
    /// - Throws: `GGUFModelError`.
    public static func configJSON(reader: GGUFReader) throws(GGUFModelError) -> [String: Any] {
        let arch = reader.architecture ?? ""
        guard let modelType = architectures[arch] else {
            throw .unsupportedArchitecture(arch, supported: architectures.keys.sorted())
        }
        if let json = try familyConfigJSON(reader: reader) { return json }
        func int(_ suffix: String) throws(GGUFModelError) -> Int {
            guard let value = reader.hyperparameter(suffix)?.intValue else { throw .missingMetadata("\(arch).\(suffix)") }
            return value
        }
        let double = reader.number
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        var json: [String: Any] = [
            "model_type": modelType,
            "hidden_size": hidden,
            "intermediate_size": try int("feed_forward_length"),
            "num_hidden_layers": try int("block_count"),
            "num_attention_heads": heads,
            "num_key_value_heads": reader.hyperparameter("attention.head_count_kv")?.intValue ?? heads,
            "rms_norm_eps": double("attention.layer_norm_rms_epsilon") ?? 1e-5,
            "rope_theta": double("rope.freq_base") ?? 10_000,
            "hidden_act": "silu",
            "tie_word_embeddings": reader.tensors["output.weight"] == nil,
            "attention_bias": reader.tensors["blk.0.attn_q.bias"] != nil,
        ]
        if let context = reader.hyperparameter("context_length")?.intValue { json["max_position_embeddings"] = context }
        let vocabulary = reader.hyperparameter("vocab_size")?.intValue
            ?? reader.tensors["token_embd.weight"].map { $0.rowCount }
        guard let vocabulary else { throw .missingMetadata("\(arch).vocab_size") }
        json["vocab_size"] = vocabulary
        if let keyLength = reader.hyperparameter("attention.key_length")?.intValue { json["head_dim"] = keyLength }
        let headDim = reader.hyperparameter("attention.key_length")?.intValue ?? hidden / max(heads, 1)
        if let rotary = reader.hyperparameter("rope.dimension_count")?.intValue, rotary != headDim {
            json["partial_rotary_factor"] = Double(rotary) / Double(headDim)
        }
        if let window = reader.hyperparameter("attention.sliding_window")?.intValue, window > 0 { json["sliding_window"] = window }
        if let type = reader.hyperparameter("rope.scaling.type")?.stringValue, type != "none" {
            var scaling: [String: Any] = ["rope_type": type, "factor": double("rope.scaling.factor") ?? 1]
            if let original = reader.hyperparameter("rope.scaling.original_context_length")?.intValue {
                scaling["original_max_position_embeddings"] = original
            }
            json["rope_scaling"] = scaling
        }
        for (key, kind) in [("bos_token_id", "bos"), ("eos_token_id", "eos"), ("pad_token_id", "padding")] {
            if let id = reader.specialTokenID(kind) { json[key] = id }
        }
        return json
    }

    /// llama.cpp's per-block suffixes → HF's, for the LLaMA-shaped layouts.
    static let blockNames: [String: String] = [
        "attn_norm.weight": "input_layernorm.weight",
        "ffn_norm.weight": "post_attention_layernorm.weight",
        "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
        "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
        "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
        "attn_output.weight": "self_attn.o_proj.weight", "attn_output.bias": "self_attn.o_proj.bias",
        "attn_q_norm.weight": "self_attn.q_norm.weight", "attn_k_norm.weight": "self_attn.k_norm.weight",
        "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
        "ffn_down.weight": "mlp.down_proj.weight",
    ]

    /// The HF name of a llama.cpp tensor name.
    /// - Throws: `GGUFModelError.unexpectedTensor` for names outside the mapping.
    public static func hfName(_ name: String) throws(GGUFModelError) -> String {
        switch name {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        case "rope_freqs.weight": return name
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let index = Int(parts[1]), let suffix = blockNames[String(parts[2])] else {
            throw .unexpectedTensor(name)
        }
        return "model.layers.\(index).\(suffix)"
    }
}
