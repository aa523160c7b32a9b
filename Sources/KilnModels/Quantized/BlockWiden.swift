// Widening Q4_0, Q4_1 and Q8_0 blocks sixteen values at a time, for the decode-batch product that widens every weight
// once per step: the values are exactly `GGUFQuant.dequantizeBlock`'s (each a product, then a sum, never fused), only
// computed in SIMD registers instead of one byte at a time.
import Foundation
import KilnKernels
import KilnTensor

/// Vector widening of the common block types.
enum BlockWiden {
    typealias Lanes = QuantizedDot.Lanes

    @inline(__always) static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }

    /// Widens `blocks` consecutive blocks at `p` into `out` (32 floats each); false for a type this does not cover.
    /// KilnKernels' AVX-512 form runs where the CPU allows, these lanes elsewhere.
    static func widen(_ type: GGMLType, _ p: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
        if KernelDispatch.current.avx512, let code = kernelCode(type) { return kiln_widen_blocks_avx512(code, p, blocks, out) != 0 }
        return widenLanes(type, p, blocks: blocks, into: out)
    }

    /// The KilnKernels code of the types `kiln_widen_blocks_avx512` covers.
    static func kernelCode(_ type: GGMLType) -> Int32? {
        switch type {
        case .q4_0: Int32(KILN_Q4_0)
        case .q4_1: Int32(KILN_Q4_1)
        case .q8_0: Int32(KILN_Q8_0)
        default: nil
        }
    }

    /// `widen` in Swift's SIMD lanes: the AVX2 path and the kernel's reference.
    static func widenLanes(_ type: GGMLType, _ p: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
        let table = QuantizedDot.halfTable
        var (p, o) = (p, out)
        switch type {
        case .q4_1:
            for _ in 0..<blocks {
                let d = Lanes(repeating: QuantizedDot.half(table, p)), m = Lanes(repeating: QuantizedDot.half(table, p + 2))
                let q = QuantizedDot.bytes(p + 4)
                store(QuantizedDot.nibbles(q) * d + m, o)
                store(QuantizedDot.nibbles(q &>> 4) * d + m, o + 16)
                (p, o) = (p + 20, o + 32)
            }
        case .q4_0:
            let eight = Lanes(repeating: 8)
            for _ in 0..<blocks {
                let d = Lanes(repeating: QuantizedDot.half(table, p))
                let q = QuantizedDot.bytes(p + 2)
                store((QuantizedDot.nibbles(q) - eight) * d, o)
                store((QuantizedDot.nibbles(q &>> 4) - eight) * d, o + 16)
                (p, o) = (p + 18, o + 32)
            }
        case .q8_0:
            // q + 128 = the byte with its top bit flipped, read as unsigned; widened exactly by the 2²³ trick.
            let offset = Lanes(repeating: 8_388_608 + 128)
            for _ in 0..<blocks {
                let d = Lanes(repeating: QuantizedDot.half(table, p))
                let low = unsafeBitCast(((QuantizedDot.bytes(p + 2) & 0xFF) ^ 0x80) | QuantizedDot.magic, to: Lanes.self) - offset
                let high = unsafeBitCast(((QuantizedDot.bytes(p + 18) & 0xFF) ^ 0x80) | QuantizedDot.magic, to: Lanes.self) - offset
                store(low * d, o)
                store(high * d, o + 16)
                (p, o) = (p + 34, o + 32)
            }
        default:
            return false
        }
        return true
    }
}
