// Single-threaded products of the small matrices of one attention head (T×D and T×T for T in the hundreds, D = 64),
// run side by side on the cores, one head per task. Through OpenBLAS each of these was its own two-thread call at
// 70–90 GFLOP/s, most of it hand-off; and a causal mask lets these skip what the mask zeroes: a query row's scores
// stop at its own position, and a product with P or dS stops where the row's probabilities do.
import Foundation
import KilnKernels

/// C = alpha · A · B (+ C) for small row-major matrices: six rows of C by 64 columns at a time on AVX-512, four by
/// sixteen in Swift elsewhere.
public enum SmallGemm {
    /// Which part of a product a triangular operand lets a block of rows [i0, i1) skip.
    public enum Limit: Sendable, Equatable {
        /// Nothing skipped.
        case none
        /// Row i needs columns (of C, or depth of A) p ≤ i + offset only.
        case through(Int)
        /// Row i needs depth p ≥ i − offset only (A is the transpose of a causal P or dS).
        case from(Int)

        /// The same limit for a block of rows that starts `rows` rows further down.
        public func shifted(by rows: Int) -> Limit {
            switch self {
            case .none: return .none
            case .through(let offset): return .through(offset + rows)
            case .from(let offset): return .from(offset - rows)
            }
        }

        /// The end of the range rows below i1 need, of `count`.
        func upper(_ i1: Int, _ count: Int) -> Int {
            if case .through(let offset) = self { return max(0, min(count, i1 + offset)) }
            return count
        }

        /// The start of the range rows from i0 need.
        func lower(_ i0: Int) -> Int {
            if case .from(let offset) = self { return max(0, i0 - offset) }
            return 0
        }
    }

    /// C[i, j] = alpha · Σ_p A[i, p] · B[p, j] (+ C[i, j] when `accumulate`), for i < m, j < n, p < k. `depth` limits p
    /// per block of rows (the skipped A entries must be zero); `columns` limits j per block (the skipped C entries are
    /// left as they were, for the caller to mask).
    public static func multiply(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                                accumulate: Bool = false, depth: Limit = .none, columns: Limit = .none) {
        if vectorKernel {
            var i0 = 0
            while i0 < m {
                let rows = min(6, m - i0)
                let width = columns.upper(i0 + rows, n)
                let (p0, p1) = (depth.lower(i0), depth.upper(i0 + rows, k))
                kiln_small_gemm_rows_avx512(a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc, Int32(rows), Int32(width), Int32(p0),
                                            Int32(max(p0, p1)), alpha, accumulate ? 1 : 0)
                i0 += rows
            }
            return
        }
        reference(a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, k: k, alpha: alpha, accumulate: accumulate, depth: depth,
                  columns: columns)
    }

    /// Whether `multiply` takes the AVX-512 row blocks (`kiln_small_gemm_rows_avx512`) rather than `reference`.
    static let vectorKernel = KernelDispatch.current.avx512

    /// `multiply` in Swift SIMD, four rows of C at a time: the AVX-2 floor's path and the AVX-512 kernel's reference.
    static func reference(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                          _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                          accumulate: Bool = false, depth: Limit = .none, columns: Limit = .none) {
        var i0 = 0
        while i0 < m {
            let rows = min(4, m - i0)
            let depthRange = depth.lower(i0)..<depth.upper(i0 + rows, k)
            let width = columns.upper(i0 + rows, n)
            if rows == 4 {
                block4(a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc, width, depthRange, alpha, accumulate)
            } else {
                for r in 0..<rows { row(a + (i0 + r) * lda, b, ldb, c + (i0 + r) * ldc, width, depthRange, alpha, accumulate) }
            }
            i0 += rows
        }
    }

    /// Four rows of C.
    @inline(__always) static func block4(_ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ n: Int, _ depth: Range<Int>,
                                         _ alpha: Float, _ accumulate: Bool) {
        let (a0, a1, a2, a3) = (a, a + lda, a + 2 * lda, a + 3 * lda)
        var j = 0
        while j + Vector.width <= n {
            var s0 = Vector.Lanes(repeating: 0), s1 = s0, s2 = s0, s3 = s0
            for p in depth {
                let v = Vector.load(b + p * ldb, j)
                s0 = s0.addingProduct(Vector.Lanes(repeating: a0[p]), v)
                s1 = s1.addingProduct(Vector.Lanes(repeating: a1[p]), v)
                s2 = s2.addingProduct(Vector.Lanes(repeating: a2[p]), v)
                s3 = s3.addingProduct(Vector.Lanes(repeating: a3[p]), v)
            }
            store(s0, c, j, alpha, accumulate)
            store(s1, c + ldc, j, alpha, accumulate)
            store(s2, c + 2 * ldc, j, alpha, accumulate)
            store(s3, c + 3 * ldc, j, alpha, accumulate)
            j += Vector.width
        }
        if j < n {
            for r in 0..<4 { tail(a + r * lda, b, ldb, c + r * ldc, j..<n, depth, alpha, accumulate) }
        }
    }

    @inline(__always) static func store(_ sum: Vector.Lanes, _ out: UnsafeMutablePointer<Float>, _ j: Int, _ alpha: Float, _ accumulate: Bool) {
        Vector.store(accumulate ? Vector.load(out, j).addingProduct(sum, alpha) : sum * alpha, out, j)
    }

    /// One row of C.
    @inline(__always) static func row(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                                      _ c: UnsafeMutablePointer<Float>, _ n: Int, _ depth: Range<Int>, _ alpha: Float, _ accumulate: Bool) {
        var j = 0
        while j + Vector.width <= n {
            var sum = Vector.Lanes(repeating: 0)
            for p in depth { sum = sum.addingProduct(Vector.Lanes(repeating: a[p]), Vector.load(b + p * ldb, j)) }
            Vector.store(accumulate ? Vector.load(c, j).addingProduct(sum, alpha) : sum * alpha, c, j)
            j += Vector.width
        }
        if j < n { tail(a, b, ldb, c, j..<n, depth, alpha, accumulate) }
    }

    /// Columns past the last whole lane block, one at a time.
    static func tail(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>,
                     _ columns: Range<Int>, _ depth: Range<Int>, _ alpha: Float, _ accumulate: Bool) {
        for j in columns {
            var sum: Float = 0
            for p in depth { sum += a[p] * b[p * ldb + j] }
            c[j] = accumulate ? c[j] + alpha * sum : alpha * sum
        }
    }

    /// out (columns, rows) = the transpose of matrix (rows, columns, row stride `ld`).
    public static func transpose(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int, into out: UnsafeMutablePointer<Float>) {
        if vectorKernel {
            // Register 8 x 8 blocks: a head's keys (128 x 64) took as long element by element as its score product.
            kiln_transpose_avx512(matrix, Int32(rows), Int32(columns), ld, out, rows)
            return
        }
        // 8×8 tiles keep both sides' cache lines in use.
        var r0 = 0
        while r0 < rows {
            var c0 = 0
            while c0 < columns {
                for r in r0..<min(rows, r0 + 8) {
                    for c in c0..<min(columns, c0 + 8) { out[c * rows + r] = matrix[r * ld + c] }
                }
                c0 += 8
            }
            r0 += 8
        }
    }
}
