// 4-bit NormalFloat (NF4) weights exactly as bitsandbytes stores them, for QLoRA (Dettmers et al. 2023, §3).
//
// A weight matrix is flattened row-major and cut into 64-value blocks. Each block keeps its largest magnitude
// (`absmax`) and, per value, the index of the nearest of 16 code values to `w / absmax`; two indices share a
// byte, the earlier one in the high nibble. With double quantisation the absmax values themselves are stored
// as 8-bit codes of a second, 256-block quantisation (see `BlockwiseQuantization`).

/// The NF4 code book, bitsandbytes' `NF4` data type: quantiles of N(0, 1) scaled to [-1, 1], with an exact zero.
public enum NF4 {
    /// The 16 code values in index order.
    public static let codebook: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
        -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ]

    /// The index of the code value nearest to `x` (the first on a tie), as bitsandbytes' `argmin(|x − code|)` picks it.
    @inline(__always)
    static func nearest(_ x: Float) -> UInt8 {
        var best = 0
        var distance = abs(x - codebook[0])
        for index in 1..<16 {
            let candidate = abs(x - codebook[index])
            if candidate < distance {
                best = index
                distance = candidate
            }
        }
        return UInt8(best)
    }
}

/// A matrix of NF4 weights: packed 4-bit codes and per-block scales, plain or double-quantised.
public struct NF4Matrix: Sendable, Equatable {
    /// The per-block scales: plain F32, or 8-bit codes of a second quantisation (double quantisation).
    public enum Scales: Sendable, Equatable {
        /// One F32 absmax per block.
        case plain([Float])
        /// `absmax[i] = code[codes[i]] × state.absmax[i / 256] + offset` (bitsandbytes' `compress_statistics=True`).
        case double(codes: [UInt8], offset: Float, state: BlockwiseQuantization)
    }

    /// Rows (output features) and columns (input features).
    public let rows: Int
    public let columns: Int
    /// Values per block (64, as QLoRA uses).
    public let blockSize: Int
    /// Two 4-bit codes per byte, row-major, element 2i in the high nibble.
    public let packed: [UInt8]
    /// The block scales.
    public let scales: Scales

    /// Quantises a row-major `rows × columns` matrix as `bitsandbytes.functional.quantize_4bit(W, blocksize, quant_type="nf4",
    /// compress_statistics: doubleQuantization)` does.
    /// - Precondition: `weights.count == rows × columns`, an even count that `blockSize` divides.
    public init(quantizing weights: [Float], rows: Int, columns: Int, blockSize: Int = 64, doubleQuantization: Bool = false) {
        precondition(weights.count == rows * columns && weights.count % blockSize == 0 && blockSize % 2 == 0,
                     "NF4 needs rows × columns values in whole blocks of an even size")
        self.rows = rows
        self.columns = columns
        self.blockSize = blockSize
        let blocks = weights.count / blockSize
        var absmax = [Float](repeating: 0, count: blocks)
        var packed = [UInt8](repeating: 0, count: weights.count / 2)
        weights.withUnsafeBufferPointer { w in
            for block in 0..<blocks {
                let start = block * blockSize
                var largest: Float = 0
                for index in start..<(start + blockSize) { largest = max(largest, abs(w[index])) }
                absmax[block] = largest
                for index in stride(from: start, to: start + blockSize, by: 2) {
                    // w / absmax in float32, as the reference divides; a zero block divides to NaN and takes code 0 like argmin does.
                    let high = NF4.nearest(w[index] / largest)
                    let low = NF4.nearest(w[index + 1] / largest)
                    packed[index / 2] = high << 4 | low
                }
            }
        }
        self.packed = packed
        if doubleQuantization {
            let offset = Self.mean(absmax)
            let state = BlockwiseQuantization(quantizing: absmax.map { $0 - offset }, blockSize: 256)
            scales = .double(codes: state.codes, offset: offset, state: state.withoutCodes)
        } else {
            scales = .plain(absmax)
        }
    }

    /// The absmax each block is scaled by (for double quantisation, the dequantised one).
    public var absmax: [Float] {
        switch scales {
        case .plain(let absmax):
            return absmax
        case .double(let codes, let offset, let state):
            return codes.indices.map { state.value(code: codes[$0], at: $0) + offset }
        }
    }

    /// The weights back as F32, row-major: `code[nibble] × absmax[block]`, as `dequantize_4bit` computes them.
    public func dequantized() -> [Float] {
        let scale = absmax
        var out = [Float](repeating: 0, count: rows * columns)
        for index in 0..<packed.count {
            let byte = packed[index]
            let block = 2 * index / blockSize
            out[2 * index] = NF4.codebook[Int(byte >> 4)] * scale[block]
            out[2 * index + 1] = NF4.codebook[Int(byte & 0x0F)] * scale[block]
        }
        return out
    }

    /// Widens rows `range` into `out` (range.count × columns floats), as `dequantized` computes each value.
    public func dequantizeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let first = range.lowerBound * columns, count = range.count * columns
        guard count > 0 else { return }
        let firstBlock = first / blockSize, lastBlock = (first + count - 1) / blockSize
        let scale: [Float] = switch scales {
        case .plain(let absmax): Array(absmax[firstBlock...lastBlock])
        case .double(let codes, let offset, let state): (firstBlock...lastBlock).map { state.value(code: codes[$0], at: $0) + offset }
        }
        packed.withUnsafeBufferPointer { bytes in
            NF4.codebook.withUnsafeBufferPointer { code in
                for index in first..<(first + count) {
                    let byte = bytes[index / 2]
                    let nibble = index & 1 == 0 ? byte >> 4 : byte & 0x0F
                    out[index - first] = code[Int(nibble)] * scale[index / blockSize - firstBlock]
                }
            }
        }
    }

    /// Bytes the codes and scales occupy.
    public var byteCount: Int {
        switch scales {
        case .plain(let absmax): packed.count + absmax.count * 4
        case .double(let codes, _, _): packed.count + codes.count + 4 + (codes.count + 255) / 256 * 4
        }
    }

    /// The float32 mean bitsandbytes subtracts before double quantisation (`absmax.mean()`): summed in four interleaved
    /// float32 accumulators, then the tail, as torch's reduction does for these lengths (it matches bitsandbytes' offsets
    /// bit for bit on the fixture matrices), then divided by the count.
    static func mean(_ values: [Float]) -> Float {
        var lanes: [Float] = [0, 0, 0, 0]
        let whole = values.count / 4 * 4
        for index in 0..<whole { lanes[index % 4] += values[index] }
        var total: Float = 0
        for lane in lanes { total += lane }
        for index in whole..<values.count { total += values[index] }
        return total / Float(values.count)
    }
}
