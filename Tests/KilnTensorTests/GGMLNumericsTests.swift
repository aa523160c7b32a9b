// The llama.cpp-arithmetic kernels (KilnKernels/ggml_numerics.c) against their scalar statements (GGMLReference),
// bit for bit on random inputs: the 8-lane (AVX2 build) form on every machine, the 16-lane form where the CPU has
// AVX-512 (and KILN_CPU does not hold the floor). Shapes include lengths that are not whole vectors, so the scalar
// tails (libm's expf, vec_dot's double leftovers) are taken too.
import Foundation
import KilnKernels
import Testing
@testable import KilnTensor

@Suite("llama.cpp arithmetic kernels")
struct GGMLNumericsTests {
    /// The forms this machine can run: 8 lanes always, 16 with AVX-512.
    static var forms: [Bool] { KernelDispatch.current.avx512 ? [false, true] : [false] }

    /// Deterministic values in [lo, hi].
    static func values(_ count: Int, seed: UInt64, _ lo: Float, _ hi: Float) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return lo + (hi - lo) * Float(state >> 40) / Float(1 << 24)
        }
    }

    /// Values rounded to float16 (what the attention kernels read), as bits and widened.
    static func halves(_ count: Int, seed: UInt64) -> ([UInt16], [Float]) {
        let bits = values(count, seed: seed, -3, 3).map { Float16($0).bitPattern }
        return (bits, bits.map { Float(Float16(bitPattern: $0)) })
    }

    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    @Test("exp: the reference is within 3 ulp of the exact exp (ggml states 1.45 + 0.5), and 0 past the range", arguments: [false, true])
    func expReference(wide: Bool) {
        for x in Self.values(2000, seed: 1, -87, 88) {
            let want = Foundation.exp(Double(x)), got = Double(GGMLReference.exp(x, wide: wide))
            #expect(abs(got - want) <= 3 * Double(Float(want).ulp), "exp(\(x)): \(got) vs \(want)")
        }
        #expect(GGMLReference.exp(-.infinity, wide: wide) == 0)
        #expect(GGMLReference.exp(-200, wide: wide) == 0)
    }

    @Test("SwiGLU kernel equals the reference", arguments: [1, 15, 16, 37, 1536])
    func swiGLU(count: Int) {
        let x = Self.values(count, seed: 2, -12, 12), g = Self.values(count, seed: 3, -2, 2)
        for wide in Self.forms {
            var y = [Float](repeating: 0, count: count)
            kiln_ggml_swiglu(count, &y, x, g, wide ? 1 : 0)
            #expect(Self.same(y, GGMLReference.swiGLU(x, g, wide: wide)), "wide \(wide)")
        }
    }

    @Test("Softmax kernel's values and double sum equal the reference, masked (−∞) entries giving 0", arguments: [5, 16, 48, 257])
    func softmax(count: Int) {
        var x = Self.values(count, seed: 4, -30, 4)
        for i in stride(from: 3, to: count, by: 7) { x[i] = -.infinity }
        let maximum = x.max()!
        for wide in Self.forms {
            var y = [Float](repeating: 0, count: count)
            let sum = kiln_ggml_softmax(count, &y, x, maximum, wide ? 1 : 0)
            let (values, want) = GGMLReference.softmax(x, max: maximum, wide: wide)
            #expect(Self.same(y, values) && sum == want, "wide \(wide)")
            #expect(stride(from: 3, to: count, by: 7).allSatisfy { y[$0] == 0 })
        }
    }

    @Test("Score kernels (tinyBLAS chain, vec_dot pairs) equal the reference", arguments: [64, 128, 80, 72])
    func scores(dim: Int) {
        let keys = 21
        let (q, qf) = Self.halves(dim, seed: 5)
        let (k, kf) = Self.halves(keys * dim, seed: 6)
        for wide in Self.forms {
            for chain in [false, true] where !chain || dim % (wide ? 16 : 8) == 0 {
                var out = [Float](repeating: 0, count: keys)
                kiln_ggml_scores(q, k, dim, keys, dim, &out, chain ? 1 : 0, wide ? 1 : 0)
                let want = (0..<keys).map { GGMLReference.dot(qf, Array(kf[($0 * dim)..<(($0 + 1) * dim)]), chain: chain, wide: wide) }
                #expect(Self.same(out, want), "dim \(dim), chain \(chain), wide \(wide)")
            }
        }
    }

    @Test("Transposed 16-key tinyBLAS scores of a block of queries equal the row kernel's, query by query",
          arguments: [(64, 1), (128, 5), (64, 8)])
    func transposedScores(dim: Int, queries: Int) {
        guard KernelDispatch.current.avx512 else { return }
        let keys = 37, padded = 48
        let halves = (0..<queries).map { Self.halves(dim, seed: 7 + UInt64($0) * 11) }
        let (k, kf) = Self.halves(keys * dim, seed: 8)
        var kt = [Float](repeating: 0, count: dim * padded)
        for j in 0..<keys { for l in 0..<dim { kt[l * padded + j] = kf[j * dim + l] } }
        let qf = halves.flatMap(\.1)
        var out = [Float](repeating: .nan, count: queries * padded)
        kiln_ggml_scores_chain16_rows(qf, dim, Int32(queries), kt, padded, keys, dim, &out, padded)
        for r in 0..<queries {
            var row = [Float](repeating: 0, count: keys)
            kiln_ggml_scores(halves[r].0, k, dim, keys, dim, &row, 1, 1)
            #expect(Self.same(Array(out[(r * padded)..<(r * padded + keys)]), row), "query \(r)")
        }
    }

    @Test("Weighted-value kernels equal the reference, zero weights skipped", arguments: [(37, 64), (130, 64), (64, 20)])
    func weigh(keys: Int, dim: Int) {
        var (p, pf) = Self.halves(keys, seed: 9)
        for i in stride(from: 0, to: keys, by: 5) { (p[i], pf[i]) = (0, 0) }
        let (v, vf) = Self.halves(keys * dim, seed: 10)
        for wide in Self.forms {
            for chain in [false, true] {
                var out = [Float](repeating: 0, count: dim), partial = [Float](repeating: 0, count: 64 * dim)
                kiln_ggml_weigh(p, v, dim, keys, dim, &out, &partial, chain ? 1 : 0, wide ? 1 : 0)
                #expect(Self.same(out, GGMLReference.weigh(pf, vf, dim: dim, chain: chain, wide: wide)), "chain \(chain), wide \(wide)")
            }
        }
    }
}
