// Continuous batching: sequences that join a running batch at different steps (two of them arriving together), with
// prompts of different lengths, each get transformers' greedy ids from generate.json; a seeded sampled sequence gets
// the ids it gets alone; a cancelled sequence leaves without disturbing the rest.
import Foundation
import KilnModels
import Testing

@Suite("Continuous batching")
struct ContinuousBatchTests {
    /// Collects one sequence's streamed ids and its result.
    final class Sink: @unchecked Sendable {
        var streamed: [Int] = []
        var result: Result<GenerationResult, any Error>?

        func sequence(_ promptIds: [Int], _ options: GenerationOptions, stop: StopSignal? = nil) -> BatchedSequence {
            BatchedSequence(promptIds: promptIds, options: options, stop: stop, onToken: { id, _ in self.streamed.append(id) },
                            onFinish: { self.result = $0 })
        }

        var ids: [Int]? { (try? result?.get())?.ids }
    }

    @Test("Sequences joining at step 0 (two prefilled together) and step 2 each get transformers' greedy ids",
          arguments: ["gpt2", "bloom", "llama", "mistral", "qwen2", "qwen3", "glm", "deepseek_v3"])
    func joinsMidRun(family: String) throws {
        let loaded = try LoadedModel(folder: FamilyReference.folder(family))
        let prompts = try GenerationFixtureTests.prompts(family)
        let batch = try #require(ContinuousBatches.make(model: loaded.model, tokenizer: loaded.tokenizer))
        // A short prefix of the first prompt has no reference in generate.json; it must equal the decoder's own greedy run.
        let short = Array(prompts[0].input_ids.prefix(3))
        let shortAlone = try #require(loaded.model as? any IncrementalDecoder).greedy(promptIds: short, maxNewTokens: 6)
        var joins: [(step: Int, prompt: [Int], expected: [Int])] = prompts.enumerated().map { index, p in
            (index == 0 ? 0 : index == 1 ? 2 : 5, p.input_ids, p.new_ids)
        }
        // It arrives with the first prompt: the two are prefilled together, the short one left-padded.
        joins.append((step: 0, prompt: short, expected: shortAlone))
        let sinks = joins.map { _ in Sink() }
        var step = 0
        while step < 64 {
            batch.admit(joins.enumerated().filter { $0.element.step == step }.map { index, join in
                sinks[index].sequence(join.prompt, GenerationOptions(maxNewTokens: join.expected.count))
            })
            batch.step()
            step += 1
            if step > joins.map(\.step).max()! && batch.count == 0 { break }
        }
        for (index, join) in joins.enumerated() {
            #expect(sinks[index].ids == join.expected, "\(family) sequence \(index) joining at step \(join.step)")
            #expect(sinks[index].streamed == join.expected)
        }
    }

    @Test("A seeded sampled sequence in a batch draws what it draws alone; a cancelled one leaves, the others go on")
    func samplingAndCancel() throws {
        let loaded = try LoadedModel(folder: FamilyReference.folder("llama"))
        let prompts = try GenerationFixtureTests.prompts("llama")
        let sampled = GenerationOptions(maxNewTokens: 10, sampling: SamplingParameters(temperature: 0.8, topK: 20, topP: 0.9), seed: 1234)
        let alone = try Generator(model: loaded.model, tokenizer: loaded.tokenizer).generate(promptIds: prompts[0].input_ids, options: sampled)
        let batch = try #require(ContinuousBatches.make(model: loaded.model, tokenizer: loaded.tokenizer))
        let (a, b, c) = (Sink(), Sink(), Sink())
        let stop = StopSignal()
        batch.admit(b.sequence(prompts[1].input_ids, GenerationOptions(maxNewTokens: prompts[1].new_ids.count)))
        batch.admit(c.sequence(prompts[0].input_ids, GenerationOptions(maxNewTokens: 30), stop: stop))
        batch.step()
        batch.admit(a.sequence(prompts[0].input_ids, sampled))
        batch.step()
        stop.set()
        while batch.count > 0 { batch.step() }
        #expect(a.ids == alone.ids)
        #expect(b.ids == prompts[1].new_ids)
        #expect((try? c.result?.get())?.finishReason == .cancelled)
        // One token from its prefill and one per step before the stop: three.
        #expect(c.ids?.count == 3)
    }
}
