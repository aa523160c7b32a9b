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
}
