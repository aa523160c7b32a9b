// The sampler's filters on small logit vectors (expected values worked by hand and checked with numpy 1.26),
// SplitMix64 against its published test vectors, and the generic Generator against transformers' greedy
// generate (Tests/Fixtures/models/<family>/generate.json) and the families' own greedy loops.
import Foundation
import Testing
@testable import KilnModels

/// Sampler filters, penalty and the seeded generator.
@Suite("Generation sampler")
struct GenerationSamplerTests {
    /// Max |a − b| over equal-length vectors.
    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("Repetition penalty divides positive and multiplies negative seen logits (HF semantics)")
    func repetitionPenalty() {
        var logits: [Float] = [2, -1, 0.5, 3]
        Sampler.applyRepetitionPenalty(&logits, seen: [0, 1, 1], penalty: 2)
        #expect(logits == [1, -2, 0.5, 3])
    }

    @Test("OpenAI penalties subtract count × frequency + presence over generated ids only")
    func openAIPenalties() {
        var logits: [Float] = [1, 2, 3, 4]
        Sampler.applyOpenAIPenalties(&logits, generated: [2, 2, 0], presence: 0.5, frequency: 1)
        #expect(logits == [-0.5, 2, 0.5, 4])
    }

    @Test("Temperature 0.5 on logits [0, ln 2] gives probabilities [0.2, 0.8]")
    func temperature() {
        let probs = Sampler.probabilities([0, log(2)], parameters: SamplingParameters(temperature: 0.5))
        #expect(Self.maxDifference(probs, [0.2, 0.8]) < 1e-6, "max diff \(Self.maxDifference(probs, [0.2, 0.8]))")
    }

    @Test("Top-k 2 keeps the two largest logits: softmax([3, 2]) = [0.7310586, 0.2689414]")
    func topK() {
        let probs = Sampler.probabilities([1, 3, 2, 0], parameters: SamplingParameters(temperature: 1, topK: 2))
        let expected: [Float] = [0, 0.7310586, 0.2689414, 0]
        #expect(Self.maxDifference(probs, expected) < 1e-6, "max diff \(Self.maxDifference(probs, expected))")
        #expect(probs[0] == 0 && probs[3] == 0)
    }

    @Test("Top-p 0.7 over [0.5, 0.3, 0.15, 0.05] keeps 0.5 and 0.3, renormalised to [0.625, 0.375]")
    func topP() {
        let logits: [Float] = [0.5, 0.3, 0.15, 0.05].map { log($0) }
        let probs = Sampler.probabilities(logits, parameters: SamplingParameters(temperature: 1, topP: 0.7))
        let expected: [Float] = [0.625, 0.375, 0, 0]
        #expect(Self.maxDifference(probs, expected) < 1e-6, "max diff \(Self.maxDifference(probs, expected))")
    }

    @Test("Min-p 0.2 over [0.5, 0.3, 0.15, 0.05] drops 0.05 (< 0.1) and renormalises")
    func minP() {
        let logits: [Float] = [0.5, 0.3, 0.15, 0.05].map { log($0) }
        let probs = Sampler.probabilities(logits, parameters: SamplingParameters(temperature: 1, minP: 0.2))
        let expected: [Float] = [0.5263158, 0.3157895, 0.1578947, 0]
        #expect(Self.maxDifference(probs, expected) < 1e-6, "max diff \(Self.maxDifference(probs, expected))")
    }

    @Test("Greedy picks the argmax after the repetition penalty")
    func greedyAfterPenalty() {
        var rng = KilnModels.SplitMix64(seed: 0)
        #expect(Sampler.sample([2, 1.5, 0], parameters: .greedy, seen: [], using: &rng) == 0)
        let penalised = SamplingParameters(repetitionPenalty: 2)
        #expect(Sampler.sample([2, 1.5, 0], parameters: penalised, seen: [0], using: &rng) == 1)
    }

    @Test("SplitMix64 matches Vigna's reference outputs for seeds 0 and 1234567")
    func splitMixVectors() {
        var zero = KilnModels.SplitMix64(seed: 0)
        #expect([zero.next(), zero.next()] == [16_294_208_416_658_607_535, 7_960_286_522_194_355_700])
        var other = KilnModels.SplitMix64(seed: 1_234_567)
        #expect([other.next(), other.next(), other.next()] == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
    }

    @Test("draw maps seed 0's first uniform (0.8833) into the third bucket of [0.5, 0.3, 0.2]; zero weights never win")
    func drawBuckets() {
        var rng = KilnModels.SplitMix64(seed: 0)
        #expect(Sampler.draw([0.5, 0.3, 0.2], using: &rng) == 2)
        for _ in 0..<100 { #expect(Sampler.draw([0, 1, 0], using: &rng) == 1) }
    }

    @Test("The same seed gives the same sampled ids; filters never let a removed id through")
    func seededDeterminism() {
        let logits: [Float] = [0.1, 1.2, -0.3, 0.8, 2.0, 0.0, -1.0, 1.1]
        let parameters = SamplingParameters(temperature: 0.8, topK: 5, topP: 0.95, minP: 0.05)
        func run(_ seed: UInt64) -> [Int] {
            var rng = KilnModels.SplitMix64(seed: seed)
            return (0..<50).map { _ in Sampler.sample(logits, parameters: parameters, seen: [], using: &rng) }
        }
        #expect(run(42) == run(42))
        let allowed = Set(Sampler.probabilities(logits, parameters: parameters).enumerated().filter { $0.element > 0 }.map(\.offset))
        #expect(Set(run(42)).isSubset(of: allowed))
        #expect(!allowed.contains(6) && !allowed.contains(2))
    }
}

/// The generic generator against the fixtures.
@Suite("Generation over fixture models")
struct GenerationFixtureTests {
    /// One generate.json prompt.
    struct Prompt: Decodable {
        var prompt: String
        var input_ids: [Int]
        var new_ids: [Int]
    }

    /// generate.json's prompts.
    struct File: Decodable {
        var prompts: [Prompt]
    }

    static func prompts(_ family: String) throws -> [Prompt] {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: FamilyReference.folder(family).appendingPathComponent("generate.json"))).prompts
    }

    @Test("Greedy through Generator equals transformers' generate.json (gpt2, llama, qwen3, bloom)",
          arguments: ["gpt2", "llama", "qwen3", "bloom"])
    func greedyMatchesReference(family: String) throws {
        let loaded = try LoadedModel(folder: FamilyReference.folder(family))
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        for p in try Self.prompts(family) {
            #expect(loaded.tokenizer.encode(p.prompt) == p.input_ids)
            let result = try generator.generate(promptIds: p.input_ids, options: GenerationOptions(maxNewTokens: p.new_ids.count))
            #expect(result.ids == p.new_ids, "\(family) \(p.prompt): \(result.ids) != \(p.new_ids)")
            #expect(result.promptIds == p.input_ids)
        }
    }

    @Test("A left-padded batch decoded together gives every row transformers' ids",
          arguments: ["gpt2", "bloom", "llama", "mistral", "qwen2", "qwen3", "glm", "deepseek_v3"])
    func batchMatchesReference(family: String) throws {
        let loaded = try LoadedModel(folder: FamilyReference.folder(family))
        let prompts = try Self.prompts(family)
        // The same prompts twice, once cut short, so rows of three lengths share the batch and its padding.
        let batch = prompts.map(\.input_ids) + [Array(prompts[0].input_ids.prefix(3))]
        let longest = prompts.map(\.new_ids.count).max()!
        let results = try Generator(model: loaded.model, tokenizer: nil)
            .generate(batch: batch, options: GenerationOptions(maxNewTokens: longest), padTokenId: 0)
        for (p, result) in zip(prompts, results) {
            #expect(Array(result.ids.prefix(p.new_ids.count)) == p.new_ids, "\(family) \(p.prompt)")
        }
        let alone = loaded.model as? any IncrementalDecoder
        let short = try #require(alone).greedy(promptIds: batch.last!, maxNewTokens: longest)
        #expect(results.last?.ids == short, "\(family) short row")
    }

    @Test("Generator agrees with the families' own greedy loops (GPT2Model, LlamaModel)")
    func agreesWithFamilyGreedy() throws {
        let gpt2 = try GPT2Model.load(folder: FamilyReference.folder("gpt2"))
        let llama = try LlamaModel.load(folder: FamilyReference.folder("llama"))
        let prompt = [5, 17, 42, 99]
        let options = GenerationOptions(maxNewTokens: 12)
        #expect(try Generator(model: gpt2, tokenizer: nil).generate(promptIds: prompt, options: options).ids
                == gpt2.greedy(promptIds: prompt, maxNewTokens: 12))
        #expect(try Generator(model: llama, tokenizer: nil).generate(promptIds: prompt, options: options).ids
                == llama.greedy(promptIds: prompt, maxNewTokens: 12))
    }

    @Test("An EOS id stops generation after it is emitted, and streaming reports every id in order")
    func eosAndStreaming() throws {
        let loaded = try LoadedModel(folder: FamilyReference.folder("llama"))
        let p = try #require(try Self.prompts("llama").first)
        let eos = p.new_ids[3]
        let cut = Array(p.new_ids[...p.new_ids.firstIndex(of: eos)!])
        var streamed: [Int] = []
        let result = try Generator(model: loaded.model, tokenizer: loaded.tokenizer)
            .generate(promptIds: p.input_ids, options: GenerationOptions(maxNewTokens: p.new_ids.count, eosTokenIds: [eos])) { id, _ in
                streamed.append(id)
            }
        #expect(result.ids == cut)
        #expect(result.finishReason == .eos)
        #expect(streamed == cut)
    }

    @Test("A stop string ends generation and is cut from the text; deltas add up to the text")
    func stopString() throws {
        let loaded = try LoadedModel(folder: FamilyReference.folder("gpt2"))
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        let prompt = loaded.tokenizer.encode("The quick brown fox")
        let full = try generator.generate(promptIds: prompt, options: GenerationOptions(maxNewTokens: 16))
        let lastToken = loaded.tokenizer.decode([full.ids[full.ids.count - 1]], skipSpecialTokens: true)
        // Stop on the text of a late token, so the expected cut point is known from the full run.
        let stop = try #require(lastToken.isEmpty ? nil : lastToken)
        let expected = String(full.text[..<full.text.range(of: stop)!.lowerBound])
        var deltas = ""
        let result = try generator.generate(promptIds: prompt, options: GenerationOptions(maxNewTokens: 16, stopStrings: [stop])) { _, delta in
            deltas += delta
        }
        #expect(result.finishReason == .stop)
        #expect(result.text == expected)
        #expect(deltas == expected)
        #expect(!result.text.contains(stop))
    }

    @Test("An unknown model_type fails naming it and the supported types")
    func unknownModelType() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-unknown-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"model_type": "falcon"}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        #expect(throws: RegistryError.unsupportedModelType("falcon", supported: ModelRegistry.supportedTypes)) {
            try ModelRegistry.loadModel(folder: folder)
        }
        #expect(throws: GGUFError.self) { try ModelRegistry.loadModel(folder: URL(fileURLWithPath: "/nonexistent/model.gguf")) }
    }
}
