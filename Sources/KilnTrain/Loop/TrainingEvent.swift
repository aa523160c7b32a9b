// What a run reports while it works: one event per optimiser step, evaluation and checkpoint, the same from the
// Kiln engine and the torch worker, so the CLI's progress bar, the server's job page and metrics.jsonl share them.
import Foundation
import KilnAPI

/// One optimiser step's figures.
public struct StepMetrics: Sendable, Equatable {
    /// 1-based step and epoch.
    public var step: Int
    public var epoch: Int
    /// Trainer's logged loss: Σ over the step's micro-batches of (token CE sum / the step's label tokens).
    public var loss: Double
    /// The rate this step used.
    public var learningRate: Double
    /// The global gradient norm before clipping.
    public var gradNorm: Double
    /// Real (unpadded) tokens per second over the step, and the estimated seconds left.
    public var tokensPerSecond: Double
    public var etaSeconds: Double
    /// Resident memory after the step, bytes.
    public var rssBytes: Int
    /// Steps in the whole run.
    public var totalSteps: Int
}

/// A progress event.
public enum TrainingEvent: Sendable, Equatable {
    /// Training begins (or resumes after `fromStep`).
    case started(totalSteps: Int, trainItems: Int, validationItems: Int, trainableParameters: Int, fromStep: Int)
    /// An optimiser step finished.
    case step(StepMetrics)
    /// Validation loss at `step` (0: before training).
    case evaluation(step: Int, epoch: Int, loss: Double)
    /// A checkpoint was written.
    case checkpoint(step: Int, path: String)
    /// The run finished all its steps.
    case finished(TrainingSummary)

    /// The metrics.jsonl line of a step or evaluation (nil for other events): Trainer's keys only.
    public var metricsLine: String? {
        switch self {
        case .step, .evaluation:
            let trainerKeys: Set = ["step", "epoch", "loss", "learning_rate", "grad_norm", "eval_loss", "eval_perplexity"]
            return JSONValue.object(fields.filter { trainerKeys.contains($0.key) }).compactText
        default:
            return nil
        }
    }

    /// The event as one JSON object, `event` naming its kind: what `kiln train --json` prints and a job's progress stores.
    public var json: JSONValue {
        var object = fields
        object["event"] = .string(kind)
        return .object(object)
    }

    /// The event's kind: started, step, evaluation, checkpoint or finished.
    public var kind: String {
        switch self {
        case .started: "started"
        case .step: "step"
        case .evaluation: "evaluation"
        case .checkpoint: "checkpoint"
        case .finished: "finished"
        }
    }

    /// Every figure of the event, by its snake_case name.
    public var fields: [String: JSONValue] {
        func number(_ value: Int) -> JSONValue { .number(Double(value)) }
        switch self {
        case .started(let total, let items, let validation, let parameters, let from):
            return ["total_steps": number(total), "train_items": number(items), "validation_items": number(validation),
                    "trainable_parameters": number(parameters), "from_step": number(from)]
        case .step(let m):
            return ["step": number(m.step), "epoch": number(m.epoch), "loss": .number(m.loss), "learning_rate": .number(m.learningRate),
                    "grad_norm": .number(m.gradNorm), "tokens_per_second": .number(m.tokensPerSecond), "eta_seconds": .number(m.etaSeconds),
                    "rss_bytes": number(m.rssBytes), "total_steps": number(m.totalSteps)]
        case .evaluation(let step, let epoch, let loss):
            return ["step": number(step), "epoch": number(epoch), "eval_loss": .number(loss), "eval_perplexity": .number(Foundation.exp(min(loss, 700)))]
        case .checkpoint(let step, let path):
            return ["step": number(step), "path": .string(path)]
        case .finished(let s):
            return ["steps": number(s.steps), "final_loss": .number(s.finalLoss), "final_eval_loss": s.finalEvalLoss.map { .number($0) } ?? .null,
                    "seconds": .number(s.seconds), "tokens_per_second": .number(s.tokensPerSecond), "peak_rss_bytes": number(s.peakRSSBytes),
                    "adapter_sha256": .string(s.adapterSHA256), "out": .string(s.adapterPath)]
        }
    }
}

/// What a finished run reports.
public struct TrainingSummary: Sendable, Equatable {
    /// Steps run and the last step's loss.
    public var steps: Int
    public var finalLoss: Double
    /// The last validation loss, if any.
    public var finalEvalLoss: Double?
    /// Seconds spent (this process), mean real tokens per second, peak resident memory (bytes).
    public var seconds: Double
    public var tokensPerSecond: Double
    public var peakRSSBytes: Int
    /// SHA-256 of the saved adapter_model.safetensors.
    public var adapterSHA256: String
    /// Where the adapter was saved.
    public var adapterPath: String
}

/// Resident-memory figures of this process from /proc/self/status.
public enum ProcessMemory {
    /// Current resident set size, bytes (0 where /proc is absent).
    public static var residentBytes: Int { field("VmRSS:") }
    /// Peak resident set size, bytes.
    public static var peakResidentBytes: Int { field("VmHWM:") }

    static func field(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }
}
