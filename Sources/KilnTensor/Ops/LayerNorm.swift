// Layer normalisation with bias (GPT-2, BLOOM), forward and backward, after llm.c's layernorm_forward /
// layernorm_backward: a SIMD kernel split across cores, and the plain loop beside it.
import Foundation

/// What `LayerNorm.backward` needs from the forward pass.
public struct LayerNormCache: Sendable {
    /// The input x, (N, C).
    public var input: Tensor
    /// The mean of each row, (N).
    public var mean: [Float]
    /// 1 / sqrt(var + eps) per row (biased variance, as `torch.nn.LayerNorm`), (N).
    public var rstd: [Float]
}

/// `y = (x − mean) / sqrt(var + eps) · weight + bias` over the last dimension (`torch.nn.LayerNorm`).
public enum LayerNorm {
    /// x is (…, C), weight and bias are (C); returns y of x's shape and the cache for backward.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> (Tensor, LayerNormCache) {
        let (rows, width) = MatMul.dims(x)
        precondition(weight.count == width && bias.count == width, "weight \(weight.count) / bias \(bias.count) for width \(width)")
        var y = Tensor(zeros: x.shape)
        var mean = [Float](repeating: 0, count: rows)
        var rstd = [Float](repeating: 0, count: rows)
        x.withPointer { xp in
            weight.withPointer { wp in
                bias.withPointer { bp in
                    y.withMutablePointer { yp in
                        mean.withUnsafeMutableBufferPointer { mp in
                            rstd.withUnsafeMutableBufferPointer { rp in
                                let mp = mp.baseAddress!, rp = rp.baseAddress!
                                Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                                    for row in range {
                                        let base = row * width
                                        let m = Vector.sum(xp + base, width) / Float(width)
                                        // Two passes (mean, then Σ(x − m)²) as torch does; the one-pass E[x²] − m² cancels badly.
                                        let variance = Vector.squaredDeviation(xp + base, from: m, width)
                                        let s = 1 / (variance / Float(width) + eps).squareRoot()
                                        mp[row] = m
                                        rp[row] = s
                                        Vector.shiftScaleMultiplyAdd(xp + base, shift: m, scale: s, wp, bp, into: yp + base, width)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, LayerNormCache(input: x, mean: mean, rstd: rstd))
    }

    /// Backward: returns dx and accumulates dweight and dbias.
    /// In the forward pass this was: n = (x − mean) · rstd; y = n · w + b.
    public static func backward(_ dy: Tensor, cache: LayerNormCache, weight: Tensor,
                                weightGradient: inout Tensor, biasGradient: inout Tensor) -> Tensor {
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
                                let m = cache.mean[row], r = cache.rstd[row]
                                // dx = r · (dn − mean(dn) − n · mean(dn · n)), dn = dy · w
                                var dnMean: Float = 0, dnNormMean: Float = 0
                                for index in 0..<width {
                                    let dn = dyp[base + index] * wp[index]
                                    dnMean += dn
                                    dnNormMean += dn * (xp[base + index] - m) * r
                                }
                                dnMean /= Float(width)
                                dnNormMean /= Float(width)
                                for index in 0..<width {
                                    let n = (xp[base + index] - m) * r
                                    dxp[base + index] = r * (dyp[base + index] * wp[index] - dnMean - n * dnNormMean)
                                }
                            }
                        }
                    }
                }
            }
        }
        // The parameter gradients sum over rows: serial, so the result never depends on the core count.
        for row in 0..<rows {
            let base = row * width
            let m = cache.mean[row], r = cache.rstd[row]
            for index in 0..<width {
                let g = dy.storage[base + index]
                weightGradient.storage[index] += g * (x.storage[base + index] - m) * r
                biasGradient.storage[index] += g
            }
        }
        return dx
    }

    /// The plain per-row loop in Double, the reference the fast kernel is tested against.
    public static func naiveForward(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let (rows, width) = MatMul.dims(x)
        var y = Tensor(zeros: x.shape)
        for row in 0..<rows {
            let values = x.storage[row * width..<(row + 1) * width].map(Double.init)
            let m = values.reduce(0, +) / Double(width)
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(width)
            let r = 1 / (variance + Double(eps)).squareRoot()
            for index in 0..<width {
                y.storage[row * width + index] = Float((values[index] - m) * r * Double(weight.storage[index]) + Double(bias.storage[index]))
            }
        }
        return y
    }
}
