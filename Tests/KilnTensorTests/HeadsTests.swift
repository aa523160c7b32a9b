// Head split/merge against the index formula of `view(B, T, H, D).transpose(1, 2)`.
import Foundation
import KilnTensor
import Testing

@Suite("Heads")
struct HeadsTests {
    @Test("split places x[b, t, h·D + e] at y[b, h, t, e], and merge undoes it")
    func splitAndMerge() {
        let x = KernelTests.random([2, 3, 8], seed: 91)
        let y = Heads.split(x, heads: 4)
        #expect(y.shape == [2, 4, 3, 2])
        for b in 0..<2 {
            for t in 0..<3 {
                for h in 0..<4 {
                    for e in 0..<2 { #expect(y[b, h, t, e] == x[b, t, h * 2 + e]) }
                }
            }
        }
        #expect(Heads.merge(y) == x)
        #expect(Heads.splitBackward(y) == x && Heads.mergeBackward(x, heads: 4) == y)
    }

    @Test("A fused projection splits into parts: x[b, t, (part·H + h)·D + e] lands at part's y[b, h, t, e]")
    func fusedSplit() {
        let x = KernelTests.random([2, 3, 3 * 4 * 2], seed: 93)
        let parts = Heads.split(x, parts: 3, heads: 4)
        #expect(parts.count == 3 && parts.allSatisfy { $0.shape == [2, 4, 3, 2] })
        for (part, y) in parts.enumerated() {
            for b in 0..<2 {
                for t in 0..<3 {
                    for h in 0..<4 {
                        for e in 0..<2 { #expect(y[b, h, t, e] == x[b, t, (part * 4 + h) * 2 + e]) }
                    }
                }
            }
        }
    }
}
