// The processes the inference benchmark runs beside Kiln: the PyTorch peer in .venv-bench (created by
// scripts/bench-setup on first use) and Kiln itself re-run without the machine's OpenBLAS overrides, so
// both sides of a comparison see the same environment.
import ArgumentParser
import Foundation

/// Launches and reads the benchmark's helper processes.
enum PeerProcess {
    /// Environment variables this machine may set that pin OpenBLAS to an older kernel set.
    static let openBLASOverrides = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
    /// Set in the re-run's environment so that it never re-runs again.
    static let rerunMarker = "KILN_BENCH_OPENBLAS_RERUN"

    /// When an override is set, runs this same command without them and returns its exit status; nil when unset
    /// (the caller goes on in this process).
    static func rerunWithoutOpenBLASOverrides() throws -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        // The re-run is marked: where Debian's OpenBLAS does not know the CPU, Kiln's own start-up names the kernel
        // family again (OpenBLASEnvironment), and that choice is Kiln's to keep, not an override to strip forever.
        guard environment[rerunMarker] == nil, openBLASOverrides.contains(where: { environment[$0] != nil }) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = Array(CommandLine.arguments.dropFirst())
        process.environment = environment.filter { !openBLASOverrides.contains($0.key) }.merging([rerunMarker: "1"]) { $1 }
        print("(re-running without \(openBLASOverrides.joined(separator: "/")), as numpy's side runs; --keep-openblas-overrides keeps them)")
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// PyTorch's prefill and decode tokens/s from tools/torch_peer.py for the same shape.
    static func torch(model: String, dtype: String, promptTokens: Int, newTokens: Int, threads: Int,
                      repeats: Int) throws -> (prefill: Double, decode: Double) {
        let python = ".venv-bench/bin/python"
        if !FileManager.default.isExecutableFile(atPath: python) {
            guard try run(["./scripts/bench-setup"]).status == 0 else { throw ValidationError("scripts/bench-setup failed") }
        }
        let (status, output) = try run([python, "tools/torch_peer.py", "--model", model, "--dtype", dtype, "--prompt-tokens", "\(promptTokens)",
                                        "--new-tokens", "\(newTokens)", "--threads", "\(threads)", "--repeats", "\(repeats)", "--json"])
        guard status == 0, let line = output.split(separator: "\n").last,
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let prefill = json["prefill_tokens_per_s"] as? Double, let decode = json["decode_tokens_per_s"] as? Double else {
            throw ValidationError("tools/torch_peer.py failed for \(model) \(dtype): \(output.suffix(400))")
        }
        return (prefill, decode)
    }

    /// llama.cpp's figures on one GGUF file (tools/llama_peer.py).
    struct LlamaFigures {
        /// Prompt length → prefill tokens/s.
        var prefill: [Int: Double]
        /// Context length → decode tokens/s.
        var decode: [Int: Double]
        /// Greedy tokens per greedy prompt.
        var greedy: [[Int]]
        /// The first greedy prompt's last-position logits.
        var lastLogits: [Float]
    }

    /// Runs llama.cpp on `file`: prefill of `prompt`'s first N tokens and decode after them for N in `contexts`, and
    /// greedy continuations of `greedyPrompts`.
    static func llama(file: String, prompt: [Int], contexts: [Int], newTokens: Int, threads: Int, repeats: Int,
                      greedyPrompts: [[Int]]) throws -> LlamaFigures {
        let prompts = String(decoding: try JSONSerialization.data(withJSONObject: greedyPrompts), as: UTF8.self)
        let (status, output) = try run([".venv-bench/bin/python", "tools/llama_peer.py", "--model", file,
                                        "--prompt-ids", prompt.map(String.init).joined(separator: ","),
                                        "--contexts", contexts.map(String.init).joined(separator: ","), "--new-tokens", "\(newTokens)",
                                        "--threads", "\(threads)", "--repeats", "\(repeats)", "--greedy-prompts", prompts, "--json"])
        guard status == 0, let line = output.split(separator: "\n").last,
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let prefill = json["prefill_tokens_per_s"] as? [String: Double], let decode = json["decode_tokens_per_s"] as? [String: Double],
              let greedy = json["greedy"] as? [[Int]], let logits = json["last_logits"] as? [Double] else {
            throw ValidationError("tools/llama_peer.py failed for \(file): \(output.suffix(400))")
        }
        func keyed(_ values: [String: Double]) -> [Int: Double] {
            Dictionary(uniqueKeysWithValues: values.compactMap { key, value in Int(key).map { ($0, value) } })
        }
        return LlamaFigures(prefill: keyed(prefill), decode: keyed(decode), greedy: greedy, lastLogits: logits.map(Float.init))
    }

    /// Runs a command from the package root (the working directory) and returns its status and standard output.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
