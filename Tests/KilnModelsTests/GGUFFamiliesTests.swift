// GPT-2, BLOOM and GLM from GGUF: the tiny fixture checkpoints converted by llama.cpp's own converter
// (Tests/Fixtures/gguf_archs/make.py, F32) run through GGUFModel.loadAny and give transformers' logits and hidden
// states (models/<family>/reference.safetensors) within 1e-4, and the same greedy tokens.
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("GGUF GPT-2, BLOOM and GLM files")
struct GGUFFamiliesTests {
    /// Tests/Fixtures/gguf_archs/<name>.f32.gguf.
    static func file(_ name: String) -> URL {
        LoadingFixtures.root.appendingPathComponent("gguf_archs/\(name).f32.gguf")
    }

    @Test("Converted files match the transformers reference batch within 1e-4",
          arguments: [("gpt2", "gpt2", true), ("bloom", "bloom", false), ("glm", "glm", true), ("chatglm", "glm", true)])
    func referenceBatch(file: String, family: String, withPositions: Bool) throws {
        let model = try GGUFModel.loadAny(reader: GGUFReader(url: Self.file(file)))
        try FamilyReference.checkReference(model, family: family, withPositions: withPositions)
    }

    @Test("On the fast path F32 and Q8_0 files give llama.cpp's own logits; the exact path stays within its float16 rounding",
          arguments: ["bloom", "glm"])
    func againstLlamaCpp(family: String) throws {
        let peer = try SafeTensorsReader(url: LoadingFixtures.root.appendingPathComponent("gguf_archs/llama_cpp_logits.safetensors"))
        let ids = try peer.int64s("\(family).input_ids").map(Int.init)
        for type in ["f32", "q8_0"] {
            let reader = try GGUFReader(url: LoadingFixtures.root.appendingPathComponent("gguf_archs/\(family).\(type).gguf"))
            if type == "q8_0" { #expect(reader.tensorInfos.filter { $0.type == .q8_0 }.count >= 9) }
            let expected = try peer.floats("\(family).\(type).logits")
            for arithmetic in [QuantizedArithmetic.exact, .fast] {
                let model = try QuantizedArithmetic.$loading.withValue(arithmetic) { try GGUFModel.loadAny(reader: reader) }
                let logits = try model.forward(inputIds: [ids], attentionMask: nil, positionIds: nil).logits
                let diff = zip(logits.storage, expected).map { abs($0 - $1) }.max() ?? .infinity
                print("\(family) \(type) \(arithmetic) vs llama.cpp: max abs diff \(diff)")
                switch (type, arithmetic) {
                // llama.cpp keeps K and V in float16 and tabulates GELU in float16: 2e-3 (bloom) and 5e-3 (glm).
                case ("f32", .exact): #expect(diff < 1e-2, "\(family) f32 exact: \(diff)")
                // Q8_0 activations amplify those roundings: 0.07–0.13 unless they are mirrored.
                case (_, .exact): #expect(diff > 2e-2, "\(family) q8_0 exact: \(diff)")
                default: #expect(diff < 1e-3, "\(family) \(type) fast: \(diff)")
                }
            }
        }
    }

    @Test("Decoding step by step over the float16 cache stays on llama.cpp's logits", arguments: ["bloom", "glm"])
    func decodeAgainstLlamaCpp(family: String) throws {
        let peer = try SafeTensorsReader(url: LoadingFixtures.root.appendingPathComponent("gguf_archs/llama_cpp_logits.safetensors"))
        let ids = try peer.int64s("\(family).input_ids").map(Int.init)
        let expected = try peer.floats("\(family).q8_0.logits")
        let reader = try GGUFReader(url: LoadingFixtures.root.appendingPathComponent("gguf_archs/\(family).q8_0.gguf"))
        let model = try QuantizedArithmetic.$loading.withValue(.fast) { try GGUFModel.loadAny(reader: reader) }
        let decoder = try #require(model as? any IncrementalDecoder)
        func steps<D: IncrementalDecoder>(_ decoder: D) throws -> Float {
            var cache = decoder.makeCache(batch: 1)
            var worst: Float = 0
            let vocabulary = decoder.vocabularySize
            for (t, id) in ids.enumerated() {
                let logits = try decoder.decodeLogits([[id]], attentionMask: nil, cache: &cache, lastStepOnly: true)
                for i in 0..<vocabulary { worst = max(worst, abs(logits.storage[i] - expected[t * vocabulary + i])) }
            }
            return worst
        }
        let diff = try steps(decoder)
        print("\(family) q8_0 fast, decoded step by step, vs llama.cpp: max abs diff \(diff)")
        // The chunked decoding kernel normalises and rounds each probability row as llama.cpp does (5e-7 here); without
        // that rounding a few int8 activations round the other way (0.06).
        #expect(diff < 1e-4, "\(family): \(diff)")
    }

    @Test("Converted files generate generate.json's greedy tokens", arguments: [("gpt2", "gpt2"), ("bloom", "bloom"), ("glm", "glm")])
    func greedy(file: String, family: String) throws {
        let loaded = try LoadedModel(folder: Self.file(file))
        #expect(loaded.modelType == family)
        let decoder = try #require(loaded.model as? any IncrementalDecoder)
        for testCase in try FamilyReference.generateCases(family) {
            let ids = try decoder.greedy(promptIds: testCase.inputIDs, maxNewTokens: testCase.newIDs.count, eosTokenIds: [])
            #expect(Array(ids.prefix(testCase.newIDs.count)) == testCase.newIDs, "\(file) prompt \(testCase.prompt.debugDescription)")
        }
    }

    @Test("The derived configurations read the tensors where the converter's metadata is loose")
    func configurations() throws {
        let gpt2 = try GGUFModel.configJSON(reader: GGUFReader(url: Self.file("gpt2")))
        // The converter writes feed_forward_length = 4·n_embd (256); the fixture's MLP is 128 wide.
        #expect(gpt2["n_inner"] as? Int == 128 && gpt2["n_positions"] as? Int == 256 && gpt2["model_type"] as? String == "gpt2")
        let glm = try GGUFModel.configJSON(reader: GGUFReader(url: Self.file("glm")))
        #expect(glm["model_type"] as? String == "glm" && glm["partial_rotary_factor"] as? Double == 0.5)
        #expect(glm["tie_word_embeddings"] as? Bool == false)
        let chatglm = try GGUFModel.configJSON(reader: GGUFReader(url: Self.file("chatglm")))
        // ChatGLM's fused query_key_value carries the bias.
        #expect(chatglm["model_type"] as? String == "glm" && chatglm["attention_bias"] as? Bool == true)
        #expect(try GGUFReader(url: Self.file("chatglm")).tensors["blk.0.attn_qkv.bias"] != nil)
    }

    @Test("A misnamed or misshapen tensor in a GPT-2 file is refused with a typed error")
    func hostile() throws {
        #expect(throws: GGUFModelError.unexpectedTensor("blk.0.attn_q.weight")) { try GGUFModel.gpt2Name("blk.0.attn_q.weight") }
        #expect(throws: GGUFModelError.unexpectedTensor("blk.x.attn_qkv.weight")) { try GGUFModel.gpt2Name("blk.x.attn_qkv.weight") }
        #expect(throws: GGUFModelError.unexpectedTensor("blk.0.ffn_up")) { try GGUFModel.bloomName("blk.0.ffn_up") }
        #expect(try GGUFModel.glmName("blk.1.attn_qkv.bias") == "model.layers.1.self_attn.query_key_value.bias")
        // Training bases run on the LLaMA blocks only.
        #expect(throws: GGUFModelError.unsupportedArchitecture("bloom", supported: GGUFModel.llamaArchitectures)) {
            _ = try GGUFModel.checkpoint(reader: GGUFReader(url: Self.file("bloom")))
        }
    }
}
