// The integer fast path for the K-quants (Q4_K, Q6_K: what a Q4_K_M file is mostly made of): activations quantised per
// 256 values as llama.cpp's Q8_K (scale −max/127 from the value of largest magnitude, round half to even, and the sum of
// every 16 quantised values), then `kiln_q8k_gemm_*`. Like the 32-block path its reference is llama.cpp.
import Foundation
import KilnKernels
import KilnTensor

/// Activation rows quantised as llama.cpp's Q8_K super-blocks.
struct Q8KActivations {
    /// rows × columns int8 values.
    var q: [Int8]
    /// rows × supers float32 scales (negative where the largest-magnitude value is positive, as ggml's).
    var d: [Float]
    /// rows × supers × 16 sums of 16 quantised values.
    var sums: [Int16]

    /// Quantises `rows` rows of `columns` (a multiple of 256) floats.
    init(_ x: UnsafePointer<Float>, rows: Int, columns: Int) {
        let supers = columns / 256
        q = [Int8](repeating: 0, count: rows * columns)
        d = [Float](repeating: 0, count: rows * supers)
        sums = [Int16](repeating: 0, count: rows * supers * 16)
        for block in 0..<(rows * supers) {
            let p = x + block * 256
            guard let inverse = Self.inverseScale(p) else { continue }
            for j in 0..<256 { q[block * 256 + j] = Int8(Self.quantise(p[j], inverse)) }
            for j in 0..<16 {
                var total = 0
                for i in 0..<16 { total += Int(q[block * 256 + j * 16 + i]) }
                sums[block * 16 + j] = Int16(total)
            }
            d[block] = 1 / inverse
        }
    }

    /// −127 over the super-block's value of largest magnitude (the first of equals), or nil when all 256 are zero.
    static func inverseScale(_ p: UnsafePointer<Float>) -> Float? {
        var largest: Float = 0, magnitude: Float = 0
        for j in 0..<256 where abs(p[j]) > magnitude {
            magnitude = abs(p[j])
            largest = p[j]
        }
        return magnitude > 0 ? -127 / largest : nil
    }

    /// One value's int8 level: x · inverse rounded half to even, at most 127.
    @inline(__always) static func quantise(_ x: Float, _ inverse: Float) -> Float {
        Swift.min(127, (inverse * x).rounded(.toNearestOrEven))
    }
}

/// Matrix products of Q4_K and Q6_K weights with Q8_K activations.
enum QuantizedIntegerK {
    /// The block types with K-quant integer kernels.
    static func supports(_ type: GGMLType) -> Bool { type == .q4_K || type == .q6_K }

    /// y (rows × weight.rows) = x Wᵀ, output rows split across the cores in 4-row tiles.
    static func forward(x: UnsafePointer<Float>, rows: Int, weight: QuantizedMatrix, base: UnsafeRawPointer,
                        y: UnsafeMutablePointer<Float>, dispatch: KernelDispatch = .current) {
        let activations = Q8KActivations(x, rows: rows, columns: weight.columns)
        let order = Int32(order(weight: weight, rows: rows).rawValue)
        let kernel: QuantizedInteger.Kernel<Int16> = dispatch.vnni
            ? { kiln_q8k_gemm_vnni($0, order, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) }
            : { kiln_q8k_gemm_avx2($0, order, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) }
        QuantizedInteger.launch(kernel, type: Int32(weight.type == .q4_K ? KILN_Q4_K : KILN_Q6_K), weight: weight, base: base,
                                rows: rows, q: activations.q, d: activations.d, third: activations.sums, thirdPerScale: 16, y: y)
    }

    /// The llama.cpp kernel whose float order a product follows (`KILN_K_*`).
    enum Order: Int {
        /// ggml_vec_dot_q4_K_q8_K / q6_K_q8_K, one output at a time: below 8 activation rows.
        case vecDot = 0
        /// ggml-cpu/tiled: 8 activation rows or more.
        case tiled = 1
        /// The CPU_REPACK buffer's q4_K_8x8 kernels, which take every Q4_K matrix of a multiple of 8 rows: its gemm for
        /// whole groups of 4 activation rows, its gemv for the rest.
        case repack = 2
    }

    /// Which kernel llama.cpp (0.3.36, x86, default model parameters) multiplies `rows` activation rows by `weight` with.
    static func order(weight: QuantizedMatrix, rows: Int) -> Order {
        if weight.type == .q4_K && weight.rows % 8 == 0 { return .repack }
        return rows >= 8 ? .tiled : .vecDot
    }

    /// The kernels' reference: each weight value as an integer with its integer sub-block scale (and minimum or −32
    /// offset), summed against the int8 activations in Int, scaled once per super-block.
    static func referenceGemm(weight: QuantizedMatrix, activations: Q8KActivations, rows: Int) -> [Float] {
        let supers = weight.columns / 256
        var y = [Float](repeating: 0, count: rows * weight.rows)
        weight.withBase { base in
            for t in 0..<rows {
                for r in 0..<weight.rows {
                    var total: Float = 0
                    for b in 0..<supers {
                        let block = base + r * weight.rowBytes + b * weight.type.typeSize
                        let (scaled, d, offset) = weight.type == .q4_K ? q4K(block) : q6K(block)
                        var sum = 0, minimum = 0
                        for i in 0..<256 {
                            let a = Int(activations.q[t * weight.columns + b * 256 + i])
                            sum += scaled[i] * a
                            minimum += offset[i] * a
                        }
                        let dx = activations.d[t * supers + b]
                        total += d.0 * dx * Float(sum) - d.1 * dx * Float(minimum)
                    }
                    y[t * weight.rows + r] = total
                }
            }
        }
        return y
    }

    /// The kernels' statement in llama.cpp's float order (`order`), one value at a time: what both forms of
    /// `kiln_q8k_gemm_*` must equal bit for bit.
    static func ggmlGemm(weight: QuantizedMatrix, activations: Q8KActivations, rows: Int, order: Order) -> [Float] {
        let supers = weight.columns / 256
        var y = [Float](repeating: 0, count: rows * weight.rows)
        weight.withBase { base in
            for t in 0..<rows {
                for r in 0..<weight.rows {
                    var lanes = [Float](repeating: 0, count: 8), lanesMin = [Float](repeating: 0, count: 4)
                    var whole: Float = 0, wholeMin: Float = 0
                    for b in 0..<supers {
                        let block = base + r * weight.rowBytes + b * weight.type.typeSize
                        let (scaled, (d, dmin), offset) = weight.type == .q4_K ? q4K(block) : q6K(block)
                        // Lane k of a 32-value run holds values 4k…4k+3; Q6_K's offset leaves lane i/32 (its madd of
                        // 16-value sums in pairs), Q4_K's minimums four lanes of 64 values.
                        var lane = [Int](repeating: 0, count: 8), pair = [Int](repeating: 0, count: 4)
                        var integer = 0, minimum = 0
                        for i in 0..<256 {
                            let a = Int(activations.q[t * weight.columns + b * 256 + i])
                            lane[(i % 32) / 4] += scaled[i] * a
                            integer += scaled[i] * a
                            if weight.type == .q6_K {
                                lane[i / 32] -= offset[i] * a
                                integer -= offset[i] * a
                            } else {
                                pair[i / 64] += offset[i] * a
                                minimum += offset[i] * a
                            }
                        }
                        let dx = activations.d[t * supers + b]
                        switch order {
                        case .vecDot:
                            for k in 0..<8 { lanes[k].addProduct(dx * d, Float(lane[k])) }
                            if weight.type == .q4_K { for k in 0..<4 { lanesMin[k].addProduct(-dx * dmin, Float(pair[k])) } }
                        case .repack where t < rows - rows % 4:
                            // The gemm of whole groups of 4 rows: one fma per 64 values.
                            for c in 0..<4 {
                                var part = 0
                                for i in (64 * c)..<(64 * c + 64) { part += scaled[i] * Int(activations.q[t * weight.columns + b * 256 + i]) }
                                whole.addProduct(Float(part), d * dx)
                                wholeMin.addProduct(Float(pair[c]), dmin * dx)
                            }
                        case .repack:
                            whole.addProduct(Float(integer), d * dx)
                            wholeMin.addProduct(Float(minimum), dmin * dx)
                        case .tiled:
                            var result = d * Float(integer)
                            if weight.type == .q4_K { result.addProduct(-dmin, Float(minimum)) }
                            whole.addProduct(result, dx)
                        }
                    }
                    if order == .vecDot {
                        let half = (0..<4).map { lanes[$0] + lanes[$0 + 4] }
                        y[t * weight.rows + r] = ((half[0] + half[2]) + (half[1] + half[3]))
                            + ((lanesMin[0] + lanesMin[2]) + (lanesMin[1] + lanesMin[3]))
                    } else {
                        y[t * weight.rows + r] = whole - wholeMin
                    }
                }
            }
        }
        return y
    }

    /// A Q4_K super-block as integers: value = d·scaled − dmin·offset.
    static func q4K(_ block: UnsafeRawPointer) -> ([Int], (Float, Float), [Int]) {
        let byte = { (i: Int) in Int(block.load(fromByteOffset: i, as: UInt8.self)) }
        var scaled = [Int](repeating: 0, count: 256), offset = [Int](repeating: 0, count: 256)
        for j in 0..<8 {
            let (scale, minimum) = j < 4
                ? (byte(4 + j) & 63, byte(8 + j) & 63)
                : ((byte(8 + j) & 0xF) | ((byte(j) >> 6) << 4), (byte(8 + j) >> 4) | ((byte(4 + j) >> 6) << 4))
            for i in 0..<32 {
                let packed = byte(16 + 32 * (j / 2) + i)
                scaled[32 * j + i] = scale * (j % 2 == 0 ? packed & 0xF : packed >> 4)
                offset[32 * j + i] = minimum
            }
        }
        let d = HalfFloat.f16ToF32(block.loadUnaligned(as: UInt16.self))
        let dmin = HalfFloat.f16ToF32(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        return (scaled, (d, dmin), offset)
    }

    /// A Q6_K super-block as integers: value = d·scaled − d·offset, with offset = 32·scale.
    static func q6K(_ block: UnsafeRawPointer) -> ([Int], (Float, Float), [Int]) {
        let byte = { (i: Int) in Int(block.load(fromByteOffset: i, as: UInt8.self)) }
        var scaled = [Int](repeating: 0, count: 256), offset = [Int](repeating: 0, count: 256)
        for i in 0..<256 {
            let (h, v) = (i / 128, i % 128)
            let (g, l) = (v / 32, v % 32)
            let low = byte(64 * h + 32 * (g & 1) + l)
            let nibble = g >= 2 ? low >> 4 : low & 0xF
            let value = nibble | (((byte(128 + 32 * h + l) >> (2 * g)) & 3) << 4)
            let scale = Int(block.load(fromByteOffset: 192 + i / 16, as: Int8.self))
            scaled[i] = scale * value
            offset[i] = scale * 32
        }
        let d = HalfFloat.f16ToF32(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
        return (scaled, (d, d), offset)
    }
}
