// The low-rank kernels against their definitions summed in Double, on shapes with ragged lane tails, ranks that are
// not multiples of four, and row counts large enough to be split across the cores.
import Foundation
import KilnTensor
import Testing

@Suite("Low-rank products")
struct LowRankTests {
    static let shapes: [(rows: Int, width: Int, rank: Int)] = [(1, 1, 1), (3, 17, 3), (40, 33, 8), (1025, 100, 13), (2048, 576, 8)]

    static func worst(_ actual: [Float], _ expected: [Double]) -> Double {
        zip(actual, expected).map { abs(Double($0) - $1) }.max() ?? 0
    }

    @Test("project: x · basisᵀ, scaled", arguments: shapes)
    func project(_ shape: (rows: Int, width: Int, rank: Int)) {
        let (n, w, r) = shape
        let x = KernelTests.random([n, w], seed: 71).storage, basis = KernelTests.random([r, w], seed: 72).storage
        var out = [Float](repeating: .nan, count: n * r)
        LowRank.project(x, rows: n, width: w, basis: basis, rank: r, scale: 0.5, into: &out)
        var expected = [Double](repeating: 0, count: n * r)
        for i in 0..<n {
            for k in 0..<r { expected[i * r + k] = 0.5 * (0..<w).reduce(0.0) { $0 + Double(x[i * w + $1]) * Double(basis[k * w + $1]) } }
        }
        #expect(Self.worst(out, expected) < 1e-5)
    }

    @Test("combine: coefficients · basis, written or accumulated", arguments: shapes)
    func combine(_ shape: (rows: Int, width: Int, rank: Int)) {
        let (n, w, r) = shape
        let c = KernelTests.random([n, r], seed: 73).storage, basis = KernelTests.random([r, w], seed: 74).storage
        let start = KernelTests.random([n, w], seed: 75).storage
        var written = [Float](repeating: .nan, count: n * w), accumulated = start
        LowRank.combine(c, rows: n, rank: r, basis: basis, width: w, scale: 2, into: &written, accumulate: false)
        LowRank.combine(c, rows: n, rank: r, basis: basis, width: w, scale: 2, into: &accumulated, accumulate: true)
        var product = [Double](repeating: 0, count: n * w)
        for i in 0..<n {
            for j in 0..<w { product[i * w + j] = 2 * (0..<r).reduce(0.0) { $0 + Double(c[i * r + $1]) * Double(basis[$1 * w + j]) } }
        }
        #expect(Self.worst(written, product) < 1e-5)
        #expect(Self.worst(accumulated, zip(start, product).map { Double($0) + $1 }) < 1e-5)
    }

    @Test("accumulateOuter: gradient += scale · coefficientsᵀ · x", arguments: shapes)
    func accumulateOuter(_ shape: (rows: Int, width: Int, rank: Int)) {
        let (n, w, r) = shape
        let c = KernelTests.random([n, r], seed: 76).storage, x = KernelTests.random([n, w], seed: 77).storage
        let start = KernelTests.random([r, w], seed: 78).storage
        var gradient = start
        LowRank.accumulateOuter(c, rows: n, rank: r, x: x, width: w, scale: 0.25, into: &gradient)
        var expected = [Double](repeating: 0, count: r * w)
        for k in 0..<r {
            for j in 0..<w {
                expected[k * w + j] = Double(start[k * w + j]) + 0.25 * (0..<n).reduce(0.0) { $0 + Double(c[$1 * r + k]) * Double(x[$1 * w + j]) }
            }
        }
        #expect(Self.worst(gradient, expected) < 1e-4)
    }

    @Test("SmallGemm.transpose swaps rows and columns, reading a row stride wider than the matrix")
    func transposed() {
        var out = [Float](repeating: 0, count: 6)
        SmallGemm.transpose([1, 2, 3, 9, 4, 5, 6, 9], rows: 2, columns: 3, ld: 4, into: &out)
        #expect(out == [1, 4, 2, 5, 3, 6])
    }
}
