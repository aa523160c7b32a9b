// The float32 products of prefill, one Linear shape at a time: Kiln's AVX-512 kernel (WideGemm, what MatMul.forward
// runs for prefill where the CPU has AVX-512) against OpenBLAS's sgemm (what it ran before, and runs on the AVX2 floor),
// in the same run on the same operands.
import ArgumentParser
import Foundation
import KilnTensor

/// `kiln-bench prefill-gemm`.
struct PrefillGemmBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill-gemm",
        abstract: "GFLOP/s of prefill's float32 Linear shapes (SmolLM2-135M, GPT-2-124M): Kiln's AVX-512 kernel vs OpenBLAS sgemm.")

    @Option(help: "Token counts (rows of x), comma-separated.")
    var tokens = "128,512,2048"

    @Option(help: "Timed repetitions (the best is reported).")
    var repeats = 5

    func run() async throws {
        guard WideGemm.available else { throw ValidationError("This CPU (or KILN_CPU) has no AVX-512: only OpenBLAS runs.") }
        let counts = tokens.split(separator: ",").compactMap { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ (1...65_536).contains($0) }), (1...10_000).contains(repeats) else {
            throw ValidationError("--tokens takes counts in 1...65536 and --repeats 1...10000.")
        }
        BLAS.setThreads(Parallel.cores)
        // (name, inputs k, outputs n): SmolLM2's q/o, k/v, gate/up, down and LM head; GPT-2's c_attn, c_fc, c_proj.
        let shapes = [("smollm2 q_proj", 576, 576), ("smollm2 k_proj", 576, 192), ("smollm2 gate_proj", 576, 1536),
                      ("smollm2 down_proj", 1536, 576), ("smollm2 lm_head", 576, 49152), ("gpt2 c_attn", 768, 2304),
                      ("gpt2 c_fc", 768, 3072), ("gpt2 mlp c_proj", 3072, 768)]
        print("Threads: \(Parallel.cores). Best of \(repeats).")
        print("")
        print("| shape | tokens | Kiln AVX-512 GFLOP/s | OpenBLAS GFLOP/s | ratio |")
        print("|---|---|---|---|---|")
        for m in counts {
            for (name, k, n) in shapes {
                let x = (0..<(m * k)).map { _ in Float.random(in: -1...1) }
                let w = (0..<(n * k)).map { _ in Float.random(in: -1...1) }
                var y = [Float](repeating: 0, count: m * n)
                let wide = best {
                    WideGemm.multiply(x, rows: m, inner: k, w, outer: n, into: &y)
                }
                let blas = best {
                    BLAS.sgemm(transposeB: true, m: m, n: n, k: k, a: x, b: w, c: &y)
                }
                let flops = 2 * Double(m) * Double(k) * Double(n) / 1e9
                print("| \(name) \(k)→\(n) | \(m) | \(fixed(flops / wide)) | \(fixed(flops / blas)) | \(fixed(blas / wide, 2))× |")
            }
        }
    }

    /// The fastest of `repeats` timed calls after one warm-up, in seconds.
    func best(_ body: () -> Void) -> Double {
        body()
        var fastest = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return fastest
    }
}
