// Kernels against references: the BLAS path against the naive loop, forward passes against numpy,
// backward passes against central finite differences.
import Foundation
import KilnTensor
import Testing

@Suite("Tensor kernels")
struct KernelTests {
    /// A deterministic generator (SplitMix64) for reproducible random tensors.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SplitMix(state: seed)
        return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) })
    }

    // The last three take the decoding path (a few rows against at least 65,536 weights): dot products over the weight
    // rows, AVX-512's 4 x 4 tile kernel with the rows ahead prefetched, and a width that is not a multiple of 16.
    @Test("sgemm through OpenBLAS and the decoding dot products equal the naive loop",
          arguments: [(1, 1, 1), (3, 5, 7), (17, 64, 33), (128, 96, 257), (2, 1000, 64), (1, 300, 257), (4, 1030, 96),
                      (3, 77, 1024)])
    func matmulMatchesNaive(rows: Int, outer: Int, inner: Int) {
        let x = Self.random([rows, inner], seed: 1)
        let w = Self.random([outer, inner], seed: 2)
        let b = Self.random([outer], seed: 3)
        let fast = MatMul.forward(x, weight: w, bias: b)
        let slow = MatMul.naiveForward(x, weight: w, bias: b)
        let diff = fast.maxAbsDifference(slow)
        #expect(diff < 1e-4, "max abs diff \(diff)")
    }

    @Test("RMSNorm forward matches numpy (x / sqrt(mean(x²) + 1e-6) · w)")
    func rmsNormForward() {
        let x = Tensor(shape: [2, 4], storage: [0.5, -1.25, 2.0, 0.75, -0.3, 0.1, 0.0, 1.5])
        let w = Tensor(shape: [4], storage: [1.0, 0.5, -2.0, 1.5])
        let (y, _) = RMSNorm.forward(x, weight: w, eps: 1e-6)
        // numpy 2.4.6, float32: (x * (1/np.sqrt((x*x).mean(-1, keepdims=True) + 1e-6)) * w)
        let expected = Tensor(shape: [2, 4], storage: [0.3960588872432709, -0.4950736165046692, -3.168471097946167, 0.8911324739456177,
                                                       -0.39139655232429504, 0.06523275375366211, -0.0, 2.935473918914795])
        #expect(y.maxAbsDifference(expected) < 1e-6)
    }

    @Test("Softmax matches numpy and stays finite for large inputs")
    func softmaxForward() {
        let x = Tensor(shape: [2, 4], storage: [1, 2, 3, -1, 1000, 1000, -5, 0])
        // numpy (float64, then float32): e = exp(x - max); e / e.sum()
        let expected = Tensor(shape: [2, 4], storage: [0.08894681930541992, 0.2417825162410736, 0.6572329998016357, 0.012037642300128937,
                                                       0.5, 0.5, 0, 0])
        #expect(Softmax.forward(x).maxAbsDifference(expected) < 1e-6)
    }

    /// The gradient of Σ(y ⊙ g) with respect to each input element by central differences, in Double.
    static func numericalGradient(_ input: Tensor, _ g: Tensor, _ f: (Tensor) -> Tensor) -> Tensor {
        var gradient = Tensor(zeros: input.shape)
        let h: Float = 1e-2
        for index in input.storage.indices {
            var plus = input
            var minus = input
            plus.storage[index] += h
            minus.storage[index] -= h
            let up = zip(f(plus).storage, g.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let down = zip(f(minus).storage, g.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            gradient.storage[index] = Float((up - down) / (2 * Double(h)))
        }
        return gradient
    }

    @Test("MatMul backward equals finite differences for x, W and b")
    func matmulBackward() {
        let x = Self.random([3, 5], seed: 4), w = Self.random([4, 5], seed: 5), b = Self.random([4], seed: 6)
        let dy = Self.random([3, 4], seed: 7)
        var dw = Tensor(zeros: w.shape)
        var db: Tensor? = Tensor(zeros: b.shape)
        let dx = MatMul.backward(dy, x: x, weight: w, weightGradient: &dw, biasGradient: &db)
        #expect(dx.maxAbsDifference(Self.numericalGradient(x, dy) { MatMul.naiveForward($0, weight: w, bias: b) }) < 1e-3)
        #expect(dw.maxAbsDifference(Self.numericalGradient(w, dy) { MatMul.naiveForward(x, weight: $0, bias: b) }) < 1e-3)
        #expect(db!.maxAbsDifference(Self.numericalGradient(b, dy) { MatMul.naiveForward(x, weight: w, bias: $0) }) < 1e-3)
    }

    @Test("RMSNorm backward equals finite differences for x and the weight")
    func rmsNormBackward() {
        let x = Self.random([3, 8], seed: 8), w = Self.random([8], seed: 9), dy = Self.random([3, 8], seed: 10)
        let (_, cache) = RMSNorm.forward(x, weight: w, eps: 1e-5)
        var dw = Tensor(zeros: w.shape)
        let dx = RMSNorm.backward(dy, cache: cache, weight: w, weightGradient: &dw)
        #expect(dx.maxAbsDifference(Self.numericalGradient(x, dy) { RMSNorm.forward($0, weight: w, eps: 1e-5).0 }) < 2e-3)
        #expect(dw.maxAbsDifference(Self.numericalGradient(w, dy) { RMSNorm.forward(x, weight: $0, eps: 1e-5).0 }) < 2e-3)
    }

    @Test("Softmax backward equals finite differences")
    func softmaxBackward() {
        let x = Self.random([4, 6], seed: 11), dy = Self.random([4, 6], seed: 12)
        let dx = Softmax.backward(dy, output: Softmax.forward(x))
        #expect(dx.maxAbsDifference(Self.numericalGradient(x, dy) { Softmax.forward($0) }) < 1e-3)
    }
}
