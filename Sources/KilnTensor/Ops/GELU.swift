// GELU, exact (erf) and tanh-approximated, forward and backward. Elementwise, split across cores in
// chunks. erf stays scalar (libm); the tanh forms run 16 lanes at a time with tanh(u) = 1 − 2/(e^{2u} + 1) over
// Vector.exp (within a few float32 ulps of libm's tanhf, which was a third of a GPT-2 training step).
import Foundation

/// Which GELU: `exact` is `0.5·x·(1 + erf(x/√2))` (HF "gelu"); `tanh` is
/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (HF "gelu_new", "gelu_pytorch_tanh", GPT-2); `bloom` is the same curve
/// written as BLOOM's `bloom_gelu_forward`, `x·0.5·(1 + tanh(0.79788456·x·(1 + 0.044715·x·x)))`, rounding as it does.
public enum GELUApproximation: Sendable {
    /// erf form.
    case exact
    /// tanh form, x³ as torch's `pow(x, 3)` fast path computes it, (x·x)·x.
    case tanh
    /// BLOOM's spelling of the tanh form (truncated constant, x factored out).
    case bloom
}

/// Gaussian error linear unit, elementwise.
public enum GELU {
    static let sqrtTwoOverPi: Float = 0.7978845608028654
    static let inverseSqrtTwo: Float = 0.7071067811865476
    static let inverseSqrtTwoPi: Float = 0.3989422804014327

    /// x is any shape; returns gelu(x) of the same shape.
    public static func forward(_ x: Tensor, approximation: GELUApproximation = .exact) -> Tensor {
        var y = Tensor(unfilled: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.rows(x.count, minimumPerTask: 16_384) { range in
                    var i = range.lowerBound
                    if approximation != .exact {
                        let half = Vector.Lanes(repeating: 0.5), one = Vector.Lanes(repeating: 1)
                        while i + Vector.width <= range.upperBound {
                            let v = Vector.load(xp, i)
                            Vector.store(half * v * (one + tanh(argument(v, approximation))), yp, i)
                            i += Vector.width
                        }
                    }
                    switch approximation {
                    case .exact: while i < range.upperBound { yp[i] = exact(xp[i]); i += 1 }
                    case .tanh: while i < range.upperBound { yp[i] = tanhForm(xp[i]); i += 1 }
                    case .bloom: while i < range.upperBound { yp[i] = bloomForm(xp[i]); i += 1 }
                    }
                }
            }
        }
        return y
    }

    /// Backward: dx = dy · gelu′(x). In the forward pass this was: y = gelu(x); x is the forward input.
    public static func backward(_ dy: Tensor, input x: Tensor, approximation: GELUApproximation = .exact) -> Tensor {
        precondition(dy.shape == x.shape, "dy \(dy.shape) for input \(x.shape)")
        var dx = Tensor(zeros: x.shape)
        x.withPointer { xp in
            dy.withPointer { dyp in
                dx.withMutablePointer { dxp in
                    Parallel.rows(x.count, minimumPerTask: 16_384) { range in
                        var i = range.lowerBound
                        if approximation != .exact {
                            let k = Vector.Lanes(repeating: approximation == .tanh ? sqrtTwoOverPi : 0.79788456)
                            let half = Vector.Lanes(repeating: 0.5), one = Vector.Lanes(repeating: 1)
                            while i + Vector.width <= range.upperBound {
                                let v = Vector.load(xp, i)
                                let t = tanh(argument(v, approximation))
                                let slope = half * (one + t) + half * v * (one - t * t) * k * (one + 3 * 0.044715 * v * v)
                                Vector.store(Vector.load(dyp, i) * slope, dxp, i)
                                i += Vector.width
                            }
                        }
                        while i < range.upperBound { dxp[i] = dyp[i] * derivative(xp[i], approximation); i += 1 }
                    }
                }
            }
        }
        return dx
    }

    /// The one-element-at-a-time loop, the reference for the parallel path.
    public static func naiveForward(_ x: Tensor, approximation: GELUApproximation = .exact) -> Tensor {
        Tensor(shape: x.shape, storage: x.storage.map { value in
            switch approximation {
            case .exact: return exact(value)
            case .tanh: return tanhForm(value)
            case .bloom: return bloomForm(value)
            }
        })
    }

    /// tanh's argument per lane: √(2/π)(x + 0.044715x³) (x³ as (x·x)·x), or BLOOM's 0.79788456·x·(1 + 0.044715·x·x).
    @inline(__always) static func argument(_ x: Vector.Lanes, _ approximation: GELUApproximation) -> Vector.Lanes {
        approximation == .bloom ? 0.79788456 * x * (1 + 0.044715 * x * x) : sqrtTwoOverPi * (x + 0.044715 * (x * x * x))
    }

    /// tanh per lane as 1 − 2/(e^{2u} + 1); Vector.exp saturates, so a large |u| gives exactly ±1.
    @inline(__always) static func tanh(_ u: Vector.Lanes) -> Vector.Lanes {
        let one = Vector.Lanes(repeating: 1)
        return one - 2 / (Vector.exp(u + u) + one)
    }

    @inline(__always) static func exact(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * inverseSqrtTwo))
    }

    @inline(__always) static func tanhForm(_ x: Float) -> Float {
        0.5 * x * (1 + Foundation.tanh(sqrtTwoOverPi * (x + 0.044715 * (x * x * x))))
    }

    @inline(__always) static func bloomForm(_ x: Float) -> Float {
        x * 0.5 * (1 + Foundation.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))
    }

    /// d gelu / dx. Exact: Φ(x) + x·φ(x). Tanh: 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
    @inline(__always) static func derivative(_ x: Float, _ approximation: GELUApproximation) -> Float {
        switch approximation {
        case .exact:
            return 0.5 * (1 + erf(x * inverseSqrtTwo)) + x * inverseSqrtTwoPi * exp(-0.5 * x * x)
        case .tanh, .bloom:
            let k: Float = approximation == .tanh ? sqrtTwoOverPi : 0.79788456
            let t = Foundation.tanh(k * (x + 0.044715 * (x * x * x)))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        }
    }
}
