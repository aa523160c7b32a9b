// Decoding's float32 product: a few rows of x against weights read once, in place. OpenBLAS's sgemm packs all of W
// first, which for one row costs more than the product. A layer's q, k and v (or gate and up) go through as one
// product: a decoding step is a hundred-odd products of a few MB, and each one pays the cores' hand-off, the ramp of the
// memory stream and the wait at its last chunk, so one hand-out over the rows of all of a group's weights pays them once.
import KilnKernels

extension MatMul {
    /// x rows at or below which `forward` uses dot products instead of sgemm.
    static let decodeRowLimit = 4

    /// Output rows handed to a core at a time by a decode product (`Parallel.streamRows`).
    public static let decodeChunk = 16

    /// Whether `forward` takes a weight of (outer, inner) against `rows` rows of x as a decode product.
    static func decodes(rows: Int, outer: Int, inner: Int) -> Bool { rows <= decodeRowLimit && outer * inner >= 65_536 }

    /// One weight of a decode product: its (outer, inner) rows and the (x rows, outer) outputs they write.
    struct DecodePart: @unchecked Sendable {
        let weight: UnsafePointer<Float>
        let outer: Int
        let y: UnsafeMutablePointer<Float>
    }

    /// y_i = x W_iᵀ + b_i for each weight, x a few rows: each output row the dot products of one weight row (read once,
    /// front to back) with every x row, the rows of all weights split across the cores in one run of chunks.
    static func decodeForward(_ x: Tensor, rows: Int, inner: Int, weights: [Tensor], biases: [Tensor?]) -> [Tensor] {
        let outers = weights.map { $0.shape[0] }
        // Every part writes its rows of one buffer, (x rows, outer) after (x rows, outer), which the outputs then take.
        var joined = [Float](repeating: 0, count: rows * outers.reduce(0, +))
        x.withPointer { xp in
            withPointers(weights) { ws in
                joined.withUnsafeMutableBufferPointer { out in
                    var offset = 0
                    let parts = weights.indices.map { i in
                        defer { offset += rows * outers[i] }
                        return DecodePart(weight: ws[i], outer: outers[i], y: out.baseAddress! + offset)
                    }
                    nonisolated(unsafe) let xs = xp
                    parts.withUnsafeBufferPointer { parts in
                        Parallel.streamRows(parts: outers, chunk: decodeChunk) { decodeRows(xs, rows: rows, inner: inner, part: parts[$0], $1) }
                    }
                }
            }
        }
        return splitOutputs(joined, rows: rows, leading: Array(x.shape.dropLast()), outers: outers, biases: biases)
    }

    /// The outputs of a decode product written end to end into `joined`: part i's (rows, outers[i]) block as a tensor of
    /// shape `leading + [outers[i]]`, `biases[i]` added to each row. A single part takes the buffer itself, uncopied.
    public static func splitOutputs(_ joined: [Float], rows: Int, leading: [Int], outers: [Int], biases: [Tensor?]) -> [Tensor] {
        var offset = 0
        return outers.indices.map { i in
            let outer = outers[i]
            defer { offset += rows * outer }
            var y = Tensor(shape: leading + [outer], storage: outers.count == 1 ? joined : Array(joined[offset..<(offset + rows * outer)]))
            if let bias = biases[i] {
                precondition(bias.count == outer, "bias has \(bias.count) elements for \(outer) outputs")
                for row in 0..<rows {
                    for column in 0..<outer { y.storage[row * outer + column] += bias.storage[column] }
                }
            }
            return y
        }
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
