// YaRN rope scaling against transformers 5.24: the llama fixture's weights with its config switched to YaRN
// (Tests/Fixtures/rope_yarn/make.py wrote transformers' logits, rotary buffer and attention scaling), and a
// DeepSeek-V3 config with YaRN's mscale (values printed by transformers' DeepseekV3Attention/RotaryEmbedding).
import Foundation
import KilnTensor
import Testing
@testable import KilnModels

@Suite("YaRN rope scaling")
struct RopeYarnTests {
    static let folder = LoadingFixtures.root.appendingPathComponent("rope_yarn")

    /// The llama fixture's config.json with `rope_parameters` replaced.
    static func llamaConfig(rope: String) throws -> ModelConfiguration {
        let url = FamilyLlamaTests.folder("llama").appendingPathComponent("config.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["rope_parameters"] = try JSONSerialization.jsonObject(with: Data(rope.utf8))
        return try ModelConfiguration.decode(try JSONSerialization.data(withJSONObject: object))
    }

    @Test("LLaMA with YaRN: rotary frequencies, cos/sin scaling and logits match transformers")
    func llamaLogits() throws {
        let config = try Self.llamaConfig(rope: #"{"rope_type": "yarn", "rope_theta": 500000.0, "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 16.0, "beta_slow": 2.0}"#)
        let c = try LlamaConfiguration.llama(config)
        let reference = try SafeTensorsReader(url: Self.folder.appendingPathComponent("llama_yarn.safetensors"))
        let expectedFrequencies = try reference.floats("inv_freq")
        for (mine, theirs) in zip(c.inverseFrequencies, expectedFrequencies) {
            #expect(abs(mine - theirs) <= 1e-6 * abs(theirs), "inv_freq \(mine) vs \(theirs)")
        }
        #expect(abs(c.ropeAttentionScaling - 1.138629436111989) < 1e-6)

        let weights = try WeightMap(folder: FamilyLlamaTests.folder("llama"))
        var tensors: [String: Tensor] = [:]
        for name in weights.names { tensors[name] = try weights.tensor(name) }
        let model = try LlamaModel(configuration: c, weights: tensors)
        let batch = try SafeTensorsReader(url: FamilyLlamaTests.folder("llama").appendingPathComponent("reference.safetensors"))
        let mask = try FamilyLlamaTests.rows(batch, "attention_mask")
        let output = try model.forward(inputIds: try FamilyLlamaTests.rows(batch, "input_ids"), attentionMask: mask,
                                       positionIds: try FamilyLlamaTests.rows(batch, "position_ids"))
        let diff = FamilyLlamaTests.maskedMaxDiff(output.logits, try reference.floats("logits"), mask: mask)
        #expect(diff <= FamilyLlamaTests.tolerance, "yarn logits differ by \(diff)")
    }

    @Test("Classic rope_scaling spelling with mscale/mscale_all_dim gives transformers' attention factor")
    func classicSpelling() throws {
        let url = FamilyLlamaTests.folder("llama").appendingPathComponent("config.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["rope_parameters"] = nil
        object["rope_theta"] = 10000.0
        object["rope_scaling"] = ["type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32, "beta_fast": 16,
                                  "beta_slow": 2, "mscale": 0.707, "mscale_all_dim": 1.0]
        let c = try LlamaConfiguration.llama(ModelConfiguration.decode(try JSONSerialization.data(withJSONObject: object)))
        // transformers' _compute_yarn_parameters for head_dim 16 with these parameters.
        let expected: [Float] = [1.0, 0.03952847048640251, 0.012500000186264515, 0.0039528473280370235, 0.0012499999720603228,
                                 0.00039528473280370235, 0.0001250000059371814, 3.9528473280370235e-05]
        for (mine, theirs) in zip(c.inverseFrequencies, expected) { #expect(abs(mine - theirs) <= 1e-6 * theirs) }
        #expect(abs(c.ropeAttentionScaling - 0.9495608824621653) < 1e-6)
    }

    @Test("DeepSeek-V3 with YaRN: softmax scale grows by mscale², frequencies as transformers")
    func deepSeekScale() throws {
        let url = LoadingFixtures.model("deepseek_v3", "config.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["rope_parameters"] = ["rope_type": "yarn", "rope_theta": 10000.0, "factor": 40.0, "original_max_position_embeddings": 64,
                                     "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0]
        let c = try DeepSeekV3Configuration(ModelConfiguration.decode(try JSONSerialization.data(withJSONObject: object)))
        #expect(abs(c.softmaxScale - 0.38249888831204115) < 1e-7)
        #expect(c.ropeAttentionScaling == 1)
        let expected: [Float] = [1.0, 0.051249999552965164, 0.0002500000118743628, 2.499999936844688e-05]
        for (mine, theirs) in zip(c.inverseFrequencies, expected) { #expect(abs(mine - theirs) <= 1e-6 * theirs) }
    }
}
