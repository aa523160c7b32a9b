// Top-k: ties broken by the lower index (torch.topk-compatible order for distinct values), the running
// buffer against a full stable sort, and the gradient scatter.
import Foundation
import KilnTensor
import Testing

@Suite("TopK")
struct TopKTests {
    @Test("Largest values first; equal values keep index order")
    func ties() {
        let x = Tensor(shape: [2, 6], storage: [1, 3, 3, -2, 3, 0, 5, 5, 5, 5, 5, 5])
        let (values, indices) = TopK.forward(x, k: 4)
        #expect(values.shape == [2, 4])
        #expect(values.storage == [3, 3, 3, 1, 5, 5, 5, 5])
        #expect(indices == [1, 2, 4, 0, 0, 1, 2, 3])
    }

    @Test("Running buffer equals a full stable sort", arguments: [(1, 1, 1), (3, 10, 1), (4, 50, 7), (2, 1000, 40), (5, 64, 64)])
    func fastMatchesNaive(rows: Int, width: Int, k: Int) {
        // Rounded to tenths so that many values tie.
        let x = Tensor(shape: [rows, width], storage: KernelTests.random([rows, width], seed: 81).storage.map { ($0 * 10).rounded() / 10 })
        let fast = TopK.forward(x, k: k), slow = TopK.naiveForward(x, k: k)
        #expect(fast.values == slow.values)
        #expect(fast.indices == slow.indices)
    }

    @Test("NaN never enters the result")
    func skipsNaN() {
        let (values, indices) = TopK.forward(Tensor(shape: [5], storage: [.nan, 2, .nan, 7, 1]), k: 2)
        #expect(values.storage == [7, 2] && indices == [3, 1])
    }

    @Test("Backward scatters dy to the selected indices")
    func backward() {
        // Distinct values 0.1 apart (a permutation of 0…26 tenths), so ±h never reorders them.
        let x = Tensor(shape: [3, 9], storage: (0..<27).map { Float(($0 * 7) % 27) / 10 })
        let dy = KernelTests.random([3, 4], seed: 83)
        let (_, indices) = TopK.forward(x, k: 4)
        let numeric = KernelTests.numericalGradient(x, dy) { TopK.forward($0, k: 4).values }
        #expect(TopK.backward(dy, indices: indices, width: 9).maxAbsDifference(numeric) < 1e-3)
    }
}
