// ReLU, forward and backward, elementwise with SIMD lanes.
import Foundation

/// `y = max(x, 0)`, elementwise.
public enum ReLU {
    /// x is any shape; returns relu(x) of the same shape.
    public static func forward(_ x: Tensor) -> Tensor {
        var y = Tensor(zeros: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.rows(x.count, minimumPerTask: 65_536) { range in
                    var i = range.lowerBound
                    let zero = Vector.Lanes(repeating: 0)
                    while i + Vector.width <= range.upperBound {
                        let v = Vector.load(xp, i)
                        Vector.store(v.replacing(with: zero, where: v .< zero), yp, i)
                        i += Vector.width
                    }
                    while i < range.upperBound { yp[i] = max(xp[i], 0); i += 1 }
                }
            }
        }
        return y
    }

    /// Backward: dx = dy where x > 0, else 0. In the forward pass this was: y = max(x, 0).
    public static func backward(_ dy: Tensor, input x: Tensor) -> Tensor {
        precondition(dy.shape == x.shape, "dy \(dy.shape) for input \(x.shape)")
        return Tensor(shape: x.shape, storage: zip(dy.storage, x.storage).map { $1 > 0 ? $0 : 0 })
    }

    /// The scalar loop, the reference for the SIMD path.
    public static func naiveForward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape, storage: x.storage.map { max($0, 0) })
    }
}
