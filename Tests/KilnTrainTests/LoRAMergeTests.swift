// PEFT adapters load and merge as PEFT does: the merged model's logits equal `merge_and_unload()`'s within 1e-4
// on the reference batch (Tests/Fixtures/README.md §4), for every family's fixture adapter.
import Foundation
import KilnModels
import KilnTensor
import Testing
@testable import KilnTrain

@Suite("LoRA adapters: load and merge as PEFT")
struct LoRAMergeTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    /// (family folder, adapter folder).
    static let cases: [(String, String)] = [
        ("gpt2", "lora"), ("llama", "lora"), ("llama", "lora_rslora"), ("mistral", "lora"), ("qwen2", "lora"), ("qwen3", "lora"),
        ("bloom", "lora"), ("glm", "lora"), ("deepseek_v3", "lora_attn"),
    ]

    /// A stored (B, T) I64 tensor as rows.
    static func rows(_ reader: SafeTensorsReader, _ name: String) throws -> [[Int]] {
        let info = try #require(reader.info(name))
        let values = try reader.int64s(name).map(Int.init)
        return stride(from: 0, to: values.count, by: info.shape[1]).map { Array(values[$0..<($0 + info.shape[1])]) }
    }

    @Test("adapter_config.json gives PEFT's scaling: alpha/r, and alpha/√r with rsLoRA")
    func scaling() throws {
        let plain = try LoRAConfig(contentsOf: Self.models.appendingPathComponent("llama/lora/adapter_config.json"))
        #expect(plain.scaling(for: "model.layers.0.self_attn.q_proj") == 2.0)
        let rs = try LoRAConfig(contentsOf: Self.models.appendingPathComponent("llama/lora_rslora/adapter_config.json"))
        #expect(abs(rs.scaling(for: "model.layers.0.self_attn.q_proj") - 16 / 8.0.squareRoot()) < 1e-12)
        let gpt2 = try LoRAConfig(contentsOf: Self.models.appendingPathComponent("gpt2/lora/adapter_config.json"))
        #expect(gpt2.fanInFanOut && Set(gpt2.targetModules) == ["c_attn", "c_proj", "c_fc"])
    }

    @Test("Merged logits equal PEFT's merge_and_unload within 1e-4", arguments: cases)
    func mergedLogits(family: String, adapterFolder: String) throws {
        let base = Self.models.appendingPathComponent(family)
        let adapter = try LoRAAdapter(folder: base.appendingPathComponent(adapterFolder))
        #expect(!adapter.pairs.isEmpty)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-merge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try AdapterMerge.merge(base: base, adapters: [adapter], into: out)
        try Self.check(try ModelRegistry.loadModel(folder: out), family: family, adapterFolder: adapterFolder, against: "merged_logits")
    }

    @Test("Logits with the adapter applied unmerged equal PEFT's within 1e-4", arguments: cases)
    func unmergedLogits(family: String, adapterFolder: String) throws {
        let base = Self.models.appendingPathComponent(family)
        let adapter = try LoRAAdapter(folder: base.appendingPathComponent(adapterFolder))
        let model = try ModelRegistry.loadModel(folder: base, adapters: LoRAAdapter.updates([adapter]))
        try Self.check(model, family: family, adapterFolder: adapterFolder, against: "logits")
    }

    /// Runs `model` on the family's reference batch and compares its logits with `name` of the adapter's lora_reference.
    static func check(_ model: any CausalLM, family: String, adapterFolder: String, against name: String) throws {
        let base = models.appendingPathComponent(family)
        let reference = try SafeTensorsReader(url: base.appendingPathComponent("reference.safetensors"))
        let expected = try SafeTensorsReader(url: base.appendingPathComponent(adapterFolder).appendingPathComponent("lora_reference.safetensors"))
        let ids = try rows(reference, "input_ids"), mask = try rows(reference, "attention_mask")
        // The reference passed position_ids explicitly, except to BLOOM (ALiBi reads positions from the mask).
        let positions = family == "bloom" ? nil : try rows(reference, "position_ids")
        let logits = try model.forward(inputIds: ids, attentionMask: mask, positionIds: positions).logits
        let worst = maxDifference(logits, try expected.floats(name), mask: mask)
        print("\(family)/\(adapterFolder) \(name) max abs diff: \(worst)")
        #expect(worst <= 1e-4, "\(family)/\(adapterFolder) \(name): \(worst)")
    }

    /// Max |actual − expected| over mask-1 positions (HF gives a fully masked left-pad query uniform attention, Kiln zeros).
    static func maxDifference(_ logits: Tensor, _ expected: [Float], mask: [[Int]]) -> Float {
        let steps = mask[0].count, width = logits.count / (mask.count * steps)
        var worst: Float = 0
        for (b, row) in mask.enumerated() {
            for (t, real) in row.enumerated() where real == 1 {
                let start = (b * steps + t) * width
                for i in start..<(start + width) { worst = max(worst, abs(logits.storage[i] - expected[i])) }
            }
        }
        return worst
    }

    @Test("An unmerged update for a weight the model lacks, or of the wrong shape, is a typed error")
    func unmergedMisfit() throws {
        let base = Self.models.appendingPathComponent("llama")
        let update = LowRankUpdate(a: Tensor(zeros: [2, 64]), b: Tensor(zeros: [64, 2]), scaling: 1)
        #expect(throws: ModelError.missingTensor("model.layers.0.self_attn.q_projx.weight (adapted by a LoRA adapter)")) {
            try ModelRegistry.loadModel(folder: base, adapters: ["model.layers.0.self_attn.q_projx.weight": [update]])
        }
        let wrong = LowRankUpdate(a: Tensor(zeros: [2, 63]), b: Tensor(zeros: [64, 2]), scaling: 1)
        #expect(throws: ModelError.self) {
            try ModelRegistry.loadModel(folder: base, adapters: ["model.layers.0.self_attn.q_proj.weight": [wrong]])
        }
    }

    @Test("A saved adapter has PEFT's tensor names, shapes and config values, and reads back the same", arguments: cases)
    func saveRoundTrip(family: String, adapterFolder: String) throws {
        let source = Self.models.appendingPathComponent(family).appendingPathComponent(adapterFolder)
        let adapter = try LoRAAdapter(folder: source)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try adapter.save(to: out, baseModel: "..")
        let original = try SafeTensorsReader(url: source.appendingPathComponent("adapter_model.safetensors"))
        let saved = try SafeTensorsReader(url: out.appendingPathComponent("adapter_model.safetensors"))
        #expect(Set(saved.tensorNames) == Set(original.tensorNames))
        for name in original.tensorNames { #expect(saved.info(name)?.shape == original.info(name)?.shape, "\(name)") }
        let reread = try LoRAAdapter(folder: out)
        #expect(reread.pairs == adapter.pairs && reread.config == adapter.config)
        // PEFT's own keys and values for everything Kiln sets.
        let theirs = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        let ours = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        #expect(Set(ours.keys).isSubset(of: Set(theirs.keys)), "\(Set(ours.keys).subtracting(theirs.keys))")
        for key in ["r", "lora_alpha", "lora_dropout"] {
            #expect((ours[key] as? NSNumber)?.doubleValue == (theirs[key] as? NSNumber)?.doubleValue, "\(key)")
        }
        for key in ["fan_in_fan_out", "use_rslora", "use_dora", "inference_mode", "init_lora_weights"] {
            #expect(ours[key] as? Bool == theirs[key] as? Bool, "\(key)")
        }
        for key in ["peft_type", "bias", "task_type"] {
            #expect(ours[key] as? String == theirs[key] as? String, "\(key)")
        }
        #expect((ours["target_modules"] as? [String]) == (theirs["target_modules"] as? [String])?.sorted())
    }

    @Test("A pair that does not fit its base weight is a typed error, not a crash")
    func misfit() throws {
        let pair = LoRAPair(module: "model.layers.0.mlp.up_proj", a: [Float](repeating: 0, count: 8), b: [Float](repeating: 0, count: 6),
                            rank: 2, inFeatures: 4, outFeatures: 3, scaling: 1)
        var weight = [Float](repeating: 0, count: 12)
        #expect(throws: LoRAError.self) { try AdapterMerge.apply(pair, to: &weight, shape: [4, 3], fanInFanOut: false) }
        try AdapterMerge.apply(pair, to: &weight, shape: [3, 4], fanInFanOut: false)
    }
}
