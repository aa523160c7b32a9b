// RMS normalisation (LLaMA family), forward and backward.
import Foundation

/// What `RMSNorm.backward` needs from the forward pass.
public struct RMSNormCache: Sendable {
    /// The input x, (N, C).
    public var input: Tensor
    /// 1 / sqrt(mean(x²) + eps) per row, (N).
    public var rstd: [Float]
}

/// `y = x / sqrt(mean(x²) + eps) · weight`, over the last dimension (HF `LlamaRMSNorm`, computed in Float32).
public enum RMSNorm {
    /// x is (…, C), weight is (C); returns y of x's shape and the cache for backward.
    public static func forward(_ x: Tensor, weight: Tensor, eps: Float) -> (Tensor, RMSNormCache) {
        let (rows, width) = MatMul.dims(x)
        precondition(weight.count == width, "weight has \(weight.count) elements for width \(width)")
        var y = Tensor(zeros: x.shape)
        var rstd = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            let base = row * width
            var sum: Float = 0
            for index in 0..<width { sum += x.storage[base + index] * x.storage[base + index] }
            let scale = 1 / (sum / Float(width) + eps).squareRoot()
            rstd[row] = scale
            for index in 0..<width { y.storage[base + index] = x.storage[base + index] * scale * weight.storage[index] }
        }
        return (y, RMSNormCache(input: x, rstd: rstd))
    }

    /// Backward: returns dx and accumulates dweight. In the forward pass this was: y = x · rstd · w.
    public static func backward(_ dy: Tensor, cache: RMSNormCache, weight: Tensor, weightGradient: inout Tensor) -> Tensor {
        let x = cache.input
        let (rows, width) = MatMul.dims(x)
        var dx = Tensor(zeros: x.shape)
        for row in 0..<rows {
            let base = row * width
            let r = cache.rstd[row]
            // dx = r·(dy·w) − r³/C · x · Σ(dy·w·x)
            var dot: Float = 0
            for index in 0..<width {
                dot += dy.storage[base + index] * weight.storage[index] * x.storage[base + index]
                weightGradient.storage[index] += dy.storage[base + index] * x.storage[base + index] * r
            }
            let correction = r * r * r * dot / Float(width)
            for index in 0..<width {
                dx.storage[base + index] = r * dy.storage[base + index] * weight.storage[index] - correction * x.storage[base + index]
            }
        }
        return dx
    }
}
