// LLaMA, Mistral, Qwen2 and Qwen3 against transformers 5.24 (Tests/Fixtures/README.md §3: reference.safetensors
// and generate.json, made by `generate/models_gen.py` on the tiny random models, torch f32, eager attention).
//
// Only positions with attention mask 1 are compared. At a left-pad query every key is masked: HF's additive
// finfo.min mask then gives uniform attention over all 12 keys, while KilnTensor's Attention returns zeros.
// Under left padding + causal masking no real position ever reads a pad position's hidden state (its keys are
// masked for every real query), so the mask-1 logits and hidden states do not depend on that difference.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("LLaMA-shaped families match transformers")
struct FamilyLlamaTests {
    /// Every LLaMA-shaped fixture folder.
    static let families = ["llama", "llama-rope-llama3", "llama-bf16", "mistral", "qwen2", "qwen3"]
    /// The README's stated tolerance for logits and hidden states.
    static let tolerance: Float = 1e-4

    static func folder(_ family: String) -> URL {
        LoadingFixtures.root.appendingPathComponent("models").appendingPathComponent(family)
    }

    /// The family's model through its own loader; llama-rope-llama3 shares llama's weights (stored once), so it
    /// pairs its own config.json with llama's model.safetensors.
    static func load(_ family: String) throws -> (model: any CausalLM, base: LlamaModel) {
        switch family {
        case "mistral":
            let model = try MistralModel.load(folder: folder(family))
            return (model, model.base)
        case "qwen2":
            let model = try Qwen2Model.load(folder: folder(family))
            return (model, model.base)
        case "qwen3":
            let model = try Qwen3Model.load(folder: folder(family))
            return (model, model.base)
        case "llama-rope-llama3":
            let config = try ModelConfiguration.load(url: folder(family).appendingPathComponent("config.json"))
            let weights = try WeightMap(folder: folder("llama"))
            var tensors: [String: Tensor] = [:]
            for name in weights.names { tensors[name] = try weights.tensor(name) }
            let model = try LlamaModel(configuration: try LlamaConfiguration.llama(config), weights: tensors)
            return (model, model)
        default:
            let model = try LlamaModel.load(folder: folder(family))
            return (model, model)
        }
    }

    /// (B, T) rows of an I64 reference tensor.
    static func rows(_ reader: SafeTensorsReader, _ name: String) throws -> [[Int]] {
        let shape = reader.info(name)!.shape
        let values = try reader.int64s(name).map { Int($0) }
        return (0..<shape[0]).map { Array(values[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
    }

    /// The largest |a − b| over the (b, t) positions where mask is 1; a and b are (B, T, W).
    static func maskedMaxDiff(_ a: Tensor, _ b: [Float], mask: [[Int]]) -> Float {
        let width = a.shape[2], steps = a.shape[1]
        var worst: Float = 0
        for (row, values) in mask.enumerated() {
            for (t, m) in values.enumerated() where m == 1 {
                let base = (row * steps + t) * width
                for i in 0..<width { worst = max(worst, abs(a.storage[base + i] - b[base + i])) }
            }
        }
        return worst
    }

    @Test("Logits and hidden states at real positions match transformers within 1e-4", arguments: families)
    func forwardMatchesReference(family: String) throws {
        let (model, _) = try Self.load(family)
        let reference = try SafeTensorsReader(url: Self.folder(family).appendingPathComponent("reference.safetensors"))
        let ids = try Self.rows(reference, "input_ids")
        let mask = try Self.rows(reference, "attention_mask")
        let positions = try Self.rows(reference, "position_ids")
        let output = try model.forward(inputIds: ids, attentionMask: mask, positionIds: positions)

        #expect(output.logits.shape == [2, 12, 1000])
        let logitsDiff = Self.maskedMaxDiff(output.logits, try reference.floats("logits"), mask: mask)
        print("\(family) logits max abs diff (mask-1 positions): \(logitsDiff)")
        #expect(logitsDiff <= Self.tolerance, "\(family) logits differ by \(logitsDiff)")

        // llama-bf16's reference has no hidden states (README §3).
        let names = reference.tensorNames.filter { $0.hasPrefix("hidden_states.") }
        if family != "llama-bf16" { #expect(names.count == output.hiddenStates.count) }
        for (index, hidden) in output.hiddenStates.enumerated() where reference.info("hidden_states.\(index)") != nil {
            let diff = Self.maskedMaxDiff(hidden, try reference.floats("hidden_states.\(index)"), mask: mask)
            print("\(family) hidden_states.\(index) max abs diff: \(diff)")
            #expect(diff <= Self.tolerance, "\(family) hidden_states.\(index) differs by \(diff)")
        }
    }

    /// The part of generate.json these tests read.
    struct Generations: Decodable {
        struct Prompt: Decodable {
            var input_ids: [Int]
            var new_ids: [Int]
        }
        var prompts: [Prompt]
    }

    @Test("Greedy generation with the KV cache equals transformers' generate token for token",
          arguments: families.filter { $0 != "llama-bf16" })
    func greedyMatchesGenerate(family: String) throws {
        let (_, model) = try Self.load(family)
        let data = try Data(contentsOf: Self.folder(family).appendingPathComponent("generate.json"))
        let generations = try JSONDecoder().decode(Generations.self, from: data)
        let eos = try GenerationConfig.load(url: Self.folder(family).appendingPathComponent("generation_config.json")).eosTokenIDs
        #expect(generations.prompts.count == 2)
        for prompt in generations.prompts {
            let ids = try model.greedy(promptIds: prompt.input_ids, maxNewTokens: prompt.new_ids.count, eosTokenIds: eos)
            #expect(ids == prompt.new_ids, "\(family) greedy ids")
        }
    }

    @Test("Cached decoding gives the same last-position logits as one full forward pass")
    func cacheMatchesFullForward() throws {
        let (_, model) = try Self.load("qwen3")
        let ids = [5, 17, 300, 42, 7, 99]
        let full = try model.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
        var cache = LlamaCache(layers: 2, batch: 1)
        _ = try model.forward(inputIds: [Array(ids.prefix(4))], attentionMask: nil, positionIds: nil, cache: &cache)
        _ = try model.forward(inputIds: [[ids[4]]], attentionMask: nil, positionIds: nil, cache: &cache)
        let last = try model.forward(inputIds: [[ids[5]]], attentionMask: nil, positionIds: nil, cache: &cache).logits
        let tail = Array(full.storage[(5 * 1000)..<(6 * 1000)])
        let diff = zip(last.storage, tail).map { abs($0 - $1) }.max()!
        print("qwen3 cached vs full last-position logits max abs diff: \(diff)")
        #expect(cache.length == 6)
        #expect(diff <= 1e-5)
    }

    @Test("Wrong family, missing and misshapen tensors, and bad ids give typed errors")
    func badCheckpointsThrow() throws {
        #expect(throws: ModelError.wrongFamily(expected: "mistral", found: "qwen2")) {
            try MistralModel.load(folder: Self.folder("qwen2"))
        }
        let config = try ModelConfiguration.load(url: Self.folder("llama").appendingPathComponent("config.json"))
        let configuration = try LlamaConfiguration.llama(config)
        let weights = try WeightMap(folder: Self.folder("llama"))
        var tensors: [String: Tensor] = [:]
        for name in weights.names { tensors[name] = try weights.tensor(name) }

        var missing = tensors
        missing["model.layers.1.mlp.up_proj.weight"] = nil
        #expect(throws: ModelError.missingTensor("model.layers.1.mlp.up_proj.weight")) {
            try LlamaModel(configuration: configuration, weights: missing)
        }
        var misshapen = tensors
        misshapen["model.layers.0.self_attn.k_proj.weight"] = Tensor(zeros: [64, 64])
        #expect(throws: ModelError.wrongShape(tensor: "model.layers.0.self_attn.k_proj.weight", expected: [32, 64], found: [64, 64])) {
            try LlamaModel(configuration: configuration, weights: misshapen)
        }
        let model = try LlamaModel(configuration: configuration, weights: tensors)
        #expect(throws: ModelError.self) { try model.forward(inputIds: [[1, 1000]], attentionMask: nil, positionIds: nil) }
        #expect(throws: ModelError.self) { try model.forward(inputIds: [[1, 2], [3]], attentionMask: nil, positionIds: nil) }
    }

    /// llama's weights under a modified llama config.
    static func llama(_ edit: (inout ModelConfiguration) -> Void,
                      configure: (ModelConfiguration) throws(ModelError) -> LlamaConfiguration) throws -> LlamaModel {
        var config = try ModelConfiguration.load(url: folder("llama").appendingPathComponent("config.json"))
        edit(&config)
        let weights = try WeightMap(folder: folder("llama"))
        var tensors: [String: Tensor] = [:]
        for name in weights.names { tensors[name] = try weights.tensor(name) }
        return try LlamaModel(configuration: try configure(config), weights: tensors)
    }

    // No fixture has a sliding window set (mistral's is null), so this checks the wiring by a property instead:
    // with window 1 every layer sees only the token itself, so position t equals that token run alone at t.
    @Test("Mistral sliding_window 1 makes each position equal its token run alone")
    func slidingWindowOfOne() throws {
        let windowed = try Self.llama({ $0.modelType = .mistral; $0.slidingWindow = 1 }, configure: LlamaConfiguration.mistral)
        let plain = try Self.llama({ $0.modelType = .mistral }, configure: LlamaConfiguration.mistral)
        let ids = [5, 17, 300, 42]
        let logits = try windowed.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
        var worst: Float = 0
        for (t, id) in ids.enumerated() {
            let alone = try plain.forward(inputIds: [[id]], attentionMask: nil, positionIds: [[t]]).logits
            for v in 0..<1000 { worst = max(worst, abs(logits.storage[t * 1000 + v] - alone.storage[v])) }
        }
        print("mistral window 1 vs tokens alone max abs diff: \(worst)")
        #expect(worst <= 1e-5)
        let full = try plain.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
        #expect(full.maxAbsDifference(logits) > 1e-2, "window 1 should change positions 1…")
    }

    // rope_type "linear" divides inv_freq by factor (exact for factor 2), so positions 2t under factor 2 are
    // positions t without scaling.
    @Test("Linear rope scaling by 2 at doubled positions equals default rope")
    func linearRopeScaling() throws {
        let plain = try Self.llama({ _ in }, configure: LlamaConfiguration.llama)
        let scaled = try Self.llama({ $0.rope?.kind = .linear; $0.rope?.factor = 2 }, configure: LlamaConfiguration.llama)
        let ids = [[5, 17, 300, 42, 9]]
        let a = try plain.forward(inputIds: ids, attentionMask: nil, positionIds: [[0, 1, 2, 3, 4]]).logits
        let b = try scaled.forward(inputIds: ids, attentionMask: nil, positionIds: [[0, 2, 4, 6, 8]]).logits
        #expect(a.maxAbsDifference(b) <= 1e-6)
    }

    @Test("Unsupported rope types are refused by name")
    func unsupportedRopeThrows() throws {
        var config = try ModelConfiguration.load(url: Self.folder("llama").appendingPathComponent("config.json"))
        config.rope?.kind = .dynamic
        #expect(throws: ModelError.unsupportedOption(key: "rope_type", value: "dynamic")) { try LlamaConfiguration.llama(config) }
    }
}
