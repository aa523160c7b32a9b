// GLM-4 ("glm") and ChatGLM ("chatglm") against transformers 5.24 (Tests/Fixtures/README.md §3 and §9.1:
// models/glm made by generate/models_gen.py, models/chatglm by generate/chatglm_gen.py from the same weights).
// The chatglm folder holds only config.json and the renamed checkpoint: its expected outputs are glm's
// reference.safetensors and generate.json (byte-identical copies in the shared fixtures), so both models are
// checked against the glm files. Logits and every hidden state within 1e-4 at mask-1 positions (see
// FamilyReference.maxDifference for why pad positions are skipped), greedy generations token for token.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("GLM-4 and ChatGLM families")
struct FamilyGLMTests {
    let glm: GLMModel
    let chatGLM: ChatGLMModel

    init() throws {
        glm = try GLMModel.load(folder: FamilyReference.folder("glm"))
        chatGLM = try ChatGLMModel.load(folder: FamilyReference.folder("chatglm"))
    }

    /// Every tensor of a folder's checkpoint, by stored name.
    static func tensors(_ family: String) throws -> [String: Tensor] {
        try CheckpointTensors.read(WeightMap(folder: FamilyReference.folder(family)))
    }

    /// The folder's config.json.
    static func config(_ family: String) throws -> ModelConfiguration {
        try ModelConfiguration.load(url: FamilyReference.folder(family).appendingPathComponent("config.json"))
    }

    @Test("GLM-4 logits and hidden states match transformers 5.24 within 1e-4 on the padded batch")
    func glmReferenceBatch() throws {
        try FamilyReference.checkReference(glm, family: "glm", withPositions: true)
    }

    @Test("ChatGLM checkpoint reproduces the glm reference logits and hidden states within 1e-4")
    func chatGLMReferenceBatch() throws {
        print("chatglm checkpoint against models/glm/reference.safetensors:")
        try FamilyReference.checkReference(chatGLM, family: "glm", withPositions: true)
    }

    @Test("GLM-4 and ChatGLM greedy generation with the KV cache match generate.json token for token")
    func greedyGeneration() throws {
        let glmEOS = try GenerationConfig.load(url: FamilyReference.folder("glm").appendingPathComponent("generation_config.json")).eosTokenIDs
        // chatglm has no generation_config.json; its config.json carries the same eos id.
        let chatEOS = try Self.config("chatglm").eosTokenIDs
        let cases = try FamilyReference.generateCases("glm")
        #expect(cases.count == 2)
        for testCase in cases {
            let fromGLM = try glm.greedy(promptIds: testCase.inputIDs, maxNewTokens: testCase.newIDs.count, eosTokenIds: glmEOS)
            #expect(fromGLM == testCase.newIDs, "glm prompt \(testCase.prompt.debugDescription)")
            let fromChat = try chatGLM.greedy(promptIds: testCase.inputIDs, maxNewTokens: testCase.newIDs.count, eosTokenIds: chatEOS)
            #expect(fromChat == testCase.newIDs, "chatglm prompt \(testCase.prompt.debugDescription)")
        }
    }

    @Test("ChatGLM sanitize yields exactly the glm checkpoint, tensor for tensor")
    func sanitizeMatchesConverter() throws {
        let configuration = try GLMConfiguration.chatGLM(try Self.config("chatglm"))
        let mapped = try ChatGLMModel.sanitize(weights: try Self.tensors("chatglm"), configuration: configuration)
        let expected = try Self.tensors("glm")
        #expect(Set(mapped.keys) == Set(expected.keys))
        for (name, tensor) in expected {
            #expect(mapped[name]?.shape == tensor.shape, "\(name) shape")
            #expect(mapped[name]?.storage == tensor.storage, "\(name) values")
        }
        // The converter's config mapping lands on glm's architecture (README §9.1), RoPE base and width included.
        #expect(configuration.inverseFrequencies == (try GLMConfiguration.glm(try Self.config("glm"))).inverseFrequencies)
        #expect(configuration.inverseFrequencies.count == 4)
    }

    @Test("Without multi_query_attention the fused q|k|v is split per head as (H, 3·D)")
    func perHeadFusedSplit() throws {
        var configuration = try GLMConfiguration.glm(try Self.config("glm"))
        configuration.kvHeads = configuration.attentionHeads
        let (heads, d, width) = (4, 16, 64)
        // Row r of the fused weight holds r in every column, so each split part lists the rows it took.
        let fused = Tensor(shape: [3 * heads * d, width], storage: (0..<(3 * heads * d)).flatMap { Array(repeating: Float($0), count: width) })
        let parts = try ChatGLMModel.splitQKV(fused, name: "qkv", configuration, multiQuery: false)
        for (index, (projection, part)) in parts.enumerated() {
            #expect(part.shape == [heads * d, width], "\(projection)")
            let rows = stride(from: 0, to: part.count, by: width).map { Int(part.storage[$0]) }
            let expected = (0..<heads).flatMap { h in (0..<d).map { h * 3 * d + index * d + $0 } }
            #expect(rows == expected, "\(projection) rows")
        }
    }

    @Test("Cached decoding gives the same last-position logits as one full forward pass")
    func cacheMatchesFullForward() throws {
        let ids = [988, 990, 17, 300, 42, 7]
        let full = try glm.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
        var cache = GLMCache(layers: 2, batch: 1)
        _ = try glm.forward(inputIds: [Array(ids.prefix(4))], attentionMask: nil, positionIds: nil, cache: &cache)
        _ = try glm.forward(inputIds: [[ids[4]]], attentionMask: nil, positionIds: nil, cache: &cache)
        let last = try glm.forward(inputIds: [[ids[5]]], attentionMask: nil, positionIds: nil, cache: &cache).logits
        let diff = zip(last.storage, full.storage[(5 * 1000)..<(6 * 1000)]).map { abs($0 - $1) }.max()!
        print("glm cached vs full last-position logits max abs diff: \(diff)")
        #expect(cache.length == 6)
        #expect(diff <= 1e-5)
    }

    @Test("Wrong family, unsupported ChatGLM options, missing and misshapen tensors give typed errors")
    func typedErrors() throws {
        #expect(throws: ModelError.wrongFamily(expected: "glm", found: "chatglm")) {
            try GLMModel.load(folder: FamilyReference.folder("chatglm"))
        }
        #expect(throws: ModelError.wrongFamily(expected: "chatglm", found: "glm")) {
            try ChatGLMModel.load(folder: FamilyReference.folder("glm"))
        }
        var layerNorm = try Self.config("chatglm")
        layerNorm.chatGLM?.rmsNorm = false
        #expect(throws: ModelError.unsupportedOption(key: "rmsnorm", value: "false")) { try GLMConfiguration.chatGLM(layerNorm) }
        var biased = try Self.config("chatglm")
        biased.mlpBias = true
        #expect(throws: ModelError.unsupportedOption(key: "add_bias_linear", value: "true")) { try GLMConfiguration.chatGLM(biased) }

        let configuration = try GLMConfiguration.chatGLM(try Self.config("chatglm"))
        let weights = try Self.tensors("chatglm")
        let dense = "transformer.encoder.layers.1.self_attention.dense.weight"
        var missing = weights
        missing[dense] = nil
        #expect(throws: ModelError.missingTensor(dense)) { try ChatGLMModel(configuration: configuration, weights: missing) }
        let qkv = "transformer.encoder.layers.0.self_attention.query_key_value.weight"
        var misshapen = weights
        misshapen[qkv] = Tensor(zeros: [192, 64])
        #expect(throws: ModelError.wrongShape(tensor: qkv, expected: [128, 64], found: [192, 64])) {
            try ChatGLMModel(configuration: configuration, weights: misshapen)
        }
        var wrongHead = weights
        wrongHead["transformer.output_layer.weight"] = Tensor(zeros: [999, 64])
        #expect(throws: ModelError.wrongShape(tensor: "transformer.output_layer.weight", expected: [1000, 64], found: [999, 64])) {
            try ChatGLMModel(configuration: configuration, weights: wrongHead)
        }
        #expect(throws: ModelError.self) { try glm.forward(inputIds: [[1, 1000]], attentionMask: nil, positionIds: nil) }
        #expect(throws: ModelError.self) { try chatGLM.forward(inputIds: [[1, 2], [3]], attentionMask: nil, positionIds: nil) }
    }
}
