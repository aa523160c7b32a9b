// Prefill's AVX-512 float32 product against Double sums: token counts that are and are not multiples of the 16 lanes
// and the 64-token block, weight rows that are and are not multiples of the 6-row block and the 48-row stripe, and
// reductions shorter than, equal to and past the 128-step block. Where the CPU lacks AVX-512 (or KILN_CPU=avx2 holds
// the floor), MatMul.forward takes OpenBLAS and the same expectations check that path.
import Foundation
import KilnKernels
import Testing
@testable import KilnTensor

@Suite("WideGemm")
struct WideGemmTests {
    /// A deterministic value in [-1, 1] in steps of 1/1000.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
    }

    @Test("Every element equals the Double sum within 1e-5 per 64 products",
          arguments: [(8, 5, 1), (16, 128, 6), (13, 129, 7), (64, 64, 48), (77, 300, 97), (130, 576, 200), (200, 40, 193)])
    func matchesDoubleSums(_ shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        let x = Self.values(m * k, seed: 7), w = Self.values(n * k, seed: 11), b = Self.values(n, seed: 13)
        let y = MatMul.forward(Tensor(shape: [m, k], storage: x), weight: Tensor(shape: [n, k], storage: w),
                               bias: Tensor(shape: [n], storage: b))
        #expect(y.shape == [m, n])
        for t in 0..<m {
            for o in 0..<n {
                let expected = (0..<k).reduce(Double(b[o])) { $0 + Double(x[t * k + $1]) * Double(w[o * k + $1]) }
                #expect(abs(Double(y.storage[t * n + o]) - expected) <= 1e-5 * max(1, Double(k) / 64), "y[\(t), \(o)]")
            }
        }
    }

    @Test("Weights sharing one x (q, k, v) give each product's Double sums, bias or not, across stripe and chunk boundaries",
          arguments: [77, 1, 3])
    func sharedInput(m: Int) {
        // 77 rows take the prefill kernel; 1 and 3 the decode product, whose weights must be large enough to be read in
        // place (64K elements), and whose 16-row chunks then straddle the weights.
        let k = m <= 4 ? 1400 : 130
        let x = Self.values(m * k, seed: 31)
        let shapes = m <= 4 ? [(100, true), (70, false), (49, true)] : [(100, true), (20, false), (49, true)]
        let weights = shapes.enumerated().map { i, s in Tensor(shape: [s.0, k], storage: Self.values(s.0 * k, seed: 40 + UInt64(i))) }
        let biases = shapes.enumerated().map { i, s in s.1 ? Tensor(shape: [s.0], storage: Self.values(s.0, seed: 50 + UInt64(i))) : nil }
        let ys = MatMul.forward(Tensor(shape: [m, k], storage: x), sharing: weights, biases: biases)
        #expect(ys.map(\.shape) == shapes.map { [m, $0.0] })
        for (i, y) in ys.enumerated() {
            let n = shapes[i].0
            for t in 0..<m {
                for o in 0..<n {
                    let start = Double(biases[i]?.storage[o] ?? 0)
                    let expected = (0..<k).reduce(start) { $0 + Double(x[t * k + $1]) * Double(weights[i].storage[o * k + $1]) }
                    #expect(abs(Double(y.storage[t * n + o]) - expected) <= 1e-5 * max(3, Double(k) / 64), "product \(i) y[\(t), \(o)]")
                }
            }
        }
    }

    @Test("The kernel writes exactly the rows and tokens it is given, bias added (AVX-512 only)",
          arguments: [(20, false), (300, true), (128, true)])
    func stripeBounds(_ shape: (k: Int, biased: Bool)) {
        let k = shape.k
        guard KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).avx512 else { return }
        // Two panels: tokens 0-63 (64 wide) and 64-79 (16 wide, starting at 64 · k), of which 77 tokens are real.
        let (m, mp, rows, ldy) = (77, 80, 7, 10)
        let xt = Self.values(k * mp, seed: 3), w = Self.values(rows * k, seed: 5)
        let bias = shape.biased ? Self.values(rows, seed: 9) : nil
        func x(_ t: Int, _ p: Int) -> Float { t < 64 ? xt[p * 64 + t] : xt[64 * k + p * 16 + t - 64] }
        var partial = [Float](repeating: 0, count: rows * mp)
        var y = [Float](repeating: .nan, count: (m + 1) * ldy)
        if let bias {
            kiln_sgemm_stripe_avx512(xt, Int32(mp), Int32(k), w, bias, Int32(rows), &partial, &y, ldy, Int32(m))
        } else {
            kiln_sgemm_stripe_avx512(xt, Int32(mp), Int32(k), w, nil, Int32(rows), &partial, &y, ldy, Int32(m))
        }
        for t in 0...m {
            for r in 0..<ldy {
                guard t < m && r < rows else {
                    #expect(y[t * ldy + r].isNaN, "y[\(t), \(r)] outside the product was written")
                    continue
                }
                let expected = (0..<k).reduce(Double(bias?[r] ?? 0)) { $0 + Double(w[r * k + $1]) * Double(x(t, $1)) }
                #expect(abs(Double(y[t * ldy + r]) - expected) <= 1e-5 * Double(max(1, k / 64)), "y[\(t), \(r)]")
            }
        }
    }

    @Test("The transpose moves every element of ragged shapes")
    func transpose() {
        guard KernelDispatch(cpu: kiln_cpu_features(), environment: [:]).avx512 else { return }
        for (rows, columns) in [(1, 1), (8, 8), (9, 17), (16, 3), (23, 40)] {
            let ldi = columns + 2, ldo = rows + 5
            let input = Self.values(rows * ldi, seed: UInt64(rows * 100 + columns))
            var out = [Float](repeating: .nan, count: columns * ldo)
            kiln_transpose_avx512(input, Int32(rows), Int32(columns), ldi, &out, ldo)
            for i in 0..<rows {
                for j in 0..<columns { #expect(out[j * ldo + i] == input[i * ldi + j], "(\(rows)x\(columns)) [\(i), \(j)]") }
            }
        }
    }
}
