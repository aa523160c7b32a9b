// RMS normalisation (LLaMA family), forward and backward: a SIMD kernel split across cores, and the
// plain loop it is tested against.
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
        x.withPointer { xp in
            weight.withPointer { wp in
                y.withMutablePointer { yp in
                    rstd.withUnsafeMutableBufferPointer { rp in
                        let rp = rp.baseAddress!
                        Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                            for row in range {
                                let base = row * width
                                let scale = 1 / (Vector.dot(xp + base, xp + base, width) / Float(width) + eps).squareRoot()
                                rp[row] = scale
                                Vector.shiftScaleMultiply(xp + base, shift: 0, scale: scale, wp, into: yp + base, width)
                            }
                        }
                    }
                }
            }
        }
        return (y, RMSNormCache(input: x, rstd: rstd))
    }

    /// Backward: returns dx and accumulates dweight. In the forward pass this was: y = x · rstd · w.
    public static func backward(_ dy: Tensor, cache: RMSNormCache, weight: Tensor, weightGradient: inout Tensor) -> Tensor {
        let x = cache.input
        let (rows, width) = MatMul.dims(x)
        precondition(dy.shape == x.shape, "dy \(dy.shape) for input \(x.shape)")
        var dx = Tensor(zeros: x.shape)
        x.withPointer { xp in
            dy.withPointer { dyp in
                weight.withPointer { wp in
                    dx.withMutablePointer { dxp in
                        Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                            for row in range {
                                let base = row * width
                                let r = cache.rstd[row]
                                // dx = r·(dy·w) − r³/C · x · Σ(dy·w·x)
                                let correction = r * r * r * Vector.dot3(dyp + base, wp, xp + base, width) / Float(width)
                                for index in 0..<width {
                                    dxp[base + index] = r * dyp[base + index] * wp[index] - correction * xp[base + index]
                                }
                            }
                        }
                    }
                }
            }
        }
        // dweight is a sum over rows: kept serial so the order (and result) never depends on the core count.
        for row in 0..<rows {
            let base = row * width
            let r = cache.rstd[row]
            for index in 0..<width { weightGradient.storage[index] += dy.storage[base + index] * x.storage[base + index] * r }
        }
        return dx
    }

    /// The plain per-row loop, the reference the SIMD kernel is tested against (Double sums).
    public static func naiveForward(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
        let (rows, width) = MatMul.dims(x)
        var y = Tensor(zeros: x.shape)
        for row in 0..<rows {
            let base = row * width
            var sum: Double = 0
            for index in 0..<width { sum += Double(x.storage[base + index]) * Double(x.storage[base + index]) }
            let scale = 1 / (sum / Double(width) + Double(eps)).squareRoot()
            for index in 0..<width { y.storage[base + index] = Float(Double(x.storage[base + index]) * scale) * weight.storage[index] }
        }
        return y
    }
}
