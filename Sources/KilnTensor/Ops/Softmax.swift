// Row softmax, forward and backward.
import Foundation

/// Softmax over the last dimension, numerically stable (the row maximum is subtracted first).
public enum Softmax {
    /// x is (…, C); returns probabilities of the same shape (the backward pass needs only these).
    public static func forward(_ x: Tensor) -> Tensor {
        let (rows, width) = MatMul.dims(x)
        var y = Tensor(zeros: x.shape)
        for row in 0..<rows {
            let base = row * width
            var maximum = -Float.infinity
            for index in 0..<width { maximum = max(maximum, x.storage[base + index]) }
            var sum: Float = 0
            for index in 0..<width {
                let e = maximum == -.infinity ? 0 : exp(x.storage[base + index] - maximum)
                y.storage[base + index] = e
                sum += e
            }
            let inverse = sum > 0 ? 1 / sum : 0
            for index in 0..<width { y.storage[base + index] *= inverse }
        }
        return y
    }

    /// Backward: dx = y ⊙ (dy − Σ dy ⊙ y). In the forward pass this was: y = softmax(x).
    public static func backward(_ dy: Tensor, output y: Tensor) -> Tensor {
        let (rows, width) = MatMul.dims(y)
        var dx = Tensor(zeros: y.shape)
        for row in 0..<rows {
            let base = row * width
            var dot: Float = 0
            for index in 0..<width { dot += dy.storage[base + index] * y.storage[base + index] }
            for index in 0..<width { dx.storage[base + index] = y.storage[base + index] * (dy.storage[base + index] - dot) }
        }
        return dx
    }
}
