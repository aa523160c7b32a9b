// Parallel.rows covers every row exactly once, and the parallel SIMD row kernels (RMSNorm, Softmax) equal
// their naive loops; splitting across cores never changes a result.
import Foundation
import KilnTensor
import Testing

@Suite("Parallel row kernels")
struct ParallelTests {
    @Test("Parallel.rows visits each row exactly once", arguments: [(0, 1), (1, 1), (7, 1), (1000, 3), (100_000, 1000)])
    func coversEveryRow(count: Int, minimum: Int) {
        let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, count))
        defer { visits.deallocate() }
        visits.initialize(repeating: 0)
        Parallel.rows(count, minimumPerTask: minimum) { range in
            for row in range { visits[row] += 1 }
        }
        #expect(visits.prefix(count).allSatisfy { $0 == 1 })
    }

    @Test("Parallel.streamRows visits each row exactly once, in chunks of at most the chunk size",
          arguments: [(0, 16), (1, 16), (17, 16), (1000, 16), (1000, 7), (100_000, 64)])
    func streamCoversEveryRow(count: Int, chunk: Int) {
        let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, count))
        defer { visits.deallocate() }
        visits.initialize(repeating: 0)
        nonisolated(unsafe) var longest = 0
        let lock = NSLock()
        Parallel.streamRows(count, chunk: chunk) { range in
            for row in range { visits[row] += 1 }
            lock.withLock { longest = max(longest, range.count) }
        }
        #expect(visits.prefix(count).allSatisfy { $0 == 1 })
        #expect(longest <= chunk)
    }

    @Test("Parallel.streamRows inside another parallel job (the pool busy) still visits each row once")
    func streamNested() {
        let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 300)
        defer { visits.deallocate() }
        visits.initialize(repeating: 0)
        Parallel.rows(4) { outer in
            for o in outer {
                Parallel.streamRows(300, chunk: 16) { range in
                    for row in range { visits[o * 300 + row] += 1 }
                }
            }
        }
        #expect(visits.allSatisfy { $0 == 1 })
    }

    @Test("RMSNorm SIMD kernel equals the naive loop", arguments: [(1, 1), (3, 15), (5, 16), (7, 37), (400, 64), (64, 576)])
    func rmsNormMatchesNaive(rows: Int, width: Int) {
        let x = KernelTests.random([rows, width], seed: 41), w = KernelTests.random([width], seed: 42)
        let diff = RMSNorm.forward(x, weight: w, eps: 1e-6).0.maxAbsDifference(RMSNorm.naiveForward(x, weight: w, eps: 1e-6))
        #expect(diff < 1e-5, "max abs diff \(diff)")
    }

    @Test("Softmax SIMD kernel equals the naive loop", arguments: [(1, 1), (3, 15), (5, 16), (7, 37), (1000, 64), (8, 2000)])
    func softmaxMatchesNaive(rows: Int, width: Int) {
        let x = Tensor(shape: [rows, width], storage: KernelTests.random([rows, width], seed: 43).storage.map { $0 * 20 })
        let diff = Softmax.forward(x).maxAbsDifference(Softmax.naiveForward(x))
        #expect(diff < 1e-6, "max abs diff \(diff)")
    }

    @Test("Softmax of a fully masked (all −∞) row is zeros, not NaN")
    func softmaxFullyMasked() {
        let x = Tensor(shape: [2, 3], storage: [-.infinity, -.infinity, -.infinity, 0, -.infinity, 0])
        #expect(Softmax.forward(x).storage == [0, 0, 0, 0.5, 0, 0.5])
    }

    @Test("A kernel split across cores equals the same kernel row by row")
    func splitDoesNotChangeResults() {
        // 4096 rows of 64 are split across cores; each row alone is computed on this thread.
        let x = KernelTests.random([4096, 64], seed: 44), w = KernelTests.random([64], seed: 45)
        let whole = RMSNorm.forward(x, weight: w, eps: 1e-5).0
        let softmax = Softmax.forward(x)
        for row in stride(from: 0, to: 4096, by: 511) {
            let single = Tensor(shape: [1, 64], storage: Array(x.storage[row * 64..<(row + 1) * 64]))
            #expect(RMSNorm.forward(single, weight: w, eps: 1e-5).0.storage == Array(whole.storage[row * 64..<(row + 1) * 64]))
            #expect(Softmax.forward(single).storage == Array(softmax.storage[row * 64..<(row + 1) * 64]))
        }
    }
}
