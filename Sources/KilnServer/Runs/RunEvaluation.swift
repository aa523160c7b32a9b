// After a run: how it compares with its base. The validation loss (and perplexity) of the base is the trainer's
// step-0 evaluation, when the adapter's B matrices are still zero; the tuned one is the last evaluation. Beside them,
// greedy answers of base and tuned model to held-out prompts, generated once on the inference thread and kept in the
// run folder as evaluation.json.
import Foundation
import Hummingbird
import KilnAPI
import KilnData
import KilnModels

/// A run's evaluation, as `GET /api/runs/:id/evaluation` answers it.
struct RunEvaluation: Codable, Sendable, Equatable {
    /// One held-out prompt with the reference answer and both models' greedy answers.
    struct Sample: Codable, Sendable, Equatable {
        var prompt: String
        var reference: String
        var base: String
        var tuned: String
    }

    var run: Int
    /// `validation` when the version has a validation split, else `train` (the answers are then not held out).
    var split: String
    var baseValidationLoss: Double?
    var tunedValidationLoss: Double?
    var basePerplexity: Double?
    var tunedPerplexity: Double?
    var samples: [Sample]

    enum CodingKeys: String, CodingKey {
        case run, split, samples
        case baseValidationLoss = "base_validation_loss", tunedValidationLoss = "tuned_validation_loss"
        case basePerplexity = "base_perplexity", tunedPerplexity = "tuned_perplexity"
    }

    /// Prompts compared; each costs two greedy generations.
    static let sampleCount = 3
    /// New tokens per answer.
    static let answerTokens = 48

    /// The step-0 and newest `eval_loss` logged in metrics.jsonl.
    static func losses(_ folder: URL) -> (base: Double?, tuned: Double?) {
        guard let text = try? String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8) else { return (nil, nil) }
        var losses: [(step: Int, loss: Double)] = []
        for line in text.split(separator: "\n") {
            guard case .object(let fields)? = JSONValue(parsing: String(line)), case .number(let loss)? = fields["eval_loss"] else { continue }
            let step: Int = if case .number(let s)? = fields["step"] { Int(s) } else { 0 }
            losses.append((step, loss))
        }
        // A resumed run logs step 0 once; the newest evaluation is the one at the highest step.
        let base = losses.first { $0.step == 0 }?.loss
        let tuned = losses.filter { $0.step > 0 }.max { $0.step < $1.step }?.loss
        return (base, tuned)
    }

    /// Prompt messages and reference answers of the first items of a run's data file (an export JSONL).
    static func prompts(_ file: URL, limit: Int) -> [(messages: [ChatTemplateMessage], prompt: String, reference: String)] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        var out: [(messages: [ChatTemplateMessage], prompt: String, reference: String)] = []
        for line in text.split(separator: "\n") where out.count < limit {
            // Export lines carry the item's fields at the top level beside id, split and hash.
            guard case .object(let fields)? = JSONValue(parsing: String(line)) else { continue }
            if case .string(let instruction)? = fields["instruction"], case .string(let response)? = fields["response"] {
                var prompt = instruction
                if case .string(let input)? = fields["input"], !input.isEmpty { prompt += "\n\n" + input }
                out.append(([ChatTemplateMessage(role: "user", content: prompt)], prompt, response))
            } else if case .array(let turns)? = fields["messages"] {
                let messages: [ChatTemplateMessage] = turns.compactMap {
                    guard case .object(let m) = $0, case .string(let role)? = m["role"], case .string(let content)? = m["content"] else { return nil }
                    return ChatTemplateMessage(role: role, content: content)
                }
                guard let last = messages.lastIndex(where: { $0.role == "assistant" }), last > 0 else { continue }
                out.append((Array(messages[..<last]), messages[last - 1].content ?? "", messages[last].content ?? ""))
            }
        }
        return out
    }
}

extension APIController {
    @Sendable func runEvaluation(_ request: Request, context: KilnContext) async throws -> Response {
        let job = try await succeededRun(context)
        let folder = URL(fileURLWithPath: job.outputDirectory, isDirectory: true)
        let cache = folder.appendingPathComponent("evaluation.json")
        if let data = try? Data(contentsOf: cache), let saved = try? JSONDecoder().decode(RunEvaluation.self, from: data) {
            return JSON.response(saved)
        }
        let evaluation = try await evaluate(job, folder: folder)
        try? JSON.encoder.encode(evaluation).write(to: cache, options: .atomic)
        return JSON.response(evaluation)
    }

    /// Scores and samples `job` against its base.
    func evaluate(_ job: TrainingJob, folder: URL) async throws -> RunEvaluation {
        guard let worker, let basePath = training?.catalog.path(job.base) else {
            throw DataError.conflict(code: "base_missing", message: "Run \(job.id)'s base \(job.base) is no longer on this node.")
        }
        let data = folder.appendingPathComponent("data")
        var split = "validation"
        var prompts = RunEvaluation.prompts(data.appendingPathComponent("validation.jsonl"), limit: RunEvaluation.sampleCount)
        if prompts.isEmpty {
            split = "train"
            prompts = RunEvaluation.prompts(data.appendingPathComponent("train.jsonl"), limit: RunEvaluation.sampleCount)
        }
        let base = try await worker.model(base: basePath, adapter: nil)
        let tuned = try await worker.model(base: basePath, adapter: folder)
        var samples: [RunEvaluation.Sample] = []
        for prompt in prompts {
            samples.append(RunEvaluation.Sample(
                prompt: prompt.prompt, reference: prompt.reference,
                base: try await answer(base, prompt.messages), tuned: try await answer(tuned, prompt.messages)))
        }
        let (baseLoss, tunedLoss) = RunEvaluation.losses(folder)
        return RunEvaluation(run: job.id, split: split, baseValidationLoss: baseLoss, tunedValidationLoss: tunedLoss,
                             basePerplexity: baseLoss.map { exp(min($0, 700)) }, tunedPerplexity: tunedLoss.map { exp(min($0, 700)) }, samples: samples)
    }

    /// `model`'s greedy answer to `messages`, as `kiln generate --greedy` would give it.
    func answer(_ serving: ServingModel, _ messages: [ChatTemplateMessage]) async throws -> String {
        let model = serving.loaded
        guard let worker, let ids = try model.chatPromptIds(messages) else { return "" }
        let options = GenerationOptions(maxNewTokens: min(RunEvaluation.answerTokens, max(1, (model.contextLength ?? 2048) - ids.count)),
                                        eosTokenIds: model.eosTokenIds)
        for try await event in worker.generate(serving, promptIds: ids, options: options, cancel: StopSignal()) {
            if case .finished(let result) = event { return result.text }
        }
        return ""
    }
}
