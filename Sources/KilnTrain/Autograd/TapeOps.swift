// The differentiable operations the family graphs are built from: each wraps a KilnTensor forward/backward pair
// (or a few lines of index arithmetic) and records the pullback.
import KilnTensor

/// Elementwise helpers for gradients.
enum TensorMath {
    /// `total += addend` elementwise.
    static func accumulate(_ addend: Tensor, into total: inout Tensor) {
        precondition(addend.count == total.count, "cannot add \(addend.shape) into \(total.shape)")
        total.withMutablePointer { tp in
            addend.withPointer { ap in
                Parallel.rows(addend.count, minimumPerTask: 1 << 15) { range in
                    for index in range { tp[index] += ap[index] }
                }
            }
        }
    }

    /// `tensor * factor` elementwise.
    static func scaled(_ tensor: Tensor, by factor: Float) -> Tensor {
        var result = tensor
        result.withMutablePointer { p in for index in 0..<tensor.count { p[index] *= factor } }
        return result
    }
}

extension Tape {
    /// a + b (same shape): the residual connection.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        var sum = a.value
        TensorMath.accumulate(b.value, into: &sum)
        return record(sum, inputs: [a, b]) { dy in [dy, dy] }
    }

    /// x · factor.
    public func scale(_ x: Variable, by factor: Float) -> Variable {
        record(TensorMath.scaled(x.value, by: factor), inputs: [x]) { dy in [TensorMath.scaled(dy, by: factor)] }
    }

    /// The same elements under another shape.
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        let original = x.value.shape
        return record(x.value.reshaped(shape), inputs: [x]) { dy in [dy.reshaped(original)] }
    }

    /// RMSNorm over the last dimension with a frozen weight (C).
    public func rmsNorm(_ x: Variable, weight: Tensor, eps: Float) -> Variable {
        let (y, cache) = RMSNorm.forward(x.value, weight: weight, eps: eps)
        return record(y, inputs: [x]) { dy in
            var unused = Tensor(zeros: weight.shape)
            return [RMSNorm.backward(dy, cache: cache, weight: weight, weightGradient: &unused)]
        }
    }

    /// LayerNorm over the last dimension with frozen weight and bias (C).
    public func layerNorm(_ x: Variable, weight: Tensor, bias: Tensor, eps: Float) -> Variable {
        let (y, cache) = LayerNorm.forward(x.value, weight: weight, bias: bias, eps: eps)
        return record(y, inputs: [x]) { dy in
            var (unusedWeight, unusedBias) = (Tensor(zeros: weight.shape), Tensor(zeros: bias.shape))
            return [LayerNorm.backward(dy, cache: cache, weight: weight, weightGradient: &unusedWeight, biasGradient: &unusedBias)]
        }
    }

    /// (B, T, H·D) → (B, H, T, D).
    public func splitHeads(_ x: Variable, heads: Int) -> Variable {
        record(Heads.split(x.value, heads: heads), inputs: [x]) { dy in [Heads.splitBackward(dy)] }
    }

    /// (B, H, T, D) → (B, T, H·D).
    public func mergeHeads(_ x: Variable) -> Variable {
        let heads = x.value.shape[1]
        return record(Heads.merge(x.value), inputs: [x]) { dy in [Heads.mergeBackward(dy, heads: heads)] }
    }

    /// Rotary embedding of (B, H, T, D).
    public func rope(_ x: Variable, table: RoPETable, layout: RoPELayout) -> Variable {
        record(RoPE.forward(x.value, table: table, layout: layout), inputs: [x]) { dy in
            [RoPE.backward(dy, table: table, layout: layout)]
        }
    }

    /// Scaled dot-product attention of q (B, H, Tq, D) over k, v (B, KVH, Tk, D).
    public func attention(query: Variable, key: Variable, value: Variable, options: AttentionOptions) -> Variable {
        let (output, cache) = Attention.forward(query: query.value, key: key.value, value: value.value, options: options)
        return record(output, inputs: [query, key, value]) { dy in
            let (dq, dk, dv) = Attention.backward(dy, cache: cache)
            return [dq, dk, dv]
        }
    }

    /// silu(gate) ⊙ up.
    public func swiglu(gate: Variable, up: Variable) -> Variable {
        record(SwiGLU.forward(gate: gate.value, up: up.value), inputs: [gate, up]) { dy in
            let (dGate, dUp) = SwiGLU.backward(dy, gate: gate.value, up: up.value)
            return [dGate, dUp]
        }
    }

    /// silu(x[:I]) ⊙ x[I:] for a fused gate|up projection (…, 2I).
    public func swiglu(fused gateUp: Variable) -> Variable {
        record(SwiGLU.forward(fused: gateUp.value), inputs: [gateUp]) { dy in [SwiGLU.backward(dy, fused: gateUp.value)] }
    }

    /// GELU, elementwise.
    public func gelu(_ x: Variable, approximation: GELUApproximation) -> Variable {
        record(GELU.forward(x.value, approximation: approximation), inputs: [x]) { dy in
            [GELU.backward(dy, input: x.value, approximation: approximation)]
        }
    }

    /// Columns `range` of the last dimension.
    public func slice(_ x: Variable, columns range: Range<Int>) -> Variable {
        let width = x.value.shape.last!
        let rows = x.value.count / width
        var y = Tensor(zeros: Array(x.value.shape.dropLast()) + [range.count])
        for row in 0..<rows {
            y.storage.replaceSubrange((row * range.count)..<((row + 1) * range.count),
                                      with: x.value.storage[(row * width + range.lowerBound)..<(row * width + range.upperBound)])
        }
        let shape = x.value.shape
        return record(y, inputs: [x]) { dy in
            var dx = Tensor(zeros: shape)
            for row in 0..<rows {
                dx.storage.replaceSubrange((row * width + range.lowerBound)..<(row * width + range.upperBound),
                                           with: dy.storage[(row * range.count)..<((row + 1) * range.count)])
            }
            return [dx]
        }
    }

    /// The last-dimension columns `indices`, in that order (no index twice).
    public func gather(_ x: Variable, columns indices: [Int]) -> Variable {
        let width = x.value.shape.last!, rows = x.value.count / width, count = indices.count
        var y = Tensor(zeros: Array(x.value.shape.dropLast()) + [count])
        for row in 0..<rows {
            for (j, column) in indices.enumerated() { y.storage[row * count + j] = x.value.storage[row * width + column] }
        }
        let shape = x.value.shape
        return record(y, inputs: [x]) { dy in
            var dx = Tensor(zeros: shape)
            for row in 0..<rows {
                for (j, column) in indices.enumerated() { dx.storage[row * width + column] = dy.storage[row * count + j] }
            }
            return [dx]
        }
    }

    /// Concatenation along the last dimension.
    public func concatenate(_ parts: [Variable]) -> Variable {
        let widths = parts.map { $0.value.shape.last! }
        let total = widths.reduce(0, +)
        let rows = parts[0].value.count / widths[0]
        var y = Tensor(zeros: Array(parts[0].value.shape.dropLast()) + [total])
        var offset = 0
        for (part, width) in zip(parts, widths) {
            for row in 0..<rows {
                y.storage.replaceSubrange((row * total + offset)..<(row * total + offset + width),
                                          with: part.value.storage[(row * width)..<((row + 1) * width)])
            }
            offset += width
        }
        let shapes = parts.map(\.value.shape)
        return record(y, inputs: parts) { dy in
            var offset = 0
            return zip(shapes, widths).map { shape, width in
                var dx = Tensor(zeros: shape)
                for row in 0..<rows {
                    dx.storage.replaceSubrange((row * width)..<((row + 1) * width),
                                               with: dy.storage[(row * total + offset)..<(row * total + offset + width)])
                }
                offset += width
                return dx
            }
        }
    }
}
