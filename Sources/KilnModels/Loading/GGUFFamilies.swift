// GGUF files of the families that are not LLaMA-shaped: "gpt2", "bloom" and "chatglm" (llama.cpp's name for both
// GLM-4 (`GlmForCausalLM`) and the remote-code ChatGLM2/3 layout). llama.cpp's converter (`conversion/gpt2.py`,
// `bloom.py`, `chatglm.py`) already writes their matrices in the layout Kiln's families use after `sanitize`:
// GPT-2's Conv1D weights transposed to Linear's (out, in), BLOOM's per-head interleaved query_key_value regrouped
// q|k|v, ChatGLM's fused query_key_value as q|k|v rows. So tensors are only renamed (and a fused ChatGLM qkv split
// by rows) and matrices stay in their block encoding, as for LLaMA files.
//
// Metadata the converter writes loosely is read from the tensors instead: GPT-2's feed_forward_length is always
// 4·n_embd (the MLP width comes from ffn_up), BLOOM's and GLM's context_length may be the embedding width when the
// checkpoint had no `seq_length` (BLOOM ignores it: ALiBi has no trained length).
import Foundation
import KilnTensor

extension GGUFModel {
    /// The model of an open file, whatever its architecture: LLaMA-shaped files through `load`, the others through
    /// their own families.
    /// - Throws: `GGUFModelError`, `ConfigError` or `ModelError`.
    public static func loadAny(reader: GGUFReader, adapters: AdapterUpdates = [:]) throws -> any CausalLM {
        let config = try configuration(reader: reader)
        switch reader.architecture {
        case "gpt2":
            let c = try GPT2Configuration(config, extras: .init())
            var tensors = try familyTensors(reader, rename: gpt2Name)
            tensors.adapters = adapters
            return try GPT2Model(configuration: c, tensors: tensors)
        case "bloom":
            let c = try BloomConfiguration(config, extras: .init())
            var tensors = try familyTensors(reader, rename: bloomName)
            tensors.adapters = BloomModel.sanitize(adapters: adapters, heads: c.heads)
            return try BloomModel(configuration: c, tensors: tensors)
        case "chatglm":
            var c = try GLMConfiguration.glm(config)
            var tensors = try splitFusedQKV(familyTensors(reader, rename: glmName), c)
            if tensors.llamaCppNumerics, let rope = config.rope {
                c.llamaCppRope = RoPE.LlamaCpp(base: Float(rope.theta), rotaryDim: 2 * c.inverseFrequencies.count)
            }
            tensors.adapters = adapters
            return try GLMModel(configuration: c, tensors: tensors)
        default:
            return try load(reader: reader, adapters: adapters)
        }
    }

    /// The config.json transformers would write for a "gpt2", "bloom" or "chatglm" file (GLM-4's `glm`), or nil for
    /// the LLaMA-shaped architectures.
    /// - Throws: `GGUFModelError.missingMetadata` naming the key or tensor that is absent.
    static func familyConfigJSON(reader: GGUFReader) throws(GGUFModelError) -> [String: Any]? {
        let arch = reader.architecture ?? ""
        guard ["gpt2", "bloom", "chatglm"].contains(arch) else { return nil }
        func int(_ suffix: String) throws(GGUFModelError) -> Int {
            guard let value = reader.hyperparameter(suffix)?.intValue else { throw .missingMetadata("\(arch).\(suffix)") }
            return value
        }
        func rows(_ tensor: String) throws(GGUFModelError) -> Int {
            guard let info = reader.tensors[tensor], info.dimensions.count == 2 else { throw .missingMetadata("tensor \(tensor)") }
            return info.rowCount
        }
        let eps = reader.number("attention.layer_norm_epsilon") ?? 1e-5
        let untied = reader.tensors["output.weight"] != nil
        var json: [String: Any] = ["vocab_size": try rows("token_embd.weight"), "tie_word_embeddings": !untied]
        switch arch {
        case "gpt2":
            json.merge(["model_type": "gpt2", "n_embd": try int("embedding_length"), "n_layer": try int("block_count"),
                        "n_head": try int("attention.head_count"), "n_inner": try rows("blk.0.ffn_up.weight"),
                        "n_positions": try rows("position_embd.weight"), "layer_norm_epsilon": eps,
                        "activation_function": "gelu_new"]) { $1 }
        case "bloom":
            json.merge(["model_type": "bloom", "hidden_size": try int("embedding_length"), "n_layer": try int("block_count"),
                        "n_head": try int("attention.head_count"), "layer_norm_epsilon": eps]) { $1 }
        default:
            let hidden = try int("embedding_length")
            let heads = try int("attention.head_count")
            let headDim = reader.hyperparameter("attention.key_length")?.intValue ?? hidden / max(heads, 1)
            let rotary = reader.hyperparameter("rope.dimension_count")?.intValue ?? headDim / 2
            let theta = reader.number("rope.freq_base") ?? 10_000
            json.merge(["model_type": "glm", "hidden_size": hidden, "intermediate_size": try int("feed_forward_length"),
                        "num_hidden_layers": try int("block_count"), "num_attention_heads": heads,
                        "num_key_value_heads": reader.hyperparameter("attention.head_count_kv")?.intValue ?? heads,
                        "head_dim": headDim, "partial_rotary_factor": Double(rotary) / Double(max(headDim, 1)),
                        "rms_norm_eps": reader.number("attention.layer_norm_rms_epsilon") ?? 1e-5,
                        "rope_theta": theta, "hidden_act": "silu",
                        "attention_bias": reader.tensors["blk.0.attn_q.bias"] != nil || reader.tensors["blk.0.attn_qkv.bias"] != nil,
                        "max_position_embeddings": reader.hyperparameter("context_length")?.intValue ?? 8192]) { $1 }
        }
        for (key, kind) in [("bos_token_id", "bos"), ("eos_token_id", "eos"), ("pad_token_id", "padding")] {
            if let id = reader.specialTokenID(kind) { json[key] = id }
        }
        return json
    }

    /// Every tensor under the family's name: matrices in place, vectors widened; `llamaCppNumerics` when loading for
    /// the fast arithmetic.
    static func familyTensors(_ reader: GGUFReader, rename: (String) throws(GGUFModelError) -> String) throws -> CheckpointTensors {
        var tensors = CheckpointTensors(tensors: [:])
        tensors.llamaCppNumerics = QuantizedArithmetic.loading == .fast
        for info in reader.tensorInfos {
            let name = try rename(info.name)
            switch info.dimensions.count {
            case 1: tensors.tensors[name] = Tensor(shape: [info.elementCount], storage: try reader.dequantize(info.name))
            case 2: tensors.quantized[name] = try QuantizedMatrix(gguf: reader, name: info.name)
            default: throw GGUFModelError.unexpectedTensor(info.name)
            }
        }
        return tensors
    }

    /// ChatGLM's fused `attn_qkv` (q rows, then k, then v) as GLM's three projections.
    static func splitFusedQKV(_ tensors: CheckpointTensors, _ c: GLMConfiguration) throws -> CheckpointTensors {
        var result = tensors
        let (q, kv) = (c.attentionHeads * c.headDim, c.kvHeads * c.headDim)
        let parts = [("q_proj", 0..<q), ("k_proj", q..<(q + kv)), ("v_proj", (q + kv)..<(q + 2 * kv))]
        for layer in 0..<c.layerCount {
            let prefix = "model.layers.\(layer).self_attn."
            if let fused = result.quantized.removeValue(forKey: prefix + "query_key_value.weight") {
                guard fused.rows == q + 2 * kv else {
                    throw ModelError.wrongShape(tensor: "blk.\(layer).attn_qkv.weight", expected: [q + 2 * kv, c.hiddenSize], found: fused.shape)
                }
                for (part, rows) in parts { result.quantized[prefix + part + ".weight"] = try fused.rows(rows) }
            }
            if let fused = result.tensors.removeValue(forKey: prefix + "query_key_value.bias") {
                guard fused.count == q + 2 * kv else {
                    throw ModelError.wrongShape(tensor: "blk.\(layer).attn_qkv.bias", expected: [q + 2 * kv], found: fused.shape)
                }
                for (part, rows) in parts {
                    result.tensors[prefix + part + ".bias"] = Tensor(shape: [rows.count], storage: Array(fused.storage[rows]))
                }
            }
        }
        return result
    }

    /// llama.cpp's GPT-2 names → `GPT2Model`'s.
    static func gpt2Name(_ name: String) throws(GGUFModelError) -> String {
        let top = ["token_embd.weight": "transformer.wte.weight", "position_embd.weight": "transformer.wpe.weight",
                   "output_norm.weight": "transformer.ln_f.weight", "output_norm.bias": "transformer.ln_f.bias",
                   "output.weight": "lm_head.weight"]
        let block = ["attn_norm": "ln_1", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj", "ffn_norm": "ln_2",
                     "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"]
        return try rename(name, top: top, block: block, blockPrefix: "transformer.h.")
    }

    /// llama.cpp's BLOOM names → `BloomModel`'s.
    static func bloomName(_ name: String) throws(GGUFModelError) -> String {
        let top = ["token_embd.weight": "transformer.word_embeddings.weight",
                   "token_embd_norm.weight": "transformer.word_embeddings_layernorm.weight",
                   "token_embd_norm.bias": "transformer.word_embeddings_layernorm.bias",
                   "output_norm.weight": "transformer.ln_f.weight", "output_norm.bias": "transformer.ln_f.bias",
                   "output.weight": "lm_head.weight"]
        let block = ["attn_norm": "input_layernorm", "attn_qkv": "self_attention.query_key_value", "attn_output": "self_attention.dense",
                     "ffn_norm": "post_attention_layernorm", "ffn_up": "mlp.dense_h_to_4h", "ffn_down": "mlp.dense_4h_to_h"]
        return try rename(name, top: top, block: block, blockPrefix: "transformer.h.")
    }

    /// llama.cpp's "chatglm" names → `GLMModel`'s (a fused qkv keeps a placeholder name until `splitFusedQKV`).
    static func glmName(_ name: String) throws(GGUFModelError) -> String {
        let top = ["token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                   "output.weight": "lm_head.weight"]
        let block = ["attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
                     "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                     "attn_qkv": "self_attn.query_key_value", "attn_output": "self_attn.o_proj",
                     "ffn_up": "mlp.gate_up_proj", "ffn_down": "mlp.down_proj"]
        return try rename(name, top: top, block: block, blockPrefix: "model.layers.")
    }

    /// `top` names as given; `blk.<i>.<part>.<weight|bias>` as `<blockPrefix><i>.<block[part]>.<weight|bias>`.
    private static func rename(_ name: String, top: [String: String], block: [String: String],
                               blockPrefix: String) throws(GGUFModelError) -> String {
        if let mapped = top[name] { return mapped }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let index = Int(parts[1]), index >= 0,
              let part = block[String(parts[2])], parts[3] == "weight" || parts[3] == "bias" else {
            throw .unexpectedTensor(name)
        }
        return "\(blockPrefix)\(index).\(part).\(parts[3])"
    }
}

extension QuantizedMatrix {
    /// The rows `range` as a matrix of their own, sharing this one's bytes.
    /// - Throws: `GGUFError.invalidDimensions` for a range outside the matrix.
    func rows(_ range: Range<Int>) throws(GGUFError) -> QuantizedMatrix {
        guard range.lowerBound >= 0, range.upperBound <= rows else { throw .invalidDimensions(name: "rows \(range) of \(rows)") }
        let start = bytes.startIndex + range.lowerBound * rowBytes
        return try QuantizedMatrix(type: type, rows: range.count, columns: columns, bytes: bytes[start..<(start + range.count * rowBytes)])
    }
}
