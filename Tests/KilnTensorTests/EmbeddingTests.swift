// Embedding lookup and its scatter-add backward.
import Foundation
import KilnTensor
import Testing

@Suite("Embedding")
struct EmbeddingTests {
    static let table = Tensor(shape: [4, 3], storage: [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32])

    @Test("Forward gathers the rows of the ids")
    func forward() {
        let y = Embedding.forward(ids: [2, 0, 2, 3], table: Self.table)
        #expect(y.shape == [4, 3])
        #expect(y.storage == [20, 21, 22, 0, 1, 2, 20, 21, 22, 30, 31, 32])
    }

    @Test("Backward scatter-adds rows, summing repeated ids, and accumulates")
    func backward() {
        let dy = Tensor(shape: [4, 3], storage: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        var gradient = Tensor(shape: [4, 3], storage: Array(repeating: 1, count: 12))
        Embedding.backward(dy, ids: [2, 0, 2, 3], tableGradient: &gradient)
        #expect(gradient.storage == [5, 6, 7, 1, 1, 1, 9, 11, 13, 11, 12, 13])
        let numeric = KernelTests.numericalGradient(Self.table, dy) { Embedding.forward(ids: [2, 0, 2, 3], table: $0) }
        var analytic = Tensor(zeros: [4, 3])
        Embedding.backward(dy, ids: [2, 0, 2, 3], tableGradient: &analytic)
        #expect(analytic.maxAbsDifference(numeric) < 1e-3)
    }
}
