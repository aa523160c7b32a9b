// The fast path of quantised matrix products, llama.cpp's arithmetic: the activations are quantised on the fly to
// int8 blocks of 32 with a float16 scale (ggml's Q8_0/Q8_1, rounded as its AVX2 quantiser rounds), and each weight
// block meets its activation block in an exact integer dot product scaled once. Its reference is llama.cpp, not
// transformers: results differ from the dequantised float product by the activations' rounding (about 1e-3 relative),
// which is why the exact path stays for fixtures and `--exact`.
import Foundation
import KilnKernels
import KilnTensor

/// How products with quantised weights are computed.
public enum QuantizedArithmetic: Sendable {
    /// Weights widened to float32 and multiplied in float32: equal to transformers' dequantised model within float rounding.
    case exact
    /// The CPU's narrow arithmetic: for block types, activations quantised to int8 blocks and integer dot products, as
    /// llama.cpp (within ~1e-2 of it in logits); for bf16 weights, activations rounded to bf16 and bf16 dot products, as
    /// PyTorch's bf16 models (where the CPU has AVX-512 BF16).
    case fast

    /// What matrices loaded in this task use (`exact` unless a loader for serving asks otherwise).
    @TaskLocal public static var loading: QuantizedArithmetic = .exact
}

/// Activation rows quantised to int8 blocks of 32.
struct Q8Activations {
    /// rows × columns int8 values.
    var q: [Int8]
    /// rows × blocks scales, rounded to float16 as llama.cpp stores them.
    var d: [Float]
    /// rows × blocks of scale × Σ q: Q4_1's and Q5_1's offset term (float16-rounded from the float32 scale, llama.cpp's
    /// Q8_1 `s`); for the other types the float16 scale times the integer sum (their kernels fold the offset into the
    /// integers and do not read it).
    var s: [Float]

    /// Quantises `rows` rows of `columns` (a multiple of 32) floats for weights of `type`.
    init(_ x: UnsafePointer<Float>, rows: Int, columns: Int, type: GGMLType) {
        let blocks = columns / 32
        q = [Int8](repeating: 0, count: rows * columns)
        d = [Float](repeating: 0, count: rows * blocks)
        s = [Float](repeating: 0, count: rows * blocks)
        let halfSum = type == .q4_1 || type == .q5_1
        q.withUnsafeMutableBufferPointer { qp in
            for block in 0..<(rows * blocks) {
                let (a, b, scale) = Self.quantise(x + block * 32)
                UnsafeMutableRawPointer(qp.baseAddress! + block * 32).storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: a), as: SIMD16<Int8>.self)
                UnsafeMutableRawPointer(qp.baseAddress! + block * 32 + 16).storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: b), as: SIMD16<Int8>.self)
                let sum = Float((a &+ b).wrappedSum())
                let rounded = Float(Float16(scale))
                d[block] = rounded
                s[block] = halfSum ? Float(Float16(scale * sum)) : rounded * sum
            }
        }
    }

    /// One 32-value block as llama.cpp's AVX2 quantiser does it: the two halves' int8 values (x·127/amax rounded half to
    /// even) and the float32 scale amax/127 (stored rounded to float16).
    @inline(__always) static func quantise(_ p: UnsafePointer<Float>) -> (SIMD16<Int32>, SIMD16<Int32>, scale: Float) {
        let v = (UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self), UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self))
        let amax = Swift.max(magnitude(v.0).max(), magnitude(v.1).max())
        let inverse: Float = amax != 0 ? 127 / amax : 0
        return (rounded(v.0 * inverse), rounded(v.1 * inverse), amax / 127)
    }

    /// Each value (|v| < 2²²) rounded half to even to an integer: adding 1.5·2²³ leaves the rounded integer in the low
    /// mantissa bits (ggml's `nearest_int`), where the generic SIMD conversion would go lane by lane.
    @inline(__always) static func rounded(_ v: SIMD16<Float>) -> SIMD16<Int32> {
        unsafeBitCast(v + SIMD16<Float>(repeating: 12_582_912), to: SIMD16<Int32>.self) &- 0x4B40_0000
    }

    @inline(__always) static func magnitude(_ v: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    }
}

/// Matrix products of Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 weights with int8-quantised activations.
enum QuantizedInteger {
    /// x rows as the integer kernels see them: each value replaced by its quantised block value (scale × int8, per 32
    /// for the Q4/Q5/Q8 types as `Q8Activations` rounds them, per 256 as Q8_K for the K-quants). Prefill multiplies
    /// these in float32 against the widened weights, which is llama.cpp's arithmetic up to float summation order, at
    /// float sgemm speed.
    static func roundTrip(_ x: UnsafePointer<Float>, rows: Int, columns: Int, type: GGMLType) -> [Float] {
        let count = rows * columns
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            nonisolated(unsafe) let out = out.baseAddress!
            let blockSize = QuantizedIntegerK.supports(type) ? 256 : 32
            let wide = KernelDispatch.current.avx512
            Parallel.rows(count / blockSize, minimumPerTask: 256) { blocks in
                let (start, n) = (x + blocks.lowerBound * blockSize, blocks.count)
                if wide && blockSize == 32 {
                    kiln_q8_0_round_trip_avx512(start, n, out + blocks.lowerBound * 32)
                } else if wide {
                    kiln_q8_k_round_trip_avx512(start, n, out + blocks.lowerBound * 256)
                } else {
                    for block in blocks {
                        if blockSize == 32 { roundTrip32(x + block * 32, into: out + block * 32) } else { roundTrip256(x + block * 256, into: out + block * 256) }
                    }
                }
            }
            initialized = count
        }
    }

    /// One 32-block: scale amax/127 rounded to float16, values x·127/amax rounded half to even (as `Q8Activations`).
    @inline(__always) static func roundTrip32(_ p: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let (a, b, scale) = Q8Activations.quantise(p)
        let stored = Float(Float16(scale))
        UnsafeMutableRawPointer(out).storeBytes(of: SIMD16<Float>(a) * stored, as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(out + 16).storeBytes(of: SIMD16<Float>(b) * stored, as: SIMD16<Float>.self)
    }

    /// One Q8_K super-block: scale −max/127 from the largest-magnitude value, rounded half to even, at most 127 (as
    /// `Q8KActivations`).
    static func roundTrip256(_ p: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        guard let inverse = Q8KActivations.inverseScale(p) else {
            out.update(repeating: 0, count: 256)
            return
        }
        let d = 1 / inverse
        for j in 0..<256 { out[j] = d * Q8KActivations.quantise(p[j], inverse) }
    }

    /// The block types with integer kernels.
    static func supports(_ type: GGMLType) -> Bool { [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0].contains(type) }

    /// The kernels' code for `type`.
    static func code(_ type: GGMLType) -> Int32 {
        switch type {
        case .q4_0: Int32(KILN_Q4_0)
        case .q4_1: Int32(KILN_Q4_1)
        case .q5_0: Int32(KILN_Q5_0)
        case .q5_1: Int32(KILN_Q5_1)
        default: Int32(KILN_Q8_0)
        }
    }

    /// Activation rows per kernel call: 64 rows of a 1,536-wide x are 96 KiB of int8, which stay in L2 beside the
    /// weight tile.
    static let rowChunk = 64

    /// y (rows × weight.rows) = x Wᵀ with x quantised per block, output rows split across the cores.
    static func forward(x: UnsafePointer<Float>, rows: Int, weight: QuantizedMatrix, base: UnsafeRawPointer,
                        y: UnsafeMutablePointer<Float>, dispatch: KernelDispatch = .current) {
        let activations = Q8Activations(x, rows: rows, columns: weight.columns, type: weight.type)
        launch(dispatch.vnni ? kiln_q8_gemm_vnni : kiln_q8_gemm_avx2, type: code(weight.type), weight: weight, base: base,
               rows: rows, q: activations.q, d: activations.d, third: activations.s, thirdPerScale: 1, y: y)
    }

    /// The C entry point of an integer kernel form; `S` is the element of its third activation array (Q8's block sums,
    /// Q8_K's sums of 16).
    typealias Kernel<S> = (Int32, UnsafeRawPointer?, Int, Int32, UnsafePointer<Int8>?, UnsafePointer<Float>?,
                           UnsafePointer<S>?, Int32, Int32, UnsafeMutablePointer<Float>?, Int) -> Void

    /// Runs `kernel` over every (4-row weight tile, activation chunk) of y = x Wᵀ (`split`): activations as int8 `q`, one
    /// scale in `d` per block of the weight type, and `thirdPerScale` values of `third` per scale.
    static func launch<S>(_ kernel: Kernel<S>, type: Int32, weight: QuantizedMatrix, base: UnsafeRawPointer, rows: Int,
                          q: [Int8], d: [Float], third: [S], thirdPerScale: Int, y: UnsafeMutablePointer<Float>) {
        let (columns, outer, rowBytes) = (weight.columns, weight.rows, weight.rowBytes)
        let scales = columns / weight.type.blockSize
        nonisolated(unsafe) let (base, y) = (base, y)
        q.withUnsafeBufferPointer { q in
            d.withUnsafeBufferPointer { d in
                third.withUnsafeBufferPointer { third in
                    nonisolated(unsafe) let (q, d, third) = (q.baseAddress!, d.baseAddress!, third.baseAddress!)
                    split(outer: outer, rows: rows) { first, count, start, chunk in
                        let w = base + first * rowBytes, out = y + start * outer + first
                        let (qt, dt, tt) = (q + start * columns, d + start * scales, third + start * scales * thirdPerScale)
                        kernel(type, w, rowBytes, Int32(count), qt, dt, tt, Int32(chunk), Int32(scales), out, outer)
                    }
                }
            }
        }
    }

    /// Calls `body(first, count, start, chunk)` for weight rows first..<first+count (whole 4-row tiles, split across the
    /// cores) and activation rows start..<start+chunk (`rowChunk` at a time), covering all `outer` × `rows` outputs.
    static func split(outer: Int, rows: Int, _ body: (Int, Int, Int, Int) -> Void) {
        // Chunks of 64 weight rows (eight passes of the single-row kernel), each core walking its own share so the
        // kernels' prefetches ahead stay on rows it reads next.
        Parallel.streamRows(outer / 4 + (outer % 4 == 0 ? 0 : 1), chunk: 16) { tiles in
            let first = tiles.lowerBound * 4, count = min(tiles.upperBound * 4, outer) - first
            var start = 0
            while start < rows {
                let chunk = min(rowChunk, rows - start)
                body(first, count, start, chunk)
                start += chunk
            }
        }
    }

    /// The kernels' reference: the same integer block dot products and scalings, one value at a time.
    static func referenceGemm(weight: QuantizedMatrix, activations: Q8Activations, rows: Int) -> [Float] {
        let blocks = weight.columns / 32
        var y = [Float](repeating: 0, count: rows * weight.rows)
        weight.withBase { base in
            for t in 0..<rows {
                for r in 0..<weight.rows {
                    var total: Float = 0
                    for b in 0..<blocks {
                        let block = base + r * weight.rowBytes + b * weight.type.typeSize
                        let dw = HalfFloat.f16ToF32(block.loadUnaligned(as: UInt16.self))
                        let dx = activations.d[t * blocks + b], sx = activations.s[t * blocks + b]
                        var sum: Int32 = 0
                        for i in 0..<32 {
                            let a = Int32(activations.q[t * weight.columns + b * 32 + i])
                            let w: Int32
                            switch weight.type {
                            case .q8_0: w = Int32(block.load(fromByteOffset: 2 + i, as: Int8.self))
                            case .q5_0, .q5_1:
                                let one = weight.type == .q5_1 ? 2 : 0
                                let packed = block.load(fromByteOffset: 6 + one + i % 16, as: UInt8.self)
                                let bits = block.loadUnaligned(fromByteOffset: 2 + one, as: UInt32.self)
                                w = (Int32(i < 16 ? packed & 0x0F : packed >> 4) | Int32((bits >> i) & 1) << 4) - (one == 0 ? 16 : 0)
                            default:
                                let packed = block.load(fromByteOffset: (weight.type == .q4_1 ? 4 : 2) + i % 16, as: UInt8.self)
                                w = Int32(i < 16 ? packed & 0x0F : packed >> 4) - (weight.type == .q4_0 ? 8 : 0)
                            }
                            sum += w * a
                        }
                        total += dw * dx * Float(sum)
                        switch weight.type {
                        case .q4_1, .q5_1: total += HalfFloat.f16ToF32((block + 2).loadUnaligned(as: UInt16.self)) * sx
                        default: break
                        }
                    }
                    y[t * weight.rows + r] = total
                }
            }
        }
        return y
    }
}
