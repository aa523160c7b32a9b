// Scalar Swift statements of llama.cpp's float arithmetic that KilnKernels/ggml_numerics.c performs with vectors: the
// kernels' tests compare the two bit for bit on random inputs, in both the 16-lane (AVX-512 build) and 8-lane (AVX2
// build) forms. Each is written per element and per lane, in the order ggml's intrinsics impose.
import Foundation

/// One-value-at-a-time references of the `kiln_ggml_*` kernels.
public enum GGMLReference {
    /// ggml_v_expf of one lane: the AVX-512 form (`wide`, scalef) or the AVX2 form (exponent bits, two-factor scale).
    public static func exp(_ x: Float, wide: Bool) -> Float {
        let shifter: Float = 0x1.8p23
        let z = fma(x, 0x1.715476p+0, shifter)
        let n = z - shifter
        let b = fnmadd(n, 0x1.7f7d1cp-20, fnmadd(n, 0x1.62e4p-1, x))
        let u = b * b
        let high = fma(fma(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma(0x1.555e66p-3, b, 0x1.fffdb6p-2))
        if n.isNaN { return .nan }
        if wide {
            if abs(n) > 192 { return n <= 0 ? 0 : .infinity }
            // scalef: j · 2ⁿ rounded once.
            return Float(sign: .plus, exponent: Int(n), significand: fma(high, u, fma(0x1.ffffecp-1, b, 1)))
        }
        let j = fma(high, u, 0x1.ffffecp-1 * b)
        let e = z.bitPattern << 23
        let k = Float(bitPattern: e &+ Float(1).bitPattern)
        guard abs(n) > 126 else { return fma(j, k, k) }
        let g: UInt32 = n <= 0 ? 0x8200_0000 : 0
        let s1 = Float(bitPattern: g &+ 0x7f00_0000)
        if abs(n) > 192 { return s1 * s1 }
        let s2 = Float(bitPattern: e &- g)
        return fma(s2, j, s2) * s1
    }

    /// y[i] = silu(x[i]) · g[i]: whole vectors of lanes through `exp`, the rest through libm's expf.
    public static func swiGLU(_ x: [Float], _ g: [Float], wide: Bool) -> [Float] {
        let lanes = wide ? 16 : 8, whole = x.count / lanes * lanes
        return x.indices.map { i in
            let e = i < whole ? exp(-x[i], wide: wide) : Foundation.exp(-x[i])
            return x[i] / (1 + e) * g[i]
        }
    }

    /// exp(x[i] − max) and their sum: each whole vector summed by its tree in float, the vectors' sums and the
    /// remaining values added in double.
    public static func softmax(_ x: [Float], max: Float, wide: Bool) -> (values: [Float], sum: Double) {
        let lanes = wide ? 16 : 8, whole = x.count / lanes * lanes
        var values = [Float](repeating: 0, count: x.count), sum = 0.0
        for start in stride(from: 0, to: whole, by: lanes) {
            for i in start..<(start + lanes) { values[i] = exp(x[i] - max, wide: wide) }
            sum += Double(wide ? tree16(Array(values[start..<(start + 16)])) : tree8(Array(values[start..<(start + 8)])))
        }
        for i in whole..<x.count {
            values[i] = Foundation.exp(x[i] - max)
            sum += Double(values[i])
        }
        return (values, sum)
    }

    /// q · k over float16 values (given widened): `chain` tinyBLAS's lane accumulators taking the row in order then
    /// the tree, else ggml_vec_dot_f16's four accumulators per 4·lanes values, paired, the tree, the rest in double.
    public static func dot(_ q: [Float], _ k: [Float], chain: Bool, wide: Bool) -> Float {
        let lanes = wide ? 16 : 8
        if chain {
            var acc = [Float](repeating: 0, count: lanes)
            for l in stride(from: 0, to: q.count, by: lanes) {
                for i in 0..<lanes { acc[i] = fma(k[l + i], q[l + i], acc[i]) }
            }
            return wide ? tree16(acc) : tree8(acc)
        }
        var s = [[Float]](repeating: [Float](repeating: 0, count: lanes), count: 4)
        let whole = q.count / (4 * lanes) * (4 * lanes)
        for l in stride(from: 0, to: whole, by: 4 * lanes) {
            for j in 0..<4 { for i in 0..<lanes { s[j][i] = fma(k[l + j * lanes + i], q[l + j * lanes + i], s[j][i]) } }
        }
        let paired = (0..<lanes).map { i in (s[0][i] + s[2][i]) + (s[1][i] + s[3][i]) }
        var total = Double(wide ? tree16(paired) : hadd8(paired))
        for l in whole..<q.count { total += Double(k[l] * q[l]) }
        return Float(total)
    }

    /// Σ_pos p[pos] · v[pos][d] per channel d (v rows of `dim`): position pos feeds lane pos mod lanes (tinyBLAS) or
    /// accumulator (pos mod 4·lanes) / lanes of vec_dot_f16, then the same trees as `dot`.
    public static func weigh(_ p: [Float], _ v: [Float], dim: Int, chain: Bool, wide: Bool) -> [Float] {
        let lanes = wide ? 16 : 8, rows = chain ? lanes : 4 * lanes
        var partial = [Float](repeating: 0, count: rows * dim)
        for pos in p.indices {
            for d in 0..<dim { partial[(pos % rows) * dim + d] = fma(v[pos * dim + d], p[pos], partial[(pos % rows) * dim + d]) }
        }
        return (0..<dim).map { d in
            let lane = (0..<lanes).map { r in
                chain ? partial[r * dim + d]
                    : (partial[r * dim + d] + partial[(r + 2 * lanes) * dim + d]) + (partial[(r + lanes) * dim + d] + partial[(r + 3 * lanes) * dim + d])
            }
            if wide { return tree16(lane) }
            return chain ? tree8(lane) : hadd8(lane)
        }
    }

    /// GCC's _mm512_reduce_add_ps: halves 8, 4, 2 and 1 lanes apart.
    static func tree16(_ v: [Float]) -> Float {
        let a = (0..<8).map { v[$0] + v[$0 + 8] }
        return tree8(a)
    }

    /// hsum of 8 lanes (sgemm.cpp, ggml's AVX2 softmax): halves 4 apart, then (0 + 2) + (1 + 3).
    static func tree8(_ v: [Float]) -> Float {
        let b = (0..<4).map { v[$0] + v[$0 + 4] }
        return (b[0] + b[2]) + (b[1] + b[3])
    }

    /// GGML_F32x8_REDUCE's last step: halves 4 apart, then (0 + 1) + (2 + 3).
    static func hadd8(_ v: [Float]) -> Float {
        let b = (0..<4).map { v[$0] + v[$0 + 4] }
        return (b[0] + b[1]) + (b[2] + b[3])
    }

    static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

    /// c − a·b rounded once (fnmadd).
    static func fnmadd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(-a, b) }
}
