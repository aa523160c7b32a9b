// GGML tensor types and block dequantisation for the types Kiln reads.
// Layouts and formulas: ggml-org/llama.cpp `ggml/src/ggml-common.h` (block_q4_0 … block_q6_K) and
// `ggml/src/ggml-quants.c` (dequantize_row_*); sizes as in gguf-py `gguf/constants.py` GGML_QUANT_SIZES.
// Arithmetic order matches ggml's float32 code so results are bit-identical to `gguf.quants.dequantize`.
import Foundation

/// A ggml tensor element type (`enum ggml_type`); raw values are the on-disk ids.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    /// IEEE float32.
    case f32 = 0
    /// IEEE float16.
    case f16 = 1
    /// 32 × 4-bit, one f16 scale, offset 8.
    case q4_0 = 2
    /// 32 × 4-bit, f16 scale and minimum.
    case q4_1 = 3
    /// 32 × 5-bit (a nibble plus one bit of a 32-bit mask), one f16 scale, offset 16.
    case q5_0 = 6
    /// 32 × 5-bit, f16 scale and minimum.
    case q5_1 = 7
    /// 32 × int8, one f16 scale.
    case q8_0 = 8
    /// 256-element super-block of 8 × 32 4-bit values with 6-bit scales and minimums.
    case q4_K = 12
    /// 256-element super-block of 16 × 16 6-bit values with int8 scales.
    case q6_K = 14
    /// bfloat16.
    case bf16 = 30

    /// Elements per block (1 for plain floats).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
        case .q4_K, .q6_K: 256 // QK_K
        }
    }

    /// Bytes per block.
    public var typeSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18      // f16 d + 16 nibble bytes
        case .q4_1: 20      // f16 d, f16 m + 16 nibble bytes
        case .q5_0: 22      // f16 d, 4 bytes of fifth bits, 16 nibble bytes
        case .q5_1: 24      // f16 d, f16 m, 4 bytes of fifth bits, 16 nibble bytes
        case .q8_0: 34      // f16 d + 32 int8
        case .q4_K: 144     // f16 d, f16 dmin, 12 packed 6-bit scales/mins, 128 nibble bytes
        case .q6_K: 210     // 128 low nibbles, 64 high 2-bit pairs, 16 int8 scales, f16 d
        }
    }
}

/// Block dequantisation kernels; a quantised matmul calls `dequantizeBlock` per block.
public enum GGUFQuant {
    @inline(__always)
    static func half(_ b: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        HalfFloat.f16ToF32(UInt16(b[offset]) | UInt16(b[offset + 1]) << 8)
    }

    /// Dequantises one block of `type` from `bytes` (exactly `type.typeSize` bytes) into `out`
    /// (at least `type.blockSize` floats). Sizes are the caller's contract, checked by precondition.
    public static func dequantizeBlock(type: GGMLType, bytes b: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(b.count >= type.typeSize && out.count >= type.blockSize, "GGUF block size mismatch")
        switch type {
        case .f32:
            out[0] = Float(bitPattern: UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
        case .f16:
            out[0] = half(b, 0)
        case .bf16:
            out[0] = HalfFloat.bf16ToF32(UInt16(b[0]) | UInt16(b[1]) << 8)
        case .q4_0:
            // dequantize_row_q4_0: low nibbles → first 16, high nibbles → last 16, offset 8.
            let d = half(b, 0)
            for j in 0..<16 {
                let q = b[2 + j]
                out[j] = Float(Int(q & 0x0F) - 8) * d
                out[j + 16] = Float(Int(q >> 4) - 8) * d
            }
        case .q4_1:
            let d = half(b, 0), m = half(b, 2)
            for j in 0..<16 {
                let q = b[4 + j]
                out[j] = Float(q & 0x0F) * d + m
                out[j + 16] = Float(q >> 4) * d + m
            }
        case .q5_0:
            // dequantize_row_q5_0: bit j of qh is value j's fifth bit, bit j + 16 value j + 16's; offset 16.
            let d = half(b, 0), qh = fifthBits(b, 2)
            for j in 0..<16 {
                let q = b[6 + j]
                out[j] = Float(Int(UInt32(q & 0x0F) | (qh >> j) << 4 & 0x10) - 16) * d
                out[j + 16] = Float(Int(UInt32(q >> 4) | (qh >> (j + 12)) & 0x10) - 16) * d
            }
        case .q5_1:
            let d = half(b, 0), m = half(b, 2), qh = fifthBits(b, 4)
            for j in 0..<16 {
                let q = b[8 + j]
                out[j] = Float(UInt32(q & 0x0F) | (qh >> j) << 4 & 0x10) * d + m
                out[j + 16] = Float(UInt32(q >> 4) | (qh >> (j + 12)) & 0x10) * d + m
            }
        case .q8_0:
            let d = half(b, 0)
            for j in 0..<32 { out[j] = Float(Int8(bitPattern: b[2 + j])) * d }
        case .q4_K:
            dequantizeQ4K(b, out)
        case .q6_K:
            dequantizeQ6K(b, out)
        }
    }

    /// The 32 fifth bits of a Q5 block, little-endian at `offset`.
    @inline(__always)
    static func fifthBits(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(b[offset]) | UInt32(b[offset + 1]) << 8 | UInt32(b[offset + 2]) << 16 | UInt32(b[offset + 3]) << 24
    }

    /// `get_scale_min_k4`: 8 pairs of 6-bit (scale, min) packed into 12 bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawBufferPointer, _ base: Int) -> (UInt8, UInt8) {
        if j < 4 {
            return (q[base + j] & 63, q[base + j + 4] & 63)
        }
        let sc = (q[base + j + 4] & 0x0F) | ((q[base + j - 4] >> 6) << 4)
        let m = (q[base + j + 4] >> 4) | ((q[base + j] >> 6) << 4)
        return (sc, m)
    }

    /// dequantize_row_q4_K for one 256-element super-block.
    static func dequantizeQ4K(_ b: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let scales = 4, qs = 16
        var q = qs, y = 0, scaleIndex = 0
        for _ in 0..<4 {
            let (sc1, m1) = scaleMinK4(scaleIndex, b, scales)
            let (sc2, m2) = scaleMinK4(scaleIndex + 1, b, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1)
            let d2 = d * Float(sc2), min2 = dmin * Float(m2)
            for l in 0..<32 { out[y + l] = d1 * Float(b[q + l] & 0x0F) - min1 }
            for l in 0..<32 { out[y + 32 + l] = d2 * Float(b[q + l] >> 4) - min2 }
            q += 32
            y += 64
            scaleIndex += 2
        }
    }

    /// dequantize_row_q6_K for one 256-element super-block.
    static func dequantizeQ6K(_ b: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        let d = half(b, 208)
        var ql = 0, qh = 128, sc = 192, y = 0
        for _ in 0..<2 {
            for l in 0..<32 {
                let s = l / 16
                let h = b[qh + l]
                let q1 = Int((b[ql + l] & 0x0F) | ((h >> 0) & 3) << 4) - 32
                let q2 = Int((b[ql + l + 32] & 0x0F) | ((h >> 2) & 3) << 4) - 32
                let q3 = Int((b[ql + l] >> 4) | ((h >> 4) & 3) << 4) - 32
                let q4 = Int((b[ql + l + 32] >> 4) | ((h >> 6) & 3) << 4) - 32
                func scale(_ k: Int) -> Float { Float(Int8(bitPattern: b[sc + k])) }
                out[y + l] = d * scale(s) * Float(q1)
                out[y + l + 32] = d * scale(s + 2) * Float(q2)
                out[y + l + 64] = d * scale(s + 4) * Float(q3)
                out[y + l + 96] = d * scale(s + 6) * Float(q4)
            }
            y += 128
            ql += 64
            qh += 32
            sc += 8
        }
    }
}
