// Random-weight HF folders of real model shapes (GPT-2-124M, SmolLM2-135M), written as config.json +
// model.safetensors so the benchmark loads them through Kiln's real loaders, exactly as a user's folder.
import Foundation

/// Writes random checkpoints for the inference benchmark.
enum RandomCheckpoint {
    /// A tensor to write: name, shape and whether it is a norm weight (ones, as a fresh model has).
    struct Entry {
        var name: String
        var shape: [Int]
        var isNorm = false
    }

    /// GPT-2-124M (`GPT2Config()` defaults): Conv1D weights stored (in, out) as HF does.
    static func gpt2() -> (config: [String: Any], entries: [Entry]) {
        let (c, layers, vocabulary, positions) = (768, 12, 50257, 1024)
        var entries = [Entry(name: "transformer.wte.weight", shape: [vocabulary, c]),
                       Entry(name: "transformer.wpe.weight", shape: [positions, c])]
        for i in 0..<layers {
            let p = "transformer.h.\(i)"
            for norm in ["ln_1", "ln_2"] {
                entries += [Entry(name: "\(p).\(norm).weight", shape: [c], isNorm: true), Entry(name: "\(p).\(norm).bias", shape: [c])]
            }
            for (name, inner, outer) in [("attn.c_attn", c, 3 * c), ("attn.c_proj", c, c), ("mlp.c_fc", c, 4 * c), ("mlp.c_proj", 4 * c, c)] {
                entries += [Entry(name: "\(p).\(name).weight", shape: [inner, outer]), Entry(name: "\(p).\(name).bias", shape: [outer])]
            }
        }
        entries += [Entry(name: "transformer.ln_f.weight", shape: [c], isNorm: true), Entry(name: "transformer.ln_f.bias", shape: [c])]
        let config: [String: Any] = ["model_type": "gpt2", "n_embd": c, "n_layer": layers, "n_head": 12, "vocab_size": vocabulary,
                                     "n_positions": positions, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5]
        return (config, entries)
    }

    /// SmolLM2-135M's shape (fixtures smollm2/gguf_info.json): LLaMA, tied embeddings.
    static func smolLM2(dtype: String) -> (config: [String: Any], entries: [Entry]) {
        let (c, inner, layers, heads, kvHeads, d, vocabulary) = (576, 1536, 30, 9, 3, 64, 49152)
        var entries = [Entry(name: "model.embed_tokens.weight", shape: [vocabulary, c])]
        for i in 0..<layers {
            let p = "model.layers.\(i)"
            entries += [
                Entry(name: "\(p).input_layernorm.weight", shape: [c], isNorm: true),
                Entry(name: "\(p).post_attention_layernorm.weight", shape: [c], isNorm: true),
                Entry(name: "\(p).self_attn.q_proj.weight", shape: [heads * d, c]),
                Entry(name: "\(p).self_attn.k_proj.weight", shape: [kvHeads * d, c]),
                Entry(name: "\(p).self_attn.v_proj.weight", shape: [kvHeads * d, c]),
                Entry(name: "\(p).self_attn.o_proj.weight", shape: [c, heads * d]),
                Entry(name: "\(p).mlp.gate_proj.weight", shape: [inner, c]),
                Entry(name: "\(p).mlp.up_proj.weight", shape: [inner, c]),
                Entry(name: "\(p).mlp.down_proj.weight", shape: [c, inner]),
            ]
        }
        entries.append(Entry(name: "model.norm.weight", shape: [c], isNorm: true))
        let config: [String: Any] = [
            "model_type": "llama", "hidden_size": c, "intermediate_size": inner, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "head_dim": d, "vocab_size": vocabulary,
            "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "max_position_embeddings": 8192, "tie_word_embeddings": true,
            "hidden_act": "silu", "torch_dtype": dtype == "BF16" ? "bfloat16" : "float32",
        ]
        return (config, entries)
    }

    /// Writes `config` and the entries (uniform in ±0.05, norms 1) as `dtype` ("F32" or "BF16") into a new
    /// temporary folder, which it returns; the caller removes it.
    static func write(config: [String: Any], entries: [Entry], dtype: String, seed: UInt64) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: folder.appendingPathComponent("config.json"))
        let size = dtype == "BF16" ? 2 : 4
        var header: [String: Any] = [:]
        var offset = 0
        for e in entries {
            let bytes = e.shape.reduce(1, *) * size
            header[e.name] = ["dtype": dtype, "shape": e.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        let url = folder.appendingPathComponent("model.safetensors")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var length = UInt64(headerBytes.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: headerBytes)
        var state = seed
        for e in entries {
            let count = e.shape.reduce(1, *)
            var data = Data(count: count * size)
            data.withUnsafeMutableBytes { raw in
                for i in 0..<count {
                    // SplitMix64 → uniform in [−0.05, 0.05).
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    let value: Float = e.isNorm ? 1 : (Float((z ^ (z >> 31)) >> 40) / Float(1 << 24) - 0.5) * 0.1
                    if size == 4 {
                        raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    } else {
                        raw.storeBytes(of: UInt16(value.bitPattern >> 16).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
            }
            try handle.write(contentsOf: data)
        }
        return folder
    }
}
