// Decoding's float32 product: a few rows of x against weights read once, in place. OpenBLAS's sgemm packs all of W
// first, which for one row costs more than the product. A layer's q, k and v (or gate and up) go through as one
// product: a decoding step is a hundred-odd products of a few MB, and each one pays the cores' hand-off, the ramp of the
// memory stream and the wait at its last chunk, so one hand-out over the rows of all of a group's weights pays them once.
import KilnKernels

extension MatMul {
    /// x rows at or below which `forward` uses dot products instead of sgemm.
    static let decodeRowLimit = 4

    /// Output rows handed to a core at a time.
    static let decodeChunk = 16

    /// One weight of a decode product: its (outer, inner) rows and the (x rows, outer) outputs they write.
    struct DecodePart: @unchecked Sendable {
        let weight: UnsafePointer<Float>
        let outer: Int
        let y: UnsafeMutablePointer<Float>
    }

    /// y_i = x W_iᵀ + b_i for each weight, x a few rows: each output row the dot products of one weight row (read once,
    /// front to back) with every x row, the rows of all weights split across the cores in one run of chunks.
    static func decodeForward(_ x: Tensor, rows: Int, inner: Int, weights: [Tensor], biases: [Tensor?]) -> [Tensor] {
        let starts = weights.reduce(into: [0]) { $0.append($0.last! + $1.shape[0]) }
        // Every part writes its rows of one buffer, (x rows, outer) after (x rows, outer), which the outputs then take.
        var joined = [Float](repeating: 0, count: rows * starts.last!)
        x.withPointer { xp in
            withPointers(weights) { ws in
                joined.withUnsafeMutableBufferPointer { out in
                    let parts = weights.indices.map {
                        DecodePart(weight: ws[$0], outer: weights[$0].shape[0], y: out.baseAddress! + rows * starts[$0])
                    }
                    nonisolated(unsafe) let xs = xp
                    parts.withUnsafeBufferPointer { parts in
                        starts.withUnsafeBufferPointer { starts in
                            Parallel.streamRows(starts.last!, chunk: decodeChunk) { range in
                                // A chunk may straddle two weights; each piece goes to its own.
                                for i in parts.indices where starts[i] < range.upperBound && range.lowerBound < starts[i + 1] {
                                    let local = (max(range.lowerBound, starts[i]) - starts[i])..<(min(range.upperBound, starts[i + 1]) - starts[i])
                                    decodeRows(xs, rows: rows, inner: inner, part: parts[i], local)
                                }
                            }
                        }
                    }
                }
            }
        }
        var outputs = weights.indices.map { i in
            Tensor(shape: Array(x.shape.dropLast()) + [weights[i].shape[0]],
                   storage: Array(joined[(rows * starts[i])..<(rows * starts[i + 1])]))
        }
        for (i, bias) in biases.enumerated() {
            guard let bias else { continue }
            let outer = weights[i].shape[0]
            for row in 0..<rows {
                for column in 0..<outer { outputs[i].storage[row * outer + column] += bias.storage[column] }
            }
        }
        return outputs
    }

    /// Output rows `range` of one part: KilnKernels' streaming kernel with AVX-512, else Swift's dot product.
    @inline(__always)
    static func decodeRows(_ x: UnsafePointer<Float>, rows: Int, inner: Int, part: DecodePart, _ range: Range<Int>) {
        if KernelDispatch.current.avx512 {
            kiln_f32_stream_dot_avx512(x, Int32(rows), part.weight + range.lowerBound * inner, inner, Int32(range.count),
                                       Int32(inner), part.y + range.lowerBound, part.outer)
            return
        }
        for o in range {
            for n in 0..<rows { part.y[n * part.outer + o] = Vector.dot2(part.weight + o * inner, x + n * inner, inner) }
        }
    }
}
