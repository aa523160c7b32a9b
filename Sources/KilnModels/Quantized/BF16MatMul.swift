// bf16 weights multiplied in bf16, the fast arithmetic's form for them: the activations are rounded to bf16 once per
// product, then every product of two bf16 values is exact in float32 and the sums are float32. This is what PyTorch's
// bf16 models compute (they round every activation to bf16 too), so the results differ from the exact path's float32
// product of the same weights by the activations' rounding (about 2⁻⁹ relative per value). Decoding reads W in place with
// AVX-512 BF16 dot products (half the bytes of float32 and no widening); prefill uses them only on cores that issue
// them at full rate, and elsewhere (Intel's Sapphire/Emerald Rapids run them at half the float32 rate) widens W for
// sgemm over the rounded x, the same arithmetic. Without AVX-512 BF16 the exact path runs.
import Foundation
import KilnKernels
import KilnTensor

/// Products of x with bf16 weights in bf16 arithmetic.
enum BF16MatMul {
    /// Whether this machine's kernels run (`KernelDispatch`: AVX-512 BF16, unless the environment forbids it).
    static let available = KernelDispatch.current.bf16
    /// x rows at or below which weight rows are read in place (the dot form); above, they are repacked into panels.
    static let dotRowLimit = 16
    /// Weight rows repacked per kernel call: 256 rows of a 1,536-wide matrix are 768 KiB of panels, which stay in L2.
    static let panelRows = 256

    /// Whether products with `weight` go through here.
    static func applies(to weight: QuantizedMatrix) -> Bool {
        available && weight.type == .bf16 && weight.arithmetic == .fast
    }

    /// Whether the broadcast form beats widening W for OpenBLAS's float32 sgemm here: bf16 dot products do twice the
    /// float32 multiply-adds per instruction, but some cores issue them at half the rate (`kiln_bf16_speedup_avx512`).
    static let broadcastPays = available && kiln_bf16_speedup_avx512() > 1.2

    /// y (rows, OC) = round(x) Wᵀ, x (rows, C) float32, W the bf16 matrix at `base`; output rows split across the cores.
    /// Prefill on a core whose bf16 dot products are slow widens W for sgemm instead, with x still rounded, so the
    /// arithmetic is the same either way (exact bf16 products, float32 sums).
    static func forward(x: UnsafePointer<Float>, rows: Int, weight: QuantizedMatrix, base: UnsafeRawPointer,
                        y: UnsafeMutablePointer<Float>) {
        let (columns, outer) = (weight.columns, weight.rows)
        guard rows > 0 else { return }
        var rounded = [UInt16](repeating: 0, count: rows * columns)
        rounded.withUnsafeMutableBufferPointer { buffer in
            kiln_bf16_round_avx512(x, rows * columns, buffer.baseAddress!)
            nonisolated(unsafe) let (xb, y) = (UnsafePointer(buffer.baseAddress!), y)
            let w = base.assumingMemoryBound(to: UInt16.self)
            if rows <= dotRowLimit {
                Parallel.streamRows(outer, chunk: 16) { range in
                    kiln_bf16_dot_avx512(xb, Int32(rows), w + range.lowerBound * columns, columns, Int32(range.count),
                                         Int32(columns), y + range.lowerBound, outer)
                }
                return
            }
            guard broadcastPays else {
                let widened = (0..<(rows * columns)).map { Float(bitPattern: UInt32(xb[$0]) << 16) }
                widened.withUnsafeBufferPointer { xr in
                    if rows <= QuantizedMatMul.blockedRowLimit {
                        QuantizedMatMul.blocked(x: xr.baseAddress!, rows: rows, weight: weight, base: base, y: y)
                    } else {
                        QuantizedMatMul.tiled(x: xr.baseAddress!, rows: rows, weight: weight, base: base, y: y)
                    }
                }
                return
            }
            let panelShorts = (columns + 1) / 2 * 64
            Parallel.rows(outer, minimumPerTask: 32) { range in
                let panels = UnsafeMutablePointer<UInt16>.allocate(capacity: panelRows / 32 * panelShorts)
                defer { panels.deallocate() }
                var start = range.lowerBound
                while start < range.upperBound {
                    let count = min(panelRows, range.upperBound - start)
                    kiln_bf16_gemm_avx512(xb, Int32(rows), w + start * columns, columns, Int32(count), Int32(columns),
                                          y + start, outer, panels)
                    start += count
                }
            }
        }
    }

    /// `value` rounded to bf16 as the kernels round it: to nearest, ties to even, NaN kept quiet, subnormals to zero.
    static func round(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        if value.isSubnormal { return UInt16(truncatingIfNeeded: bits >> 16) & 0x8000 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// The product the kernels compute, summed in Float64 from bf16 operands (subnormal operands as zero): y (rows, count)
    /// of x (rows, k floats, rounded here) against w (count, k bf16 bits).
    static func reference(x: [Float], rows: Int, w: [UInt16], count: Int, k: Int) -> [Float] {
        func widen(_ bits: UInt16) -> Double {
            let value = Float(bitPattern: UInt32(bits) << 16)
            return value.isSubnormal ? 0 : Double(value)
        }
        var y = [Float](repeating: 0, count: rows * count)
        for n in 0..<rows {
            for o in 0..<count {
                var sum = 0.0
                for j in 0..<k { sum += widen(round(x[n * k + j])) * widen(w[o * k + j]) }
                y[n * count + o] = Float(sum)
            }
        }
        return y
    }
}
