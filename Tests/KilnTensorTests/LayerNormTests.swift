// LayerNorm against numpy, the SIMD kernel against its naive loop, backward against finite differences.
import Foundation
import KilnTensor
import Testing

@Suite("LayerNorm")
struct LayerNormTests {
    @Test("LayerNorm forward matches numpy ((x − mean)/sqrt(var + 1e-5) · w + b)")
    func forwardMatchesNumpy() {
        let x = Tensor(shape: [2, 4], storage: [0.5, -1.25, 2.0, 0.75, -0.3, 0.1, 0.0, 1.5])
        let w = Tensor(shape: [4], storage: [1.0, 0.5, -2.0, 1.5]), b = Tensor(shape: [4], storage: [0.1, -0.2, 0.0, 0.3])
        let (y, cache) = LayerNorm.forward(x, weight: w, bias: b, eps: 1e-5)
        // numpy 2.4.6, float32: m = x.mean(-1, keepdims=True); v = ((x - m)**2).mean(-1, keepdims=True)
        //                       (x - m) / np.sqrt(v + np.float32(1e-5)) * w + b
        let expected = Tensor(shape: [2, 4], storage: [0.10000000149011612, -0.9548265933990479, -2.5879769325256348, 0.6234971284866333,
                                                       -0.8003436326980591, -0.36206185817718506, 0.9363573789596558, 2.8389689922332764])
        let diff = y.maxAbsDifference(expected)
        #expect(diff < 2e-6, "max abs diff \(diff)")
        #expect(abs(cache.mean[0] - 0.5) < 1e-7 && abs(cache.mean[1] - 0.325) < 1e-7)
    }

    @Test("LayerNorm SIMD kernel equals the naive loop", arguments: [(1, 1), (3, 15), (5, 16), (7, 37), (300, 96), (64, 768)])
    func fastMatchesNaive(rows: Int, width: Int) {
        let x = KernelTests.random([rows, width], seed: 21), w = KernelTests.random([width], seed: 22), b = KernelTests.random([width], seed: 23)
        let fast = LayerNorm.forward(x, weight: w, bias: b, eps: 1e-5).0
        let diff = fast.maxAbsDifference(LayerNorm.naiveForward(x, weight: w, bias: b, eps: 1e-5))
        #expect(diff < 1e-5, "max abs diff \(diff)")
    }

    @Test("LayerNorm backward equals finite differences for x, weight and bias")
    func backward() {
        let x = KernelTests.random([3, 8], seed: 24), w = KernelTests.random([8], seed: 25), b = KernelTests.random([8], seed: 26)
        let dy = KernelTests.random([3, 8], seed: 27)
        let (_, cache) = LayerNorm.forward(x, weight: w, bias: b, eps: 1e-5)
        var dw = Tensor(zeros: [8]), db = Tensor(zeros: [8])
        let dx = LayerNorm.backward(dy, cache: cache, weight: w, weightGradient: &dw, biasGradient: &db)
        let nx = KernelTests.numericalGradient(x, dy) { LayerNorm.naiveForward($0, weight: w, bias: b, eps: 1e-5) }
        let nw = KernelTests.numericalGradient(w, dy) { LayerNorm.naiveForward(x, weight: $0, bias: b, eps: 1e-5) }
        let nb = KernelTests.numericalGradient(b, dy) { LayerNorm.naiveForward(x, weight: w, bias: $0, eps: 1e-5) }
        #expect(dx.maxAbsDifference(nx) < 3e-3, "dx max abs diff \(dx.maxAbsDifference(nx))")
        #expect(dw.maxAbsDifference(nw) < 1e-3, "dw max abs diff \(dw.maxAbsDifference(nw))")
        #expect(db.maxAbsDifference(nb) < 1e-3, "db max abs diff \(db.maxAbsDifference(nb))")
    }

    @Test("LayerNorm backward accumulates into the parameter gradients")
    func backwardAccumulates() {
        let x = KernelTests.random([2, 5], seed: 28), w = KernelTests.random([5], seed: 29), b = KernelTests.random([5], seed: 30)
        let dy = KernelTests.random([2, 5], seed: 31)
        let (_, cache) = LayerNorm.forward(x, weight: w, bias: b, eps: 1e-5)
        var dw1 = Tensor(zeros: [5]), db1 = Tensor(zeros: [5])
        _ = LayerNorm.backward(dy, cache: cache, weight: w, weightGradient: &dw1, biasGradient: &db1)
        var dw2 = dw1, db2 = db1
        _ = LayerNorm.backward(dy, cache: cache, weight: w, weightGradient: &dw2, biasGradient: &db2)
        #expect(dw2.maxAbsDifference(Tensor(shape: [5], storage: dw1.storage.map { 2 * $0 })) < 1e-6)
        #expect(db2.maxAbsDifference(Tensor(shape: [5], storage: db1.storage.map { 2 * $0 })) < 1e-6)
    }
}
