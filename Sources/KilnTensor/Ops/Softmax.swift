// Row softmax, forward and backward: a SIMD kernel split across cores, and the plain loop beside it.
import Foundation

/// Softmax over the last dimension, numerically stable (the row maximum is subtracted first).
public enum Softmax {
    /// x is (…, C); returns probabilities of the same shape (the backward pass needs only these).
    /// A row that is all −∞ (fully masked) gives zeros, not NaN.
    public static func forward(_ x: Tensor) -> Tensor {
        let (rows, width) = MatMul.dims(x)
        var y = Tensor(zeros: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                    for row in range { rowForward(xp + row * width, yp + row * width, width) }
                }
            }
        }
        return y
    }

    /// Softmax of one row of `width` elements from `x` into `y` (may alias): SIMD max, exp and scale.
    @inline(__always) static func rowForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ width: Int) {
        let maximum = Vector.max(x, width)
        if maximum == -.infinity {
            y.update(repeating: 0, count: width)
            return
        }
        let sum = Vector.shiftedExp(x, shift: maximum, into: y, width)
        Vector.scale(UnsafePointer(y), by: 1 / sum, into: y, width)
    }

    /// Backward: dx = y ⊙ (dy − Σ dy ⊙ y). In the forward pass this was: y = softmax(x).
    public static func backward(_ dy: Tensor, output y: Tensor) -> Tensor {
        let (rows, width) = MatMul.dims(y)
        precondition(dy.shape == y.shape, "dy \(dy.shape) for output \(y.shape)")
        var dx = Tensor(zeros: y.shape)
        y.withPointer { yp in
            dy.withPointer { dyp in
                dx.withMutablePointer { dxp in
                    Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                        for row in range {
                            let base = row * width
                            let dot = Vector.dot(dyp + base, yp + base, width)
                            for index in 0..<width { dxp[base + index] = yp[base + index] * (dyp[base + index] - dot) }
                        }
                    }
                }
            }
        }
        return dx
    }

    /// The plain per-row loop in Double, the reference the fast kernel is tested against.
    public static func naiveForward(_ x: Tensor) -> Tensor {
        let (rows, width) = MatMul.dims(x)
        var y = Tensor(zeros: x.shape)
        for row in 0..<rows {
            let base = row * width
            let values = x.storage[base..<base + width].map(Double.init)
            let maximum = values.max() ?? -.infinity
            guard maximum > -.infinity else { continue }
            let e = values.map { Foundation.exp($0 - maximum) }
            let sum = e.reduce(0, +)
            for index in 0..<width { y.storage[base + index] = Float(e[index] / sum) }
        }
        return y
    }
}
