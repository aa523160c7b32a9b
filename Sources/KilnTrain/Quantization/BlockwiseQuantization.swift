// bitsandbytes' 8-bit blockwise quantisation with its dynamic code map: how QLoRA's double quantisation stores the
// NF4 block scales (`quantize_blockwise(absmax − mean, blocksize=256)` over `create_dynamic_map(signed=True)`).

/// Values quantised to 8-bit codes of the signed dynamic map, one F32 absmax per block.
public struct BlockwiseQuantization: Sendable, Equatable {
    /// One code per value (empty once the codes are kept elsewhere).
    public let codes: [UInt8]
    /// The largest magnitude of each block.
    public let absmax: [Float]
    /// Values per block.
    public let blockSize: Int

    /// The 256-entry signed dynamic map (`bitsandbytes.functional.create_dynamic_map(signed=True)`): for each of 7
    /// decades 10⁻⁶…10⁰, the midpoints of an even split of [0.1, 1] scaled by the decade, both signs, plus 0 and 1, sorted.
    public static let dynamicMap: [Float] = {
        var values: [Float] = []
        let exponentBits = 7, nonSignBits = 7
        for decade in 0..<exponentBits {
            let items = (1 << (decade + nonSignBits - exponentBits)) + 1
            // torch.linspace(0.1, 1, items) and its midpoints in float32; a Python float times a float32 tensor stays float32.
            let boundaries = linspace(0.1, 1, items)
            let scale = Float(pow10(decade - (exponentBits - 1)))
            for index in 0..<(items - 1) {
                let middle = (boundaries[index] + boundaries[index + 1]) / 2
                values.append(scale * middle)
                values.append(-scale * middle)
            }
        }
        values.append(0)
        values.append(1)
        while values.count < 256 { values.append(0) }
        return values.sorted()
    }()

    /// Quantises `values` in blocks of `blockSize`: per block its absmax, per value the nearest map entry to `value / absmax`.
    public init(quantizing values: [Float], blockSize: Int) {
        self.blockSize = blockSize
        let blocks = (values.count + blockSize - 1) / blockSize
        var absmax = [Float](repeating: 0, count: blocks)
        var codes = [UInt8](repeating: 0, count: values.count)
        for block in 0..<blocks {
            let range = (block * blockSize)..<min(values.count, (block + 1) * blockSize)
            let largest = values[range].reduce(Float(0)) { max($0, abs($1)) }
            absmax[block] = largest
            // bitsandbytes scales by the reciprocal and clamps to [-1, 1] before the nearest-code search.
            let reciprocal = 1 / largest
            for index in range {
                codes[index] = Self.nearest(min(max(values[index] * reciprocal, -1), 1))
            }
        }
        self.codes = codes
        self.absmax = absmax
    }

    private init(codes: [UInt8], absmax: [Float], blockSize: Int) {
        self.codes = codes
        self.absmax = absmax
        self.blockSize = blockSize
    }

    /// The same state without its codes, for when the codes are stored beside it.
    var withoutCodes: BlockwiseQuantization {
        BlockwiseQuantization(codes: [], absmax: absmax, blockSize: blockSize)
    }

    /// The value a code at position `index` stands for: `map[code] × absmax[index / blockSize]`.
    public func value(code: UInt8, at index: Int) -> Float {
        Self.dynamicMap[Int(code)] * absmax[index / blockSize]
    }

    /// The index of the nearest map entry (the first on a tie, as argmin picks it).
    static func nearest(_ x: Float) -> UInt8 {
        let map = dynamicMap
        var best = 0
        var distance = abs(x - map[0])
        for index in 1..<map.count {
            let candidate = abs(x - map[index])
            if candidate < distance {
                best = index
                distance = candidate
            }
        }
        return UInt8(best)
    }

    /// torch.linspace(start, end, steps) in float32 as its CPU kernel computes it: `start + i × step` for the first half and
    /// `end − (steps − 1 − i) × step` for the rest, each a fused multiply-add (the kernel is compiled with FMA contraction).
    static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return [start] }
        let step = (end - start) / Float(steps - 1)
        let half = steps / 2
        return (0..<steps).map { index in
            index < half ? start.addingProduct(step, Float(index)) : end.addingProduct(-step, Float(steps - 1 - index))
        }
    }

    /// 10^exponent as Python's `10 ** exponent` gives it (exact for the decades used here).
    static func pow10(_ exponent: Int) -> Double {
        exponent >= 0 ? (0..<exponent).reduce(1.0) { result, _ in result * 10 } : 1 / (0..<(-exponent)).reduce(1.0) { result, _ in result * 10 }
    }
}
