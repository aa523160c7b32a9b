// Linear layers: y = x Wᵀ (+ b), forward and backward, on OpenBLAS, with a naive reference beside them.
import Foundation
import KilnKernels

/// The matrix product of a `Linear` layer (PyTorch weight layout: OC × C).
public enum MatMul {
    /// `y = x Wᵀ + b`. x is (N, C) (N = B·T rows), weight is (OC, C), bias is (OC) or nil; y is (N, OC).
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let (rows, inner) = dims(x)
        let (outer, weightInner) = dims(weight)
        precondition(inner == weightInner, "x has \(inner) columns but weight expects \(weightInner)")
        let decoding = decodes(rows: rows, outer: outer, inner: inner)
        if let bias { precondition(bias.count == outer, "bias has \(bias.count) elements for \(outer) outputs") }
        if !decoding && inner > 0 && WideGemm.handles(rows: rows) { return forward(x, sharing: [weight], biases: [bias])[0] }
        // sgemm with beta 0 writes every element; a bias is accumulated into.
        var y = bias == nil && inner > 0 ? Tensor(unfilled: Array(x.shape.dropLast()) + [outer])
            : Tensor(zeros: Array(x.shape.dropLast()) + [outer])
        if let bias {
            for row in 0..<rows {
                for column in 0..<outer { y.storage[row * outer + column] = bias.storage[column] }
            }
        }
        if decoding { return forward(x, sharing: [weight], biases: [bias])[0] }
        x.storage.withUnsafeBufferPointer { xp in
            weight.storage.withUnsafeBufferPointer { wp in
                y.storage.withUnsafeMutableBufferPointer { yp in
                    BLAS.sgemm(transposeB: true, m: rows, n: outer, k: inner, a: xp.baseAddress!, b: wp.baseAddress!,
                               beta: bias == nil ? 0 : 1, c: yp.baseAddress!)
                }
            }
        }
        return y
    }

    /// `forward` of up to three weights against the same x (a layer's q, k and v, or gate and up): on the prefill kernel
    /// x is transposed once and the cores share the stripes of all of them; decoding, the cores share one hand-out of
    /// all of their rows; elsewhere each is its own `forward`.
    public static func forward(_ x: Tensor, sharing weights: [Tensor], biases: [Tensor?]) -> [Tensor] {
        precondition(weights.count == biases.count, "\(weights.count) weights but \(biases.count) biases")
        let (rows, inner) = dims(x)
        if inner > 0, !weights.isEmpty,
           weights.allSatisfy({ $0.rank == 2 && $0.shape[1] == inner && decodes(rows: rows, outer: $0.shape[0], inner: inner) }),
           zip(weights, biases).allSatisfy({ $1 == nil || $1!.count == $0.shape[0] }) {
            return decodeForward(x, rows: rows, inner: inner, weights: weights, biases: biases)
        }
        guard (1...3).contains(weights.count), inner > 0, WideGemm.handles(rows: rows),
              weights.allSatisfy({ $0.rank == 2 && $0.shape[1] == inner }),
              zip(weights, biases).allSatisfy({ $1 == nil || $1!.count == $0.shape[0] }) else {
            return zip(weights, biases).map { forward(x, weight: $0, bias: $1) }
        }
        func output(_ i: Int) -> Tensor {
            i < weights.count ? Tensor(unfilled: Array(x.shape.dropLast()) + [weights[i].shape[0]]) : Tensor(zeros: [0])
        }
        var (y0, y1, y2) = (output(0), output(1), output(2))
        x.withPointer { xp in
            // Weights then biases, an absent bias standing in as an empty tensor whose pointer is not used.
            withPointers(weights + biases.map { $0 ?? Tensor(zeros: [0]) }) { pointers in
                y0.withMutablePointer { p0 in
                    y1.withMutablePointer { p1 in
                        y2.withMutablePointer { p2 in
                            let products = zip(weights.indices, [p0, p1, p2]).map { i, out in
                                WideGemm.Product(weight: pointers[i], outer: weights[i].shape[0],
                                                 bias: biases[i] == nil ? nil : pointers[weights.count + i], output: out)
                            }
                            WideGemm.multiply(xp, rows: rows, inner: inner, products: products)
                        }
                    }
                }
            }
        }
        return Array([y0, y1, y2].prefix(weights.count))
    }

    /// Runs `body` with pointers to every tensor's elements, in order.
    static func withPointers<R>(_ tensors: [Tensor], _ collected: [UnsafePointer<Float>] = [],
                                _ body: ([UnsafePointer<Float>]) -> R) -> R {
        guard collected.count < tensors.count else { return body(collected) }
        return tensors[collected.count].withPointer { withPointers(tensors, collected + [$0], body) }
    }


    /// Backward of `forward`: returns dx = dy W, and accumulates dW += dyᵀ x and db += Σ dy (llm.c's `+=`).
    /// In the forward pass this was: y = x Wᵀ + b. dy is (N, OC).
    public static func backward(_ dy: Tensor, x: Tensor, weight: Tensor, weightGradient: inout Tensor, biasGradient: inout Tensor?) -> Tensor {
        let (rows, inner) = dims(x)
        let (outer, _) = dims(weight)
        var dx = outer > 0 ? Tensor(unfilled: x.shape) : Tensor(zeros: x.shape)
        dy.storage.withUnsafeBufferPointer { dyp in
            weight.storage.withUnsafeBufferPointer { wp in
                dx.storage.withUnsafeMutableBufferPointer { dxp in
                    BLAS.sgemm(m: rows, n: inner, k: outer, a: dyp.baseAddress!, b: wp.baseAddress!, c: dxp.baseAddress!)
                }
            }
            x.storage.withUnsafeBufferPointer { xp in
                weightGradient.storage.withUnsafeMutableBufferPointer { dwp in
                    BLAS.sgemm(transposeA: true, m: outer, n: inner, k: rows, a: dyp.baseAddress!, b: xp.baseAddress!, beta: 1,
                               c: dwp.baseAddress!)
                }
            }
        }
        if biasGradient != nil {
            for row in 0..<rows {
                for column in 0..<outer { biasGradient!.storage[column] += dy.storage[row * outer + column] }
            }
        }
        return dx
    }

    /// The textbook triple loop, the reference the BLAS path is tested against.
    public static func naiveForward(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let (rows, inner) = dims(x)
        let (outer, _) = dims(weight)
        var y = Tensor(zeros: Array(x.shape.dropLast()) + [outer])
        for row in 0..<rows {
            for column in 0..<outer {
                var sum: Double = Double(bias?.storage[column] ?? 0)
                for index in 0..<inner {
                    sum += Double(x.storage[row * inner + index]) * Double(weight.storage[column * inner + index])
                }
                y.storage[row * outer + column] = Float(sum)
            }
        }
        return y
    }

    /// (rows, last dimension) of a tensor viewed as a matrix over its last dimension.
    static func dims(_ tensor: Tensor) -> (Int, Int) {
        precondition(tensor.rank >= 1, "a scalar is not a matrix")
        let last = tensor.shape.last!
        return (last == 0 ? 0 : tensor.count / last, last)
    }
}
