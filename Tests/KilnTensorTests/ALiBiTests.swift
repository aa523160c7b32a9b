// ALiBi slopes against numpy of BLOOM's formula, and the per-key bias with padding.
import Foundation
import KilnTensor
import Testing

@Suite("ALiBi")
struct ALiBiTests {
    // numpy 2.4.6 of transformers `modeling_bloom.build_alibi_tensor`:
    //   cp = 2**floor(log2(n)); base = float32(2**(-(2**-(log2(cp)-3)))); s = base**arange(1, 1+cp) (float32)
    //   if cp != n: eb = float32(2**(-(2**-(log2(2*cp)-3)))); r = min(cp, n-cp); s += eb**arange(1, 1+2r, 2)
    @Test("Slopes for 8 heads match BLOOM's formula")
    func slopes8() {
        #expect(ALiBi.slopes(heads: 8) == [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625])
    }

    @Test("Slopes for 12 heads (not a power of two) match BLOOM's formula")
    func slopes12() {
        let expected: [Float] = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
                                 0.7071067690849304, 0.3535533547401428, 0.1767766773700714, 0.0883883386850357]
        let actual = ALiBi.slopes(heads: 12)
        #expect(actual.count == 12)
        let diff = zip(actual, expected).map { abs($0 - $1) }.max()!
        #expect(diff < 1e-7, "max abs diff \(diff)")
    }

    @Test("Bias is slope × BLOOM key position, zero on left padding")
    func bias() {
        // Row 0 left-padded by 2, row 1 unpadded: (cumsum(mask) − 1) · mask.
        let mask = [false, false, true, true, true, true, true, true]
        let positions = ALiBi.keyPositions(mask: mask, batch: 2, steps: 4)
        #expect(positions == [0, 0, 0, 1, 0, 1, 2, 3])
        let bias = ALiBi.bias(slopes: [0.5, 0.25], keyPositions: positions, batch: 2)
        #expect(bias.shape == [2, 2, 4])
        #expect(bias.storage == [0, 0, 0, 0.5, 0, 0, 0, 0.25, 0, 0.5, 1, 1.5, 0, 0.25, 0.5, 0.75])
    }
}
