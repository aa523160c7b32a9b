// GELU as llama.cpp computes it on the CPU (ggml-cpu vec.h, GGML_GELU_FP16): the input rounded to float16 indexes a
// table of the tanh form evaluated in float32 and stored as float16; inputs at or beyond ±10 bypass the table
// (0 below −10, x above 10). Mirroring it matters for quantised models: the rounding moves values across the
// boundaries of the next product's int8 activation blocks, which shifts logits by ~0.05 on the fixtures.
import Foundation

extension GELU {
    /// llama.cpp's table: float16 output for every float16 input bit pattern.
    static let halfTable: [Float16] = (0..<65_536).map { bits in
        let x = Float(Float16(bitPattern: UInt16(bits)))
        return Float16(0.5 * x * (1 + Foundation.tanh(sqrtTwoOverPi * x * (1 + 0.044715 * x * x))))
    }

    /// x is any shape; returns llama.cpp's float16-tabulated gelu(x) of the same shape. Inference only.
    public static func llamaCppForward(_ x: Tensor) -> Tensor {
        var y = Tensor(zeros: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                halfTable.withUnsafeBufferPointer { table in
                    nonisolated(unsafe) let table = table
                    Parallel.rows(x.count, minimumPerTask: 16_384) { range in
                        for i in range {
                            let v = xp[i]
                            yp[i] = v <= -10 ? 0 : v >= 10 ? v : Float(table[Int(Float16(v).bitPattern)])
                        }
                    }
                }
            }
        }
        return y
    }
}
