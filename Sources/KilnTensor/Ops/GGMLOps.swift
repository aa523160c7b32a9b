// RMSNorm and SwiGLU as llama.cpp computes them on a CPU, for the GGUF fast path: each feeds an int8 quantiser of
// the next product, where a value one float rounding away from Kiln's own kernels' can move a whole output row, so
// these follow ggml's operations exactly (ops.cpp's rms_norm_f32, vec.cpp's ggml_vec_swiglu_f32).
import Foundation
import KilnKernels

/// llama.cpp's float arithmetic for the element-wise layers of a LLaMA-family block.
public enum GGMLOps {
    /// y = x · (1 / √(mean(x²) + eps)) · weight per row of x (…, C): the squares summed in double one after another,
    /// the mean rounded to float, and the scale applied before the weight, as ggml's rms_norm followed by its mul.
    public static func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
        let (rows, width) = MatMul.dims(x)
        precondition(weight.count == width, "weight has \(weight.count) elements for width \(width)")
        var y = Tensor(unfilled: x.shape)
        x.withPointer { xp in
            weight.withPointer { wp in
                y.withMutablePointer { yp in
                    nonisolated(unsafe) let yp = yp
                    Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                        for row in range {
                            let (source, target) = (xp + row * width, yp + row * width)
                            var sum = 0.0
                            for i in 0..<width { sum += Double(source[i] * source[i]) }
                            let mean = Float(sum / Double(width))
                            let scale = 1 / (mean + eps).squareRoot()
                            for i in 0..<width { target[i] = source[i] * scale * wp[i] }
                        }
                    }
                }
            }
        }
        return y
    }

    /// silu(gate) ⊙ up with ggml's vector exp (the AVX-512 build's form where Kiln runs AVX-512, else the AVX2 build's).
    public static func swiGLU(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "gate \(gate.shape) and up \(up.shape) differ")
        let (rows, width) = MatMul.dims(gate)
        let wide: Int32 = KernelDispatch.current.avx512 ? 1 : 0
        var y = Tensor(unfilled: gate.shape)
        gate.withPointer { gp in
            up.withPointer { up in
                y.withMutablePointer { yp in
                    nonisolated(unsafe) let yp = yp
                    Parallel.rows(rows, minimumPerTask: Parallel.minimumRows(width: width)) { range in
                        for row in range { kiln_ggml_swiglu(width, yp + row * width, gp + row * width, up + row * width, wide) }
                    }
                }
            }
        }
        return y
    }
}
