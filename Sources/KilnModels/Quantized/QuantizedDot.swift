// Dot products of one stored weight row with one Float32 row, widening the blocks in SIMD registers.
// Block layouts are ggml's (`ggml-common.h`); the values widened are exactly `GGUFQuant.dequantizeBlock`'s,
// only the order of the additions differs. Types without a fused kernel (the K-quants) widen each block
// into a small scratch buffer first.
import Foundation
import KilnTensor

/// Fused widen-and-dot kernels, one per block type.
enum QuantizedDot {
    typealias Lanes = SIMD16<Float>

    /// Floats of scratch a caller provides: one super-block.
    static let scratchCount = 256

    /// f16 bits → Float32 for all 65,536 patterns (256 KiB, as ggml's `ggml_table_f32_f16`): two lookups per
    /// block beat the branchy bit conversion in the inner loop.
    nonisolated(unsafe) static let halfTable: UnsafeMutablePointer<Float> = {
        let table = UnsafeMutablePointer<Float>.allocate(capacity: 65_536)
        for bits in 0..<65_536 { table[bits] = HalfFloat.f16ToF32(UInt16(bits)) }
        return table
    }()

    @inline(__always)
    static func half(_ table: UnsafeMutablePointer<Float>, _ p: UnsafeRawPointer) -> Float {
        table[Int(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))]
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }

    /// Σ widen(row)[i] · x[i] over `columns`; `blockSums` holds Σx per 32 columns (Q4_0/Q4_1 offsets).
    @inline(__always)
    static func dot(type: GGMLType, row: UnsafeRawPointer, x: UnsafePointer<Float>, columns: Int,
                    blockSums: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
        switch type {
        case .q4_1: q4_1(row, x, columns, blockSums)
        case .q4_0: q4_0(row, x, columns, blockSums)
        case .q8_0: q8_0(row, x, columns)
        case .bf16: bf16(row, x, columns)
        case .f16: f16(row, x, columns)
        case .f32: f32(row, x, columns)
        case .q5_0, .q5_1, .q4_K, .q6_K: widened(type, row, x, columns, scratch)
        }
    }

    /// Byte k of each 32-bit word to the low bits of lane 4w + k: a word-broadcast plus per-lane variable shift
    /// (AVX2 `vpsrlvd`), which compiles to a few vector instructions where a generic UInt8 → UInt32 widening
    /// is scalarised.
    static let byteShifts = SIMD16<UInt32>(0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24)
    /// 2²³ as a bit pattern: `bits(2²³ + v) = 0x4B000000 | v` for 0 ≤ v < 2²³, an exact int → float conversion.
    static let magic = SIMD16<UInt32>(repeating: 0x4B00_0000)

    /// Each of 16 bytes at `p` in its own 32-bit lane (unsigned).
    @inline(__always)
    static func bytes(_ p: UnsafeRawPointer) -> SIMD16<UInt32> {
        let w = p.loadUnaligned(as: SIMD4<UInt32>.self)
        let spread = SIMD16<UInt32>(w[0], w[0], w[0], w[0], w[1], w[1], w[1], w[1], w[2], w[2], w[2], w[2], w[3], w[3], w[3], w[3])
        return spread &>> byteShifts
    }

    /// 4-bit values (0…15, in the low bits of each lane) as floats, exactly.
    @inline(__always)
    static func nibbles(_ v: SIMD16<UInt32>) -> Lanes {
        unsafeBitCast((v & 0x0F) | magic, to: Lanes.self) - Lanes(repeating: 8_388_608)
    }

    /// Q4_1 (d, m, 16 nibble bytes): Σ (q·d + m)·x = Σ_blocks d·Σ q·x + m·Σx.
    static func q4_1(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int, _ sums: UnsafePointer<Float>) -> Float {
        let table = halfTable
        var acc = Lanes(repeating: 0)
        var offsets: Float = 0
        var p = row
        for b in 0..<(columns / 32) {
            let d = half(table, p), m = half(table, p + 2)
            let q = bytes(p + 4)
            let xb = x + b * 32
            let t = (nibbles(q) * load(xb)).addingProduct(nibbles(q &>> 4), load(xb + 16))
            acc = acc.addingProduct(t, Lanes(repeating: d))
            offsets += m * sums[b]
            p += 20
        }
        return acc.horizontalSum + offsets
    }

    /// Q4_0 (d, 16 nibble bytes, values q − 8): Σ d·(q − 8)·x = Σ_blocks d·(Σ q·x − 8·Σx).
    static func q4_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int, _ sums: UnsafePointer<Float>) -> Float {
        let table = halfTable
        var acc = Lanes(repeating: 0)
        var offsets: Float = 0
        var p = row
        for b in 0..<(columns / 32) {
            let d = half(table, p)
            let q = bytes(p + 2)
            let xb = x + b * 32
            let t = (nibbles(q) * load(xb)).addingProduct(nibbles(q &>> 4), load(xb + 16))
            acc = acc.addingProduct(t, Lanes(repeating: d))
            offsets -= 8 * d * sums[b]
            p += 18
        }
        return acc.horizontalSum + offsets
    }

    /// Q8_0 (d, 32 int8): Σ d·q·x.
    static func q8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        let table = halfTable
        var acc = Lanes(repeating: 0)
        var p = row
        for b in 0..<(columns / 32) {
            let d = half(table, p)
            let xb = x + b * 32
            // q + 128 = the byte with its top bit flipped, read as unsigned; widened exactly by the 2²³ trick.
            let offset = Lanes(repeating: 8_388_608 + 128)
            let low = unsafeBitCast(((bytes(p + 2) & 0xFF) ^ 0x80) | magic, to: Lanes.self) - offset
            let high = unsafeBitCast(((bytes(p + 18) & 0xFF) ^ 0x80) | magic, to: Lanes.self) - offset
            let t = (low * load(xb)).addingProduct(high, load(xb + 16))
            acc = acc.addingProduct(t, Lanes(repeating: d))
            p += 34
        }
        return acc.horizontalSum
    }

    /// bfloat16: the bits are the top half of a Float32; pairs of values share a 32-bit word.
    static func bf16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        let shifts = SIMD16<UInt32>(16, 0, 16, 0, 16, 0, 16, 0, 16, 0, 16, 0, 16, 0, 16, 0)
        let top = SIMD16<UInt32>(repeating: 0xFFFF_0000)
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + 16 <= columns {
            let w = (row + 2 * i).loadUnaligned(as: SIMD8<UInt32>.self)
            let spread = SIMD16<UInt32>(w[0], w[0], w[1], w[1], w[2], w[2], w[3], w[3], w[4], w[4], w[5], w[5], w[6], w[6], w[7], w[7])
            acc = acc.addingProduct(unsafeBitCast((spread &<< shifts) & top, to: Lanes.self), load(x + i))
            i += 16
        }
        var total = acc.horizontalSum
        while i < columns {
            total += HalfFloat.bf16ToF32(UInt16(littleEndian: (row + 2 * i).loadUnaligned(as: UInt16.self))) * x[i]
            i += 1
        }
        return total
    }

    /// bfloat16 against x already split per 32 columns into [16 even, 16 odd] (`pairSplit`): each 32-bit word
    /// holds an even value in its low half and an odd one in its high half, so two masks widen 32 values without
    /// any lane shuffling.
    static func bf16Paired(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        let top = SIMD16<UInt32>(repeating: 0xFFFF_0000)
        var even = Lanes(repeating: 0), odd = Lanes(repeating: 0)
        var i = 0
        while i + 32 <= columns {
            let w = (row + 2 * i).loadUnaligned(as: SIMD16<UInt32>.self)
            even = even.addingProduct(unsafeBitCast(w &<< 16, to: Lanes.self), load(x + i))
            odd = odd.addingProduct(unsafeBitCast(w & top, to: Lanes.self), load(x + i + 16))
            i += 32
        }
        return (even + odd).horizontalSum
    }

    /// x (columns a multiple of 32) reordered per 32 into its 16 even- then 16 odd-indexed values, for `bf16Paired`.
    static func pairSplit(_ x: UnsafePointer<Float>, _ columns: Int, into out: UnsafeMutablePointer<Float>) {
        for base in stride(from: 0, to: columns, by: 32) {
            for j in 0..<16 {
                out[base + j] = x[base + 2 * j]
                out[base + 16 + j] = x[base + 2 * j + 1]
            }
        }
    }

    /// float16 through the lookup table.
    static func f16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        let table = halfTable
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + 16 <= columns {
            var w = Lanes()
            for lane in 0..<16 { w[lane] = half(table, row + 2 * (i + lane)) }
            acc = acc.addingProduct(w, load(x + i))
            i += 16
        }
        var total = acc.horizontalSum
        while i < columns {
            total += half(table, row + 2 * i) * x[i]
            i += 1
        }
        return total
    }

    /// float32 rows (unaligned in the file, so loaded lane by lane).
    static func f32(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int) -> Float {
        var acc = Lanes(repeating: 0)
        var i = 0
        while i + 16 <= columns {
            acc = acc.addingProduct((row + 4 * i).loadUnaligned(as: Lanes.self), load(x + i))
            i += 16
        }
        var total = acc.horizontalSum
        while i < columns {
            total += (row + 4 * i).loadUnaligned(as: Float.self) * x[i]
            i += 1
        }
        return total
    }

    /// Any block type: widen one block into `scratch`, then a SIMD dot.
    static func widened(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ columns: Int,
                        _ scratch: UnsafeMutablePointer<Float>) -> Float {
        var acc = Lanes(repeating: 0)
        var p = row
        let size = type.blockSize
        var start = 0
        while start < columns {
            GGUFQuant.dequantizeBlock(type: type, bytes: UnsafeRawBufferPointer(start: p, count: type.typeSize),
                                      into: UnsafeMutableBufferPointer(start: scratch, count: size))
            var i = 0
            while i + 16 <= size {
                acc = acc.addingProduct(load(scratch + i), load(x + start + i))
                i += 16
            }
            p += type.typeSize
            start += size
        }
        return acc.horizontalSum
    }
}
