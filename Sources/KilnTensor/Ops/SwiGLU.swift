// SiLU and SwiGLU, forward and backward. SwiGLU is LLaMA's MLP gate, `silu(gate_proj(x)) ⊙ up_proj(x)`,
// and GLM-4 / ChatGLM's fused form, where one `gate_up_proj` output is split in halves
// (`gate, up = x.chunk(2, dim=-1)`: gate first, up second).
import Foundation

/// `silu(x) = x · σ(x)`, elementwise (HF "silu", "swish").
public enum SiLU {
    /// x is any shape; returns silu(x) of the same shape.
    public static func forward(_ x: Tensor) -> Tensor {
        var y = Tensor(zeros: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.rows(x.count, minimumPerTask: 16_384) { range in
                    for i in range { yp[i] = silu(xp[i]) }
                }
            }
        }
        return y
    }

    /// Backward: dx = dy · σ(x)(1 + x(1 − σ(x))). In the forward pass this was: y = x · σ(x).
    public static func backward(_ dy: Tensor, input x: Tensor) -> Tensor {
        precondition(dy.shape == x.shape, "dy \(dy.shape) for input \(x.shape)")
        return Tensor(shape: x.shape, storage: zip(dy.storage, x.storage).map { $0 * derivative($1) })
    }

    /// The scalar map, the reference for the parallel path.
    public static func naiveForward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape, storage: x.storage.map { $0 / (1 + exp(-$0)) })
    }

    @inline(__always) static func silu(_ x: Float) -> Float { x / (1 + exp(-x)) }

    @inline(__always) static func derivative(_ x: Float) -> Float {
        let s = 1 / (1 + exp(-x))
        return s * (1 + x * (1 - s))
    }
}

/// `silu(gate) ⊙ up`, the gated MLP activation of LLaMA, Mistral, Qwen and GLM.
public enum SwiGLU {
    /// gate and up are (…, I); returns (…, I).
    public static func forward(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "gate \(gate.shape) and up \(up.shape) differ")
        var y = Tensor(unfilled: gate.shape)
        gate.withPointer { gp in
            up.withPointer { upp in
                y.withMutablePointer { yp in
                    Parallel.rows(gate.count, minimumPerTask: 16_384) { range in
                        Vector.swiGLU(gp, upp, into: yp, range)
                    }
                }
            }
        }
        return y
    }

    /// Backward: returns (dgate, dup). In the forward pass this was: y = silu(gate) ⊙ up.
    public static func backward(_ dy: Tensor, gate: Tensor, up: Tensor) -> (gate: Tensor, up: Tensor) {
        precondition(dy.shape == gate.shape && gate.shape == up.shape, "dy \(dy.shape), gate \(gate.shape), up \(up.shape)")
        var dgate = Tensor(unfilled: gate.shape), dup = Tensor(unfilled: up.shape)
        dy.withPointer { dyp in
            gate.withPointer { gp in
                up.withPointer { upp in
                    dgate.withMutablePointer { dgp in
                        dup.withMutablePointer { dup in
                            nonisolated(unsafe) let (dg, du) = (dgp, dup)
                            Parallel.rows(gate.count, minimumPerTask: 16_384) { range in
                                let start = range.lowerBound
                                backwardKernel(dyp + start, gp + start, upp + start, dg + start, du + start, range.count)
                            }
                        }
                    }
                }
            }
        }
        return (dgate, dup)
    }

    /// dg = dy·u·silu′(g) and du = dy·silu(g) over n elements, with one sigmoid per element.
    static func backwardKernel(_ dy: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
                               _ dg: UnsafeMutablePointer<Float>, _ du: UnsafeMutablePointer<Float>, _ n: Int) {
        let one = Vector.Lanes(repeating: 1)
        var i = 0
        while i + Vector.width <= n {
            let x = Vector.load(g, i), d = Vector.load(dy, i)
            let sigma = one / (one + Vector.exp(-x))
            Vector.store(d * Vector.load(u, i) * sigma * (one + x * (one - sigma)), dg, i)
            Vector.store(d * x * sigma, du, i)
            i += Vector.width
        }
        while i < n {
            let sigma = 1 / (1 + Foundation.exp(-g[i]))
            dg[i] = dy[i] * u[i] * sigma * (1 + g[i] * (1 - sigma))
            du[i] = dy[i] * g[i] * sigma
            i += 1
        }
    }

    /// Fused layout: gateUp is (…, 2I) with gate in the first I columns and up in the last I; returns (…, I).
    public static func forward(fused gateUp: Tensor) -> Tensor {
        let (rows, doubled) = MatMul.dims(gateUp)
        precondition(doubled % 2 == 0, "fused gate-up width \(doubled) is odd")
        let width = doubled / 2
        var y = Tensor(zeros: Array(gateUp.shape.dropLast()) + [width])
        gateUp.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                    for row in range {
                        for index in 0..<width {
                            yp[row * width + index] = SiLU.silu(xp[row * doubled + index]) * xp[row * doubled + width + index]
                        }
                    }
                }
            }
        }
        return y
    }

    /// Backward of the fused layout: returns dgateUp, (…, 2I). In the forward pass this was: y = silu(x[:I]) ⊙ x[I:].
    public static func backward(_ dy: Tensor, fused gateUp: Tensor) -> Tensor {
        let (rows, doubled) = MatMul.dims(gateUp)
        let width = doubled / 2
        precondition(dy.count == rows * width, "dy \(dy.shape) for fused input \(gateUp.shape)")
        var dx = Tensor(unfilled: gateUp.shape)
        dy.withPointer { dyp in
            gateUp.withPointer { xp in
                dx.withMutablePointer { dxp in
                    nonisolated(unsafe) let d = dxp
                    Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                        for row in range {
                            let x = xp + row * doubled, out = d + row * doubled
                            backwardKernel(dyp + row * width, x, x + width, out, out + width, width)
                        }
                    }
                }
            }
        }
        return dx
    }
}
