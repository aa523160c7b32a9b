// Token embedding lookup, forward (gather rows) and backward (scatter-add rows), as llm.c's encoder pair.
import Foundation

/// Rows of a (V, C) table picked by token id.
public enum Embedding {
    /// ids is (N) with each id in 0..<V, table is (V, C); returns (N, C).
    public static func forward(ids: [Int], table: Tensor) -> Tensor {
        let (vocabulary, width) = MatMul.dims(table)
        var y = Tensor(zeros: [ids.count, width])
        table.withPointer { tp in
            y.withMutablePointer { yp in
                for (row, id) in ids.enumerated() {
                    precondition(id >= 0 && id < vocabulary, "token id \(id) outside vocabulary of \(vocabulary)")
                    (yp + row * width).update(from: tp + id * width, count: width)
                }
            }
        }
        return y
    }

    /// Backward: accumulates dy's rows into tableGradient (V, C) at their ids; repeated ids add up.
    /// In the forward pass this was: y[n] = table[ids[n]].
    public static func backward(_ dy: Tensor, ids: [Int], tableGradient: inout Tensor) {
        let (_, width) = MatMul.dims(tableGradient)
        precondition(dy.count == ids.count * width, "dy \(dy.shape) for \(ids.count) ids of width \(width)")
        for (row, id) in ids.enumerated() {
            for index in 0..<width { tableGradient.storage[id * width + index] += dy.storage[row * width + index] }
        }
    }
}
