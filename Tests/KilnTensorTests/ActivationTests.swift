// GELU (erf and tanh), SiLU, SwiGLU (split and fused) and ReLU against numpy/scipy, fast paths against
// their naive loops (the vectorised tanh forms within a few ulps), backward passes against finite differences.
import Foundation
import KilnTensor
import Testing

@Suite("Activations")
struct ActivationTests {
    static let x = Tensor(shape: [2, 4], storage: [-3.0, -1.5, -0.5, -0.1, 0.0, 0.2, 1.0, 2.5])
    static let up = Tensor(shape: [2, 4], storage: [1.0, -2.0, 0.5, 3.0, -1.0, 0.25, 2.0, -0.5])

    static func check(_ actual: Tensor, _ expected: [Float], tolerance: Float = 1e-6) {
        let diff = actual.maxAbsDifference(Tensor(shape: actual.shape, storage: expected))
        #expect(diff < tolerance, "max abs diff \(diff)")
    }

    // numpy 2.4.6 / scipy 1.17.1 in float64, printed as float32, with g = x above:
    //   exact: 0.5*g*(1 + scipy.special.erf(g/sqrt(2)))
    //   tanh:  0.5*g*(1 + np.tanh(sqrt(2/pi)*(g + 0.044715*g**3)))
    //   silu:  g/(1 + np.exp(-g));  swiglu: silu(g)*up;  relu: np.maximum(g, 0)
    @Test("GELU exact (erf) matches scipy")
    func geluExact() {
        Self.check(GELU.forward(Self.x, approximation: .exact),
                   [-0.004049694165587425, -0.10021080076694489, -0.1542687714099884, -0.04601721465587616,
                    0.0, 0.11585193872451782, 0.8413447737693787, 2.48447585105896])
    }

    @Test("GELU tanh approximation matches numpy")
    func geluTanh() {
        Self.check(GELU.forward(Self.x, approximation: .tanh),
                   [-0.003637392073869705, -0.10042842477560043, -0.1542859971523285, -0.046017248183488846,
                    0.0, 0.11585143208503723, 0.8411920070648193, 2.4849157333374023])
    }

    // numpy 2.4.6 in float32 of transformers' `bloom_gelu_forward`: x*0.5*(1 + np.tanh(0.79788456*x*(1 + 0.044715*x*x)))
    @Test("GELU in BLOOM's spelling matches numpy")
    func geluBloom() {
        Self.check(GELU.forward(Self.x, approximation: .bloom),
                   [-0.003637343645095825, -0.10042838752269745, -0.1542859822511673, -0.046017248183488846,
                    0.0, 0.11585142463445663, 0.8411920070648193, 2.4849157333374023])
    }

    @Test("SiLU, SwiGLU and ReLU match numpy")
    func siluSwiGLUReLU() {
        Self.check(SiLU.forward(Self.x), [-0.14227761328220367, -0.2736382782459259, -0.1887703388929367, -0.04750208184123039,
                                          0.0, 0.10996679961681366, 0.7310585975646973, 2.310354471206665])
        let swiglu: [Float] = [-0.14227761328220367, 0.5472765564918518, -0.09438516944646835, -0.14250624179840088,
                               -0.0, 0.027491699904203415, 1.4621171951293945, -1.1551772356033325]
        Self.check(SwiGLU.forward(gate: Self.x, up: Self.up), swiglu)
        // Fused (GLM-4 `gate_up_proj`): each row is [gate | up].
        var fused = [Float]()
        for row in 0..<2 {
            let range = row * 4..<row * 4 + 4
            fused.append(contentsOf: Self.x.storage[range])
            fused.append(contentsOf: Self.up.storage[range])
        }
        Self.check(SwiGLU.forward(fused: Tensor(shape: [2, 8], storage: fused)), swiglu)
        Self.check(ReLU.forward(Self.x), [0, 0, 0, 0, 0, 0.2, 1.0, 2.5])
    }

    @Test("Parallel and SIMD activation paths equal their naive loops", arguments: [1, 17, 40_000, 100_003])
    func fastMatchesNaive(count: Int) {
        let x = Tensor(shape: [count], storage: KernelTests.random([count], seed: 51).storage.map { $0 * 6 })
        #expect(GELU.forward(x, approximation: .exact) == GELU.naiveForward(x, approximation: .exact))
        // The tanh forms' lanes use e^{2u} instead of libm's tanhf: a few ulps of values up to 18.
        #expect(GELU.forward(x, approximation: .tanh).maxAbsDifference(GELU.naiveForward(x, approximation: .tanh)) < 8e-6)
        #expect(GELU.forward(x, approximation: .bloom).maxAbsDifference(GELU.naiveForward(x, approximation: .bloom)) < 8e-6)
        #expect(SiLU.forward(x).maxAbsDifference(SiLU.naiveForward(x)) < 1e-6)
        #expect(ReLU.forward(x) == ReLU.naiveForward(x))
    }

    @Test("Activation backward passes equal finite differences")
    func backward() {
        let x = Tensor(shape: [3, 7], storage: KernelTests.random([3, 7], seed: 52).storage.map { $0 * 3 })
        let up = KernelTests.random([3, 7], seed: 53), dy = KernelTests.random([3, 7], seed: 54)
        for approximation in [GELUApproximation.exact, .tanh, .bloom] {
            let analytic = GELU.backward(dy, input: x, approximation: approximation)
            let numeric = KernelTests.numericalGradient(x, dy) { GELU.forward($0, approximation: approximation) }
            #expect(analytic.maxAbsDifference(numeric) < 1e-3, "GELU \(approximation) diff \(analytic.maxAbsDifference(numeric))")
        }
        let silu = SiLU.backward(dy, input: x)
        #expect(silu.maxAbsDifference(KernelTests.numericalGradient(x, dy) { SiLU.forward($0) }) < 1e-3)
        let (dgate, dup) = SwiGLU.backward(dy, gate: x, up: up)
        #expect(dgate.maxAbsDifference(KernelTests.numericalGradient(x, dy) { SwiGLU.forward(gate: $0, up: up) }) < 1e-3)
        #expect(dup.maxAbsDifference(KernelTests.numericalGradient(up, dy) { SwiGLU.forward(gate: x, up: $0) }) < 1e-3)
        let fused = KernelTests.random([3, 14], seed: 55)
        let dfused = SwiGLU.backward(dy, fused: fused)
        #expect(dfused.maxAbsDifference(KernelTests.numericalGradient(fused, dy) { SwiGLU.forward(fused: $0) }) < 1e-3)
        // ReLU away from the kink (finite differences straddle 0 otherwise).
        let away = Tensor(shape: x.shape, storage: x.storage.map { abs($0) < 0.05 ? 0.5 : $0 })
        #expect(ReLU.backward(dy, input: away).maxAbsDifference(KernelTests.numericalGradient(away, dy) { ReLU.forward($0) }) < 1e-3)
    }
}
