// DeepSeek-V3 against transformers 5.24 (Tests/Fixtures/README.md §3: models/deepseek_v3 made by generate/models_gen.py,
// torch f32, eager attention): logits and every hidden state within 1e-4 at mask-1 positions of the padded batch,
// the router of both MoE layers (logits within 1e-4, top-k indices exact, top-k weights within 1e-5), and greedy
// generations token for token. Pad positions are skipped for the reasons `FamilyReference.maxDifference` gives.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("DeepSeek-V3 family")
struct FamilyDeepSeekTests {
    let model: DeepSeekV3Model

    init() throws {
        model = try DeepSeekV3Model.load(folder: FamilyReference.folder("deepseek_v3"))
    }

    @Test("DeepSeek-V3 logits and hidden states match transformers 5.24 within 1e-4 on the padded batch")
    func referenceBatch() throws {
        try FamilyReference.checkReference(model, family: "deepseek_v3", withPositions: true)
    }

    @Test("DeepSeek-V3 router logits, top-k experts and weights match transformers 5.24 in both MoE layers")
    func routerMatches() throws {
        let reader = try FamilyReference.reader("deepseek_v3")
        let ids = try FamilyReference.rows(reader, "input_ids"), mask = try FamilyReference.rows(reader, "attention_mask")
        var cache = LlamaCache(layers: model.configuration.layerCount, batch: ids.count)
        let routing = try model.forward(inputIds: ids, attentionMask: mask, positionIds: try FamilyReference.rows(reader, "position_ids"),
                                        cache: &cache).routing
        #expect(routing.keys.sorted() == [1, 2])
        let real = Array(mask.joined()).enumerated().filter { $0.element == 1 }.map(\.offset)
        for layer in [1, 2] {
            let got = try #require(routing[layer])
            let name = "router.layer\(layer)"
            let logits = try reader.floats("\(name).logits")
            let indices = try FamilyReference.rows(reader, "\(name).topk_indices")
            let weights = try reader.floats("\(name).topk_weights")
            let experts = model.configuration.moe.routedExperts, k = model.configuration.moe.expertsPerToken
            var logitsDiff: Float = 0, weightsDiff: Float = 0
            for n in real {
                for e in 0..<experts { logitsDiff = max(logitsDiff, abs(got.logits.storage[n * experts + e] - logits[n * experts + e])) }
                #expect(got.indices[n] == indices[n], "\(name) token \(n): experts \(got.indices[n]) vs \(indices[n])")
                for j in 0..<k { weightsDiff = max(weightsDiff, abs(got.weights[n][j] - weights[n * k + j])) }
            }
            print("deepseek_v3 \(name) logits max abs diff \(logitsDiff), topk_weights max abs diff \(weightsDiff)")
            #expect(logitsDiff <= FamilyReference.tolerance, "\(name).logits: max abs diff \(logitsDiff)")
            #expect(weightsDiff <= 1e-5, "\(name).topk_weights: max abs diff \(weightsDiff)")
        }
    }

    @Test("DeepSeek-V3 greedy generation with the KV cache matches generate.json token for token")
    func greedyGeneration() throws {
        let generation = try GenerationConfig.load(url: FamilyReference.folder("deepseek_v3").appendingPathComponent("generation_config.json"))
        for testCase in try FamilyReference.generateCases("deepseek_v3") {
            let ids = try model.greedy(promptIds: testCase.inputIDs, maxNewTokens: testCase.newIDs.count,
                                       eosTokenIds: generation.eosTokenIDs)
            #expect(ids == testCase.newIDs, "prompt \(testCase.prompt.debugDescription)")
        }
    }

    @Test("DeepSeek-V3 refuses dynamic rope scaling, a missing expert tensor and out-of-vocabulary ids")
    func typedErrors() throws {
        let folder = FamilyReference.folder("deepseek_v3")
        var config = try ModelConfiguration.load(url: folder.appendingPathComponent("config.json"))
        let configuration = try DeepSeekV3Configuration(config)
        var weights = try CheckpointTensors.read(WeightMap(folder: folder))
        weights.removeValue(forKey: "model.layers.2.mlp.experts.5.up_proj.weight")
        #expect(throws: ModelError.missingTensor("model.layers.2.mlp.experts.5.up_proj.weight")) {
            try DeepSeekV3Model(configuration: configuration, weights: weights)
        }
        config.rope?.kind = .dynamic
        #expect(throws: ModelError.unsupportedOption(key: "rope_type", value: "dynamic")) { try DeepSeekV3Configuration(config) }
        #expect(throws: ModelError.self) { try model.forward(inputIds: [[1, 1000]], attentionMask: nil, positionIds: nil) }
    }
}
