// sgemm GFLOP/s: Kiln's OpenBLAS path against numpy's matmul, measured in the same run.
import ArgumentParser
import Foundation
import KilnTensor

/// `kiln-bench sgemm`: an N×N×N single-precision matrix product.
struct SgemmBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm",
        abstract: "Float32 N×N matmul GFLOP/s: Kiln (Debian OpenBLAS through CBLAS) vs numpy in the same run.")

    @Option(help: "Matrix size.")
    var size = 4096

    @Option(help: "Timed repetitions (the best is reported).")
    var repeats = 5

    func validate() throws {
        guard size > 0, repeats > 0 else { throw ValidationError("--size and --repeats must be positive.") }
    }

    func run() async throws {
        let (kiln, numpy) = try Self.measure(size: size, repeats: repeats)
        print("| sgemm \(size)×\(size) | GFLOP/s |")
        print("|---|---|")
        print("| Kiln (Debian OpenBLAS \(BLAS.threads) threads, OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "unset")) | \(fixed(kiln)) |")
        print("| numpy (its own OpenBLAS, OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset) | \(fixed(numpy)) |")
        print("")
        print("Kiln / numpy = \(fixed(kiln / numpy, 2))")
    }

    /// Kiln's and numpy's best GFLOP/s for an n×n×n product.
    static func measure(size n: Int, repeats: Int) throws -> (kiln: Double, numpy: Double) {
        BLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        var generator = SystemRandomNumberGenerator()
        let a = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &generator) }
        let b = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &generator) }
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<(repeats + 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        BLAS.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let flops = 2 * Double(n) * Double(n) * Double(n)
        return (flops / best / 1e9, try numpyGFLOPS(size: n, repeats: repeats))
    }

    /// numpy's best time for the same product, in a subprocess without the machine's OpenBLAS overrides.
    static func numpyGFLOPS(size: Int, repeats: Int) throws -> Double {
        let script = """
            import time, numpy as np
            n = \(size)
            a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
            a @ b
            best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
            print(2 * n ** 3 / best / 1e9)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0, let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("numpy timing failed (is numpy installed?)")
        }
        return value
    }
}
