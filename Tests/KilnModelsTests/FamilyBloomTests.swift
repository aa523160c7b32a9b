// BLOOM against transformers 5.24 (Tests/Fixtures/README.md §3: models/bloom made by generate/models_gen.py):
// logits and every hidden state on the padded reference batch within 1e-4 (ALiBi positions from the mask, no
// position_ids passed, as the reference), and greedy generations token for token.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("BLOOM family")
struct FamilyBloomTests {
    let model: BloomModel

    init() throws {
        model = try BloomModel.load(folder: FamilyReference.folder("bloom"))
    }

    @Test("BLOOM logits and hidden states match transformers 5.24 within 1e-4 on the padded batch")
    func referenceBatch() throws {
        try FamilyReference.checkReference(model, family: "bloom", withPositions: false)
    }

    @Test("BLOOM greedy generation with the KV cache matches generate.json token for token")
    func greedyGeneration() throws {
        let generation = try GenerationConfig.load(url: FamilyReference.folder("bloom").appendingPathComponent("generation_config.json"))
        for testCase in try FamilyReference.generateCases("bloom") {
            let ids = try model.greedy(promptIds: testCase.inputIDs, maxNewTokens: testCase.newIDs.count, eosTokenIds: generation.eosTokenIDs)
            #expect(ids == testCase.newIDs, "prompt \(testCase.prompt.debugDescription)")
        }
    }

    @Test("BLOOM sanitize regroups the per-head interleaved query_key_value rows as q|k|v")
    func regroupsFusedQKV() {
        // 2 heads, D = 1: stored rows (h0 q, h0 k, h0 v, h1 q, h1 k, h1 v) become (q0, q1, k0, k1, v0, v1).
        let fused = Tensor(shape: [6], storage: [10, 11, 12, 20, 21, 22])
        #expect(BloomModel.regroupQKV(fused, heads: 2).storage == [10, 20, 11, 21, 12, 22])
    }

    @Test("BLOOM refuses a checkpoint with a misshapen fused projection")
    func typedErrors() throws {
        let folder = FamilyReference.folder("bloom")
        let configuration = try BloomConfiguration.load(url: folder.appendingPathComponent("config.json"))
        var weights = BloomModel.sanitize(weights: try CheckpointTensors.read(WeightMap(folder: folder)), heads: configuration.heads)
        weights["transformer.h.1.self_attention.query_key_value.weight"] = Tensor(zeros: [190, 64])
        #expect(throws: ModelError.wrongShape(tensor: "transformer.h.1.self_attention.query_key_value.weight",
                                              expected: [192, 64], found: [190, 64])) {
            try BloomModel(configuration: configuration, weights: weights)
        }
    }
}
