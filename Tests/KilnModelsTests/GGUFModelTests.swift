// GGUF execution without the SmolLM2 download: the llama and qwen2 fixture checkpoints are written as GGUF
// files the way llama.cpp's `convert_hf_to_gguf.py` writes them (ggml dims reversed, llama's q/k rows
// permuted into neighbour pairs, qwen2's left alone, llama.cpp tensor names and hyper-parameter keys), then run
// through `GGUFModel` and compared with transformers' logits for the original folder (Tests/Fixtures §3).
// Hostile metadata must give typed errors, never a trap.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("GGUF models from converted fixture checkpoints")
struct GGUFModelTests {
    typealias W = LoadingGGUFWriter

    /// llama.cpp's `LlamaModel.permute`: rows of each head reordered from (2, D/2) halves to (D/2, 2) pairs.
    static func permuteRows(_ t: Tensor, heads: Int) -> Tensor {
        let (rows, columns) = (t.shape[0], t.shape[1])
        let d = rows / heads
        var out = t
        for h in 0..<heads {
            for i in 0..<(d / 2) {
                for half in 0..<2 {
                    let source = h * d + half * (d / 2) + i, target = h * d + 2 * i + half
                    out.storage.replaceSubrange((target * columns)..<((target + 1) * columns),
                                                with: t.storage[(source * columns)..<((source + 1) * columns)])
                }
            }
        }
        return out
    }

    /// The fixture folder `family` as a GGUF image of architecture `arch`, with `edit` applied to the metadata.
    static func convert(_ family: String, arch: String, permute: Bool, extra: [(String, [Float])] = [],
                        metadata edit: (inout [String: (type: UInt32, payload: [UInt8])]) -> Void = { _ in }) throws -> Data {
        let folder = FamilyLlamaTests.folder(family)
        let config = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let weights = try WeightMap(folder: folder)
        var keys: [String: (type: UInt32, payload: [UInt8])] = [
            "general.architecture": (8, W.string(arch)),
            "\(arch).embedding_length": (4, W.le(UInt32(config.hiddenSize))),
            "\(arch).block_count": (4, W.le(UInt32(config.layerCount))),
            "\(arch).feed_forward_length": (4, W.le(UInt32(config.intermediateSize))),
            "\(arch).attention.head_count": (4, W.le(UInt32(config.attentionHeads))),
            "\(arch).attention.head_count_kv": (4, W.le(UInt32(config.kvHeads))),
            "\(arch).rope.freq_base": (6, W.le(Float(config.rope!.theta).bitPattern)),
            "\(arch).attention.layer_norm_rms_epsilon": (6, W.le(Float(config.normEps).bitPattern)),
            "\(arch).context_length": (4, W.le(UInt32(config.maxPositionEmbeddings ?? 256))),
        ]
        edit(&keys)
        var w = W()
        for (key, value) in keys.sorted(by: { $0.key < $1.key }) { w.add(key, type: value.type, value.payload) }
        let names: [String: String] = [
            "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight",
        ]
        let blockNames = Dictionary(uniqueKeysWithValues: GGUFModel.blockNames.map { ($0.value, $0.key) })
        for name in weights.names.sorted() {
            var tensor = try weights.tensor(name)
            var ggufName = names[name]
            if ggufName == nil, name.hasPrefix("model.layers.") {
                let parts = name.split(separator: ".", maxSplits: 3)
                ggufName = blockNames[String(parts[3])].map { "blk.\(parts[2]).\($0)" }
            }
            guard let ggufName else { continue }
            if permute && tensor.rank == 2 && name.hasSuffix("q_proj.weight") { tensor = permuteRows(tensor, heads: config.attentionHeads) }
            if permute && tensor.rank == 2 && name.hasSuffix("k_proj.weight") { tensor = permuteRows(tensor, heads: config.kvHeads) }
            let data = tensor.storage.flatMap { W.le($0.bitPattern) }
            w.tensors.append((ggufName, tensor.shape.reversed().map { UInt64($0) }, 0, data))
        }
        for (name, values) in extra { w.tensors.append((name, [UInt64(values.count)], 0, values.flatMap { W.le($0.bitPattern) })) }
        return w.build()
    }

    @Test("llama (q/k permuted) and qwen2 fixtures converted to GGUF give transformers' logits within 1e-4",
          arguments: [("llama", "llama", true), ("qwen2", "qwen2", false)])
    func convertedMatchesReference(family: String, arch: String, permute: Bool) throws {
        let model = try GGUFModel.load(reader: GGUFReader(data: try Self.convert(family, arch: arch, permute: permute)))
        #expect(model.configuration.ropeLayout == (permute ? .interleaved : .halfSplit))
        let reference = try SafeTensorsReader(url: FamilyLlamaTests.folder(family).appendingPathComponent("reference.safetensors"))
        let ids = try FamilyLlamaTests.rows(reference, "input_ids")
        let mask = try FamilyLlamaTests.rows(reference, "attention_mask")
        let positions = try FamilyLlamaTests.rows(reference, "position_ids")
        let output = try model.forward(inputIds: ids, attentionMask: mask, positionIds: positions)
        let diff = FamilyLlamaTests.maskedMaxDiff(output.logits, try reference.floats("logits"), mask: mask)
        #expect(diff <= FamilyLlamaTests.tolerance, "\(family) logits differ by \(diff)")
    }

    @Test("rope_freqs divides the inverse frequencies (and feeds llama.cpp's angles on the fast path); a wrong length is refused")
    func ropeFreqs() throws {
        let plain = try GGUFModel.load(reader: GGUFReader(data: try Self.convert("llama", arch: "llama", permute: true)))
        let half = plain.configuration.inverseFrequencies.count
        let divisors = (0..<half).map { Float(1 + $0 % 3) }
        let data = try Self.convert("llama", arch: "llama", permute: true, extra: [("rope_freqs.weight", divisors)])
        let scaled = try GGUFModel.load(reader: GGUFReader(data: data))
        #expect(scaled.configuration.inverseFrequencies == zip(plain.configuration.inverseFrequencies, divisors).map { $0 / $1 })
        #expect(scaled.configuration.llamaCppRope == nil)
        let fast = try QuantizedArithmetic.$loading.withValue(.fast) { try GGUFModel.load(reader: GGUFReader(data: data)) }
        #expect(fast.configuration.llamaCppRope?.divisors == divisors)
        let short = try Self.convert("llama", arch: "llama", permute: true, extra: [("rope_freqs.weight", [1, 2])])
        #expect(throws: ModelError.wrongShape(tensor: "rope_freqs.weight", expected: [half], found: [2])) {
            try GGUFModel.load(reader: GGUFReader(data: short))
        }
    }

    @Test("Hostile GGUF metadata and tensors give typed errors")
    func hostileMetadata() throws {
        func load(_ edit: (inout [String: (type: UInt32, payload: [UInt8])]) -> Void) throws {
            _ = try GGUFModel.load(reader: GGUFReader(data: try Self.convert("llama", arch: "llama", permute: true, metadata: edit)))
        }
        let edits: [(String, (inout [String: (type: UInt32, payload: [UInt8])]) -> Void)] = [
            ("no heads", { $0["llama.attention.head_count"] = (4, W.le(UInt32(0))) }),
            ("kv heads not dividing heads", { $0["llama.attention.head_count_kv"] = (4, W.le(UInt32(3))) }),
            ("more blocks than tensors", { $0["llama.block_count"] = (4, W.le(UInt32(3))) }),
            ("huge width", { $0["llama.embedding_length"] = (10, W.le(UInt64(1) << 40)) }),
            ("width as a string", { $0["llama.embedding_length"] = (8, W.string("64")) }),
            ("missing block count", { $0["llama.block_count"] = nil }),
            ("unknown architecture", { $0["general.architecture"] = (8, W.string("falcon")) }),
            ("negative epsilon", { $0["llama.attention.layer_norm_rms_epsilon"] = (6, W.le(Float(-1).bitPattern)) }),
        ]
        for (label, edit) in edits {
            #expect(throws: (any Error).self, "\(label)") { try load(edit) }
        }
        #expect(throws: GGUFModelError.unsupportedArchitecture("falcon", supported: GGUFModel.architectures.keys.sorted())) {
            try load { $0["general.architecture"] = (8, W.string("falcon")) }
        }
        #expect(throws: GGUFModelError.missingMetadata("llama.block_count")) { try load { $0["llama.block_count"] = nil } }
        #expect(throws: ModelError.missingTensor("model.layers.2.self_attn.q_proj.weight")) {
            try load { $0["llama.block_count"] = (4, W.le(UInt32(3))) }
        }
    }

    @Test("A tensor name outside the mapping is refused, naming it")
    func unknownTensor() throws {
        var w = W()
        w.add("general.architecture", type: 8, W.string("llama"))
        for (key, value) in [("embedding_length", 64), ("block_count", 1), ("feed_forward_length", 64), ("attention.head_count", 4),
                             ("vocab_size", 10)] {
            w.add("llama.\(key)", type: 4, W.le(UInt32(value)))
        }
        w.tensors.append(("blk.0.attn_gate.weight", [64, 64], 0, Array(repeating: 0, count: 64 * 64 * 4)))
        #expect(throws: GGUFModelError.unexpectedTensor("blk.0.attn_gate.weight")) {
            try GGUFModel.load(reader: GGUFReader(data: w.build()))
        }
    }
}
