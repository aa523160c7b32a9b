// ModelConfiguration / GenerationConfig against every fixture config.json (values read off the JSON files
// in Tests/Fixtures/models, copied from the shared fixtures' models folder; README §3 and §9.1), both rope spellings,
// and typed errors for bad values.
import Foundation
import Testing
@testable import KilnModels

@Suite("Loading: config.json")
struct LoadingConfigTests {
    static func config(_ family: String) throws -> ModelConfiguration {
        try ModelConfiguration.load(url: LoadingFixtures.model(family, "config.json"))
    }

    static func decode(_ json: String) throws(ConfigError) -> ModelConfiguration {
        try ModelConfiguration.decode(Data(json.utf8))
    }

    @Test("Every fixture family decodes", arguments: ["bloom", "chatglm", "deepseek_v3", "glm", "gpt2", "llama",
                                                      "llama-bf16", "llama-rope-llama3", "mistral", "qwen2", "qwen3"])
    func decodesAll(family: String) throws {
        let c = try Self.config(family)
        #expect(c.vocabSize == 1000 && c.hiddenSize == 64 && c.attentionHeads == 4)
        if family != "chatglm" { #expect(try GenerationConfig.load(url: LoadingFixtures.model(family, "generation_config.json")).doSample == false) }
    }

    @Test("GPT-2 and BLOOM names resolve")
    func gpt2AndBloom() throws {
        let g = try Self.config("gpt2")
        #expect(g.modelType == .gpt2 && g.layerCount == 2 && g.intermediateSize == 128 && g.maxPositionEmbeddings == 256)
        #expect(g.hiddenAct == "gelu_new" && g.normEps == 1e-5 && g.tieWordEmbeddings && g.rope == nil && g.headDim == 16)
        #expect(g.bosTokenIDs == [999] && g.eosTokenIDs == [999] && g.padTokenID == 999 && g.dtype == "float32")
        let b = try Self.config("bloom")
        #expect(b.modelType == .bloom && b.layerCount == 2 && b.intermediateSize == 256 && b.maxPositionEmbeddings == nil)
        #expect(b.tieWordEmbeddings && b.eosTokenIDs == [2] && b.padTokenID == 3 && b.bosTokenIDs == [1] && b.normEps == 1e-5)
        // bigscience/bloom's own config.json spells the width `n_embed` (14336 there).
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: LoadingFixtures.model("bloom", "config.json"))) as? [String: Any])
        let width = object.removeValue(forKey: "hidden_size")
        object["n_embed"] = width
        let old = try ModelConfiguration.decode(try JSONSerialization.data(withJSONObject: object))
        #expect(old.hiddenSize == b.hiddenSize && old.headDim == b.headDim)
    }

    @Test("LLaMA, Mistral, Qwen2, Qwen3 values and rope")
    func llamaFamily() throws {
        let l = try Self.config("llama")
        #expect(l.kvHeads == 2 && l.headDim == 16 && l.intermediateSize == 176 && l.layerCount == 2 && l.normEps == 1e-5)
        #expect(l.rope == RopeConfiguration(kind: .default, theta: 500000, factor: 1, lowFreqFactor: 1, highFreqFactor: 4,
                                            originalMaxPositionEmbeddings: nil, betaFast: 32, betaSlow: 1, mscale: nil, mscaleAllDim: nil, attentionFactor: nil))
        #expect(!l.tieWordEmbeddings && !l.attentionBias && !l.mlpBias && l.hiddenAct == "silu" && l.eosTokenIDs == [998] && l.bosTokenIDs == [989])
        let l3 = try Self.config("llama-rope-llama3")
        #expect(l3.rope?.kind == .llama3 && l3.rope?.factor == 8 && l3.rope?.lowFreqFactor == 1 && l3.rope?.highFreqFactor == 4)
        #expect(l3.rope?.originalMaxPositionEmbeddings == 8192 && l3.maxPositionEmbeddings == 131072 && l3.rope?.theta == 500000)
        #expect(try Self.config("llama-bf16").dtype == "bfloat16")
        let m = try Self.config("mistral")
        #expect(m.slidingWindow == nil && m.rope?.theta == 10000 && m.padTokenID == 2)
        let q2 = try Self.config("qwen2")
        #expect(q2.attentionBias && q2.rope?.theta == 1_000_000 && q2.normEps == 1e-6 && q2.bosTokenIDs == [] && q2.padTokenID == 997)
        let q3 = try Self.config("qwen3")
        #expect(q3.headDim == 32 && q3.qkNorm && !q3.attentionBias && q3.eosTokenIDs == [995])
    }

    @Test("DeepSeek-V3 MLA and MoE fields")
    func deepSeek() throws {
        let d = try Self.config("deepseek_v3")
        #expect(d.layerCount == 3 && d.headDim == 8 && d.normEps == 1e-6)
        #expect(d.mla == MLAConfiguration(qLoraRank: 48, kvLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16, ropeInterleave: true))
        #expect(d.moe == MoEConfiguration(routedExperts: 8, sharedExperts: 1, expertsPerToken: 2, moeIntermediateSize: 32, firstKDenseReplace: 1,
                                          routedScalingFactor: 2.5, topkMethod: "noaux_tc", groups: 4, topkGroup: 2, normTopkProb: true, scoringFunc: "sigmoid"))
    }

    @Test("GLM and ChatGLM resolve to the same architecture (README §9.1 converter mapping)")
    func glmAndChatGLM() throws {
        let g = try Self.config("glm")
        let c = try Self.config("chatglm")
        #expect(g.partialRotaryFactor == 0.5 && g.attentionBias && g.kvHeads == 2 && g.headDim == 16 && g.eosTokenIDs == [986])
        #expect(c.modelType == .chatglm && c.layerCount == 2 && c.intermediateSize == 176 && c.kvHeads == 2 && c.headDim == 16)
        #expect(c.maxPositionEmbeddings == 256 && c.normEps == 1e-5 && c.attentionBias && !c.mlpBias && c.partialRotaryFactor == 0.5)
        #expect(c.chatGLM == ChatGLMConfiguration(multiQueryAttention: true, multiQueryGroupNum: 2, ropeRatio: 1, originalRope: true,
                                                  rmsNorm: true, postLayerNorm: true, residualPostLayerNorm: false))
        #expect(c.rope?.theta == 10000 && c.dtype == "float32" && c.padTokenID == 986)
        #expect(c.rope == g.rope && c.vocabSize == g.vocabSize && c.intermediateSize == g.intermediateSize)
        let glm4 = try Self.decode(#"{"model_type":"chatglm","num_layers":1,"hidden_size":8,"ffn_hidden_size":4,"num_attention_heads":2,"padded_vocab_size":4,"rope_ratio":500}"#)
        #expect(glm4.rope?.theta == 5_000_000 && glm4.kvHeads == 2)
    }

    @Test("Classic rope_theta / rope_scaling / torch_dtype and list eos ids")
    func classicKeys() throws {
        let base = #""model_type":"llama","hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":4"#
        let c = try Self.decode("{\(base),\"rope_theta\":1e4,\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0},\"torch_dtype\":\"float16\",\"eos_token_id\":[1,2]}")
        #expect(c.rope?.kind == .linear && c.rope?.factor == 2 && c.rope?.theta == 10000 && c.dtype == "float16" && c.eosTokenIDs == [1, 2])
        let y = try Self.decode("{\(base),\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":40,\"beta_fast\":32,\"beta_slow\":1,\"mscale\":1.0,\"mscale_all_dim\":1.0,\"original_max_position_embeddings\":4096}}")
        #expect(y.rope?.kind == .yarn && y.rope?.mscale == 1 && y.rope?.originalMaxPositionEmbeddings == 4096)
        let plain = try Self.decode("{\(base)}")
        #expect(plain.rope?.theta == 10000 && plain.kvHeads == 2 && plain.headDim == 4 && plain.normEps == 1e-6 && plain.eosTokenIDs == [])
        let window = try Self.decode("{\(base),\"model_type\":\"mistral\",\"sliding_window\":4096}".replacingOccurrences(of: #""model_type":"llama","#, with: ""))
        #expect(window.slidingWindow == 4096)

        #expect(throws: ConfigError.unsupportedRopeType("longrope")) { try Self.decode("{\(base),\"rope_scaling\":{\"type\":\"longrope\",\"factor\":2}}") }
        #expect(throws: ConfigError.unsupportedModelType("mamba")) { try Self.decode(#"{"model_type":"mamba"}"#) }
        #expect(ConfigError.unsupportedModelType("mamba").localizedDescription.hasPrefix("Model type mamba is not supported"))
        #expect(throws: ConfigError.missingKey("model_type")) { try Self.decode("{}") }
        #expect(throws: ConfigError.malformedJSON(reason: "top level is not a JSON object")) { try Self.decode("[1]") }
        #expect(throws: ConfigError.missingKey("vocab_size")) { try Self.decode(#"{"model_type":"llama","hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2}"#) }
        #expect(throws: ConfigError.invalidValue(key: "hidden_size", reason: "must be > 0, got -8")) {
            try Self.decode("{\(base)}".replacingOccurrences(of: "\"hidden_size\":8", with: "\"hidden_size\":-8"))
        }
        #expect(throws: ConfigError.invalidValue(key: "n_embd", reason: "unreasonably large: \(Int.max)")) {
            try Self.decode(#"{"model_type":"gpt2","n_embd":9223372036854775807,"n_layer":1,"n_head":1,"vocab_size":4}"#)
        }
        #expect(throws: ConfigError.invalidValue(key: "num_key_value_heads", reason: "3 does not divide 2 heads")) { try Self.decode("{\(base),\"num_key_value_heads\":3}") }
        #expect(throws: ConfigError.wrongType(key: "num_hidden_layers", expected: "Int")) {
            try Self.decode("{\(base)}".replacingOccurrences(of: "\"num_hidden_layers\":1", with: "\"num_hidden_layers\":\"one\""))
        }
        #expect(throws: ConfigError.invalidValue(key: "rope_scaling.factor", reason: "must be finite and > 0, got 0.0")) {
            try Self.decode("{\(base),\"rope_scaling\":{\"type\":\"dynamic\",\"factor\":0}}")
        }
        #expect(throws: ConfigError.missingKey("rope_parameters.original_max_position_embeddings")) {
            try Self.decode("{\(base),\"rope_parameters\":{\"rope_type\":\"llama3\",\"factor\":8}}")
        }
        #expect(throws: ConfigError.invalidValue(key: "partial_rotary_factor", reason: "must be in (0, 1], got 2.0")) {
            try Self.decode("{\(base),\"partial_rotary_factor\":2}")
        }
    }

    @Test("generation_config.json: defaults, lists and bad values")
    func generationConfig() throws {
        let g = try GenerationConfig.load(url: LoadingFixtures.model("llama", "generation_config.json"))
        #expect(g.bosTokenIDs == [989] && g.eosTokenIDs == [998] && g.padTokenID == 998 && g.topK == 50 && g.topP == 1 && g.temperature == 1)
        let glm = try GenerationConfig.load(url: LoadingFixtures.model("glm", "generation_config.json"))
        #expect(glm.bosTokenIDs == [] && glm.eosTokenIDs == [986])
        let s = try GenerationConfig.decode(Data(#"{"eos_token_id":[2,7],"do_sample":true,"temperature":0.7,"top_k":20,"top_p":0.9,"repetition_penalty":1.1,"max_new_tokens":64}"#.utf8))
        #expect(s.eosTokenIDs == [2, 7] && s.doSample && s.temperature == 0.7 && s.topK == 20 && s.topP == 0.9 && s.repetitionPenalty == 1.1 && s.maxNewTokens == 64)
        #expect(throws: ConfigError.invalidValue(key: "top_p", reason: "must be in (0, 1], got 1.5")) { try GenerationConfig.decode(Data(#"{"top_p":1.5}"#.utf8)) }
        #expect(throws: ConfigError.invalidValue(key: "eos_token_id", reason: "negative id")) { try GenerationConfig.decode(Data(#"{"eos_token_id":-1}"#.utf8)) }
        #expect(throws: ConfigError.self) { try GenerationConfig.decode(Data("{".utf8)) }
    }
}
