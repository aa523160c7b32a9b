// How `kiln train` shows a run: a one-line progress bar on a terminal (or a line per step when piped), every event as
// a JSON line with --json, and the summary always.
import Foundation
import KilnAPI
import KilnTrain

/// Drives a run and reports its events.
struct TrainingReporter {
    /// Events as JSON lines on standard output.
    let json: Bool
    /// Redraw one line on standard error (a terminal) instead of printing a line per step.
    let isTerminal = isatty(STDERR_FILENO) == 1

    /// Runs `run` to the end, stopping cleanly at a checkpoint on SIGINT/SIGTERM.
    func drive(_ run: TrainingRun) throws {
        let stop = StopSignal.install()
        let summary = try run.run(observer: report, shouldStop: { stop.requested })
        if isTerminal && !json { FileHandle.standardError.write(Data("\n".utf8)) }
        guard let summary else {
            print("Stopped after step \(run.completedSteps) of \(run.totalSteps); continue with: kiln train resume \(run.output.path)")
            return
        }
        if json {
            var object = TrainingEvent.finished(summary).fields
            object["event"] = "summary"
            print(JSONValue.object(object).compactText)
            return
        }
        print("Trained \(summary.steps) steps in \(String(format: "%.1f", summary.seconds)) s "
              + "(\(String(format: "%.0f", summary.tokensPerSecond)) tokens/s, peak memory \(formatBytes(summary.peakRSSBytes))).")
        print("Final loss \(String(format: "%.4f", summary.finalLoss))"
              + (summary.finalEvalLoss.map { String(format: ", validation loss %.4f (perplexity %.2f)", $0, exp($0)) } ?? "") + ".")
        print("Adapter: \(summary.adapterPath)/adapter_model.safetensors (sha256 \(summary.adapterSHA256))")
    }

    func report(_ event: TrainingEvent) {
        if json {
            // Flushed per line: a watcher reading a pipe sees each event when it happens.
            // The summary is printed once the run returns, so the finished event is not.
            if case .finished = event { return }
            print(event.json.compactText)
            fflush(nil)
            return
        }
        switch event {
        case .started(let total, let items, let validation, let parameters, let from):
            printError("Training \(parameters) LoRA parameters on \(items) items (\(validation) validation), \(total) steps"
                       + (from > 0 ? ", resuming after step \(from)" : "") + ".")
        case .step(let m):
            let line = String(format: "step %d/%d  epoch %d  loss %.4f  lr %.3g  grad norm %.3f  %.0f tok/s  ETA %@  RSS %@",
                              m.step, m.totalSteps, m.epoch, m.loss, m.learningRate, m.gradNorm, m.tokensPerSecond,
                              formatDuration(m.etaSeconds), formatBytes(m.rssBytes))
            if isTerminal {
                let width = 24, done = width * m.step / max(1, m.totalSteps)
                let bar = String(repeating: "█", count: done) + String(repeating: "░", count: width - done)
                FileHandle.standardError.write(Data("\r\u{1B}[2K\(bar) \(line)".utf8))
            } else {
                printError(line)
            }
        case .evaluation(let step, _, let loss):
            if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            printError(String(format: "eval after step %d: loss %.4f, perplexity %.2f", step, loss, exp(loss)))
        case .checkpoint(let step, let path):
            if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            printError("checkpoint at step \(step): \(path)")
        case .finished:
            break
        }
    }
}

/// "1h02m", "3m05s", "12s".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}

/// Set by SIGINT/SIGTERM so a run stops at the next step boundary with a checkpoint.
final class StopSignal: @unchecked Sendable {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    /// Whether a stop was asked for.
    var requested: Bool { Self.flag != 0 }

    /// Installs the handlers.
    static func install() -> StopSignal {
        signal(SIGINT) { _ in StopSignal.flag = 1 }
        signal(SIGTERM) { _ in StopSignal.flag = 1 }
        return StopSignal()
    }
}
