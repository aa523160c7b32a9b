// The k largest values of each row with their indices (torch.topk, sorted), stable for ties: among equal
// values the lower index comes first. A running sorted buffer of k keeps it O(V + k·log k) per row for
// the small k of sampling; the naive full sort is the reference.
import Foundation

/// Top-k selection over the last dimension, with the gradient scatter as its backward.
public enum TopK {
    /// x is (…, V), 1 ≤ k ≤ V; returns values (…, k) in descending order and their indices (… · k).
    /// NaN never enters the result (it compares false).
    public static func forward(_ x: Tensor, k: Int) -> (values: Tensor, indices: [Int]) {
        let (rows, width) = MatMul.dims(x)
        precondition(k >= 1 && k <= width, "k \(k) outside 1...\(width)")
        var values = Tensor(zeros: Array(x.shape.dropLast()) + [k])
        var indices = [Int](repeating: 0, count: rows * k)
        var bestValues = [Float](repeating: 0, count: k)
        var bestIndices = [Int](repeating: 0, count: k)
        for row in 0..<rows {
            let base = row * width
            var filled = 0
            for index in 0..<width {
                let value = x.storage[base + index]
                // Strictly greater than the current k-th: a later equal value never displaces an earlier one.
                if filled == k && !(value > bestValues[k - 1]) { continue }
                if filled < k && value.isNaN { continue }
                // The first slot holding a smaller value; equal values stay ahead (stability).
                var low = 0, high = filled
                while low < high {
                    let middle = (low + high) / 2
                    if bestValues[middle] >= value { low = middle + 1 } else { high = middle }
                }
                let end = min(filled, k - 1)
                var slot = end
                while slot > low {
                    bestValues[slot] = bestValues[slot - 1]
                    bestIndices[slot] = bestIndices[slot - 1]
                    slot -= 1
                }
                bestValues[low] = value
                bestIndices[low] = index
                filled = min(filled + 1, k)
            }
            precondition(filled == k, "row \(row) has fewer than \(k) comparable (non-NaN) values")
            for slot in 0..<k {
                values.storage[row * k + slot] = bestValues[slot]
                indices[row * k + slot] = bestIndices[slot]
            }
        }
        return (values, indices)
    }

    /// Backward: dx is zero except dx[row, indices[row, j]] = dy[row, j]; dy is (…, k), returns (…, V).
    /// In the forward pass this was: values = x[indices].
    public static func backward(_ dy: Tensor, indices: [Int], width: Int) -> Tensor {
        let k = dy.shape.last ?? 0
        let rows = k == 0 ? 0 : dy.count / k
        precondition(indices.count == dy.count, "\(indices.count) indices for dy \(dy.shape)")
        var dx = Tensor(zeros: Array(dy.shape.dropLast()) + [width])
        for row in 0..<rows {
            for slot in 0..<k { dx.storage[row * width + indices[row * k + slot]] += dy.storage[row * k + slot] }
        }
        return dx
    }

    /// Stable sort of the whole row, descending, then the first k: the reference for `forward`.
    public static func naiveForward(_ x: Tensor, k: Int) -> (values: Tensor, indices: [Int]) {
        let (rows, width) = MatMul.dims(x)
        var values = Tensor(zeros: Array(x.shape.dropLast()) + [k])
        var indices = [Int]()
        for row in 0..<rows {
            let order = (0..<width).sorted { a, b in
                let va = x.storage[row * width + a], vb = x.storage[row * width + b]
                return va != vb ? va > vb : a < b
            }
            for slot in 0..<k {
                values.storage[row * k + slot] = x.storage[row * width + order[slot]]
                indices.append(order[slot])
            }
        }
        return (values, indices)
    }
}
