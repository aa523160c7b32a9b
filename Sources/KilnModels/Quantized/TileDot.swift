// y = x · Wᵀ for a small x (a decode batch) and a tile of widened weight rows, both row-major with the reduction along
// their rows: four x rows against two weight rows at a time, eight lanes wide (eight accumulators stay in AVX2 registers;
// sixteen-lane vectors or a third weight row spill and ran slower), so no operand is transposed. Where the CPU has
// AVX-512, KilnKernels' form runs instead: 4 x 4 blocks, sixteen lanes, in its 32 registers.
import Foundation
import KilnKernels
import KilnTensor

/// The dot-product form of a small matrix product.
enum TileDot {
    /// y[n · ldc + o] = Σ_k x[n, k] · w[o, k] for n < rows, o < count; x and w have `columns` floats per row.
    static func multiply(_ x: UnsafePointer<Float>, rows: Int, _ w: UnsafePointer<Float>, count: Int, columns: Int,
                         into y: UnsafeMutablePointer<Float>, ldc: Int) {
        if wide {
            kiln_tile_dot_avx512(x, Int32(rows), w, Int32(count), Int32(columns), y, Int32(ldc))
            return
        }
        multiplyAVX2(x, rows: rows, w, count: count, columns: columns, into: y, ldc: ldc)
    }

    /// Whether the AVX-512 kernel runs (`KernelDispatch`: the CPU has it and the environment allows it).
    static let wide = KernelDispatch.current.avx512

    /// The AVX2 form, on every machine.
    static func multiplyAVX2(_ x: UnsafePointer<Float>, rows: Int, _ w: UnsafePointer<Float>, count: Int, columns: Int,
                             into y: UnsafeMutablePointer<Float>, ldc: Int) {
        let vectorEnd = columns & ~7
        var o = 0
        while o < count {
            let pair = o + 1 < count
            var n = 0
            while n + 4 <= rows && pair {
                block4x2(x + n * columns, w + o * columns, columns, vectorEnd, y + n * ldc + o, ldc)
                n += 4
            }
            while n < rows {
                for p in o..<min(o + 2, count) { y[n * ldc + p] = dot(x + n * columns, w + p * columns, columns, vectorEnd) }
                n += 1
            }
            o += 2
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Four x rows against two weight rows.
    @inline(__always) static func block4x2(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ k: Int, _ vectorEnd: Int,
                                           _ y: UnsafeMutablePointer<Float>, _ ldc: Int) {
        var (a0, a1, a2, a3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var (b0, b1, b2, b3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var p = 0
        while p < vectorEnd {
            let (w0, w1) = (load(w + p), load(w + k + p))
            let (x0, x1, x2, x3) = (load(x + p), load(x + k + p), load(x + 2 * k + p), load(x + 3 * k + p))
            a0.addProduct(x0, w0); b0.addProduct(x0, w1)
            a1.addProduct(x1, w0); b1.addProduct(x1, w1)
            a2.addProduct(x2, w0); b2.addProduct(x2, w1)
            a3.addProduct(x3, w0); b3.addProduct(x3, w1)
            p += 8
        }
        var (s0, s1, s2, s3) = (a0.sum(), a1.sum(), a2.sum(), a3.sum())
        var (t0, t1, t2, t3) = (b0.sum(), b1.sum(), b2.sum(), b3.sum())
        while p < k {
            let (w0, w1) = (w[p], w[k + p])
            s0 += x[p] * w0; t0 += x[p] * w1
            s1 += x[k + p] * w0; t1 += x[k + p] * w1
            s2 += x[2 * k + p] * w0; t2 += x[2 * k + p] * w1
            s3 += x[3 * k + p] * w0; t3 += x[3 * k + p] * w1
            p += 1
        }
        (y[0], y[1], y[ldc], y[ldc + 1]) = (s0, t0, s1, t1)
        (y[2 * ldc], y[2 * ldc + 1], y[3 * ldc], y[3 * ldc + 1]) = (s2, t2, s3, t3)
    }

    /// One x row against one weight row.
    @inline(__always) static func dot(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ k: Int, _ vectorEnd: Int) -> Float {
        var acc = SIMD8<Float>()
        var p = 0
        while p < vectorEnd {
            acc.addProduct(load(x + p), load(w + p))
            p += 8
        }
        var total = acc.sum()
        while p < k {
            total += x[p] * w[p]
            p += 1
        }
        return total
    }
}
