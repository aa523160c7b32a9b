// The AVX-512 row blocks of SmallGemm against its Swift reference and against Double sums: ragged row counts (not
// multiples of the 6-row block), column counts that are and are not multiples of the 16 lanes and the 64-column tile,
// causal column and depth limits, alpha and accumulation. Without AVX-512 (or under KILN_CPU=avx2) `multiply` is the
// reference itself, and the Double sums still check it.
import Foundation
import Testing
@testable import KilnTensor

@Suite("SmallGemm")
struct SmallGemmTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var m: Int, n: Int, k: Int
        var alpha: Float = 1
        var accumulate = false
        var depth: SmallGemm.Limit = .none
        var columns: SmallGemm.Limit = .none
        var testDescription: String { "\(m)x\(n)x\(k) alpha \(alpha) accumulate \(accumulate) depth \(depth) columns \(columns)" }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1),
        Case(m: 7, n: 17, k: 5, alpha: 0.5),
        Case(m: 13, n: 64, k: 64, accumulate: true),
        Case(m: 128, n: 128, k: 64, alpha: 0.125, columns: .through(0)),
        Case(m: 130, n: 64, k: 130, depth: .through(0)),
        Case(m: 37, n: 70, k: 50, alpha: 2, accumulate: true, depth: .from(3)),
        Case(m: 20, n: 200, k: 9, columns: .through(150)),
    ]

    @Test("The kernel's products equal the Swift reference and the Double sums", arguments: cases)
    func matchesReference(_ c: Case) {
        var a = WideGemmTests.values(c.m * c.k, seed: 21)
        let b = WideGemmTests.values(c.k * c.n, seed: 23)
        // A depth limit promises zeros outside each row's range (a causal P or dS), which a block may still read.
        for i in 0..<c.m {
            for p in 0..<c.k where p < c.depth.lower(i) || p >= c.depth.upper(i + 1, c.k) { a[i * c.k + p] = 0 }
        }
        let start = WideGemmTests.values(c.m * c.n, seed: 25)
        var fast = start, reference = start
        fast.withUnsafeMutableBufferPointer { cp in
            SmallGemm.multiply(a, lda: c.k, b, ldb: c.n, cp.baseAddress!, ldc: c.n, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                               accumulate: c.accumulate, depth: c.depth, columns: c.columns)
        }
        reference.withUnsafeMutableBufferPointer { cp in
            SmallGemm.reference(a, lda: c.k, b, ldb: c.n, cp.baseAddress!, ldc: c.n, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                accumulate: c.accumulate, depth: c.depth, columns: c.columns)
        }
        for i in 0..<c.m {
            // What each row needs: its own columns and depth (a block may compute more, never less).
            let width = c.columns.upper(i + 1, c.n)
            let depth = c.depth.lower(i)..<max(c.depth.lower(i), c.depth.upper(i + 1, c.k))
            for j in 0..<width {
                let sum = depth.reduce(0.0) { $0 + Double(a[i * c.k + $1]) * Double(b[$1 * c.n + j]) }
                let expected = Double(c.alpha) * sum + (c.accumulate ? Double(start[i * c.n + j]) : 0)
                #expect(abs(Double(fast[i * c.n + j]) - expected) <= 1e-5 * max(1, Double(c.k) / 16), "C[\(i), \(j)]")
                #expect(abs(fast[i * c.n + j] - reference[i * c.n + j]) <= 1e-5 * max(1, Float(c.k) / 16), "C[\(i), \(j)] vs reference")
            }
        }
    }
}
