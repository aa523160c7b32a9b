// Several stored weights against the same x: a layer's q, k and v, or its gate and up. A decoding step of an exact bf16
// model is some two hundred products of a few hundred KB each, and every product pays the cores' hand-off, the ramp of
// its prefetches and the wait at its last chunk; one hand-out over the rows of all the weights of a group pays them once.
// Each output is the same sum in the same order as the weight's own `forward`, so sharing never changes a result.
import Foundation
import KilnKernels
import KilnTensor

extension QuantizedMatMul {
    /// One weight of a shared decode product: its shape, where its blocks start and where its (x rows, outer) outputs
    /// go. Plain values only: the cores copy parts at every chunk, and a held `QuantizedMatrix` would cost a retain
    /// and a release each time (7% of a bf16 decoding step once).
    struct DecodePart: @unchecked Sendable {
        let outer: Int
        let columns: Int
        let rowBytes: Int
        let base: UnsafeRawPointer
        let y: UnsafeMutablePointer<Float>

        /// The part of `weight`, stored at `base`, writing `y`.
        init(_ weight: QuantizedMatrix, base: UnsafeRawPointer, y: UnsafeMutablePointer<Float>) {
            (outer, columns, rowBytes, self.base, self.y) = (weight.rows, weight.columns, weight.rowBytes, base, y)
        }
    }

    /// `forward` of each weight against the same x, biases added: exact bf16 weights decoding (at most `fusedRowLimit`
    /// rows of x) share one split of x and one hand-out of rows; any other group runs as separate products.
    public static func forward(_ x: Tensor, sharing weights: [QuantizedMatrix], biases: [Tensor?]) -> [Tensor] {
        precondition(weights.count == biases.count, "\(weights.count) weights but \(biases.count) biases")
        let inner = x.shape.last ?? 0
        let rows = inner == 0 ? 0 : x.count / inner
        guard weights.count > 1, (1...fusedRowLimit).contains(rows),
              weights.allSatisfy({ sharesBF16Decode($0, columns: inner) }) else {
            return zip(weights, biases).map { forward(x, weight: $0, bias: $1) }
        }
        let outers = weights.map(\.rows)
        var joined = [Float](repeating: 0, count: rows * outers.reduce(0, +))
        x.withPointer { xp in
            joined.withUnsafeMutableBufferPointer { out in
                withBases(weights) { bases in
                    var offset = 0
                    let parts = weights.indices.map { i in
                        defer { offset += rows * outers[i] }
                        return DecodePart(weights[i], base: bases[i], y: out.baseAddress! + offset)
                    }
                    bf16Decode(x: xp, rows: rows, parts: parts)
                }
            }
        }
        return MatMul.splitOutputs(joined, rows: rows, leading: Array(x.shape.dropLast()), outers: outers, biases: biases)
    }

    /// Whether `weight` takes the exact bf16 decode product against x rows of `columns` values.
    static func sharesBF16Decode(_ weight: QuantizedMatrix, columns: Int) -> Bool {
        weight.type == .bf16 && weight.columns == columns && columns % 32 == 0 && !BF16MatMul.applies(to: weight)
    }

    /// y = x Wᵀ for every part, x (rows, columns) with columns a multiple of 32, W widened from bf16 exactly in
    /// registers: x is split per 32 columns once, and the cores walk the rows of all parts as one run of chunks.
    static func bf16Decode(x: UnsafePointer<Float>, rows: Int, parts: [DecodePart]) {
        guard let columns = parts.first?.columns else { return }
        var split = [Float](repeating: 0, count: rows * columns)
        split.withUnsafeMutableBufferPointer { buffer in
            for n in 0..<rows { QuantizedDot.pairSplit(x + n * columns, columns, into: buffer.baseAddress! + n * columns) }
            nonisolated(unsafe) let xs = UnsafePointer(buffer.baseAddress!)
            parts.withUnsafeBufferPointer { parts in
                Parallel.streamRows(parts: parts.map(\.outer), chunk: MatMul.decodeChunk) {
                    bf16DecodeRows(xs, rows: rows, part: parts[$0], $1)
                }
            }
        }
    }

    /// Rows `range` of one part of `bf16Decode`, x already split.
    @inline(__always)
    static func bf16DecodeRows(_ xs: UnsafePointer<Float>, rows: Int, part: DecodePart, _ range: Range<Int>) {
        let (outer, columns) = (part.outer, part.columns)
        if KernelDispatch.current.avx512 {
            let w = (part.base + range.lowerBound * part.rowBytes).assumingMemoryBound(to: UInt16.self)
            kiln_bf16_widen_dot_avx512(xs, Int32(rows), w, part.rowBytes / 2, Int32(range.count), Int32(columns),
                                       part.y + range.lowerBound, outer)
            return
        }
        for o in range {
            for n in 0..<rows {
                part.y[n * outer + o] = QuantizedDot.bf16Paired(part.base + o * part.rowBytes, xs + n * columns, columns)
            }
        }
    }

    /// Runs `body` with the base address of every weight's blocks, in order.
    static func withBases<R>(_ weights: [QuantizedMatrix], _ collected: [UnsafeRawPointer] = [],
                             _ body: ([UnsafeRawPointer]) -> R) -> R {
        guard collected.count < weights.count else { return body(collected) }
        return weights[collected.count].withBase { withBases(weights, collected + [$0], body) }
    }
}
