// Attention of a few queries (a decoding step) over a long key/value cache, split along the keys as flash-decoding
// splits it: each task takes one (batch, KV head) and a chunk of keys, scores its chunk for every query head of the
// group with plain dot products over the cache's rows (no transposed copy of K), and keeps the chunk's running maximum,
// exponent sum and weighted value sum; the chunks are then merged by rescaling to the overall maximum. With a few KV heads
// and two cores, splitting by head alone left a core idle, and transposing K for the matrix product cost as much as the
// product at 2,048 keys.
import Foundation

/// Flash-decoding attention for `Attention.forward` on decoding caches.
enum DecodeAttention {
    /// Queries at or below which a call over a cache's buffers comes here.
    static let queryLimit = 4
    /// The fewest keys a chunk holds: shorter chunks cost more in merging than they save in balance.
    static let minimumChunk = 64

    /// out (B, H, Tq, D) = softmax(scale · QKᵀ + bias, masked) V over the first `d.keys` rows of the cache buffers.
    static func forward(query q: Tensor, key k: Tensor, value v: Tensor, dims d: Attention.Dims, options: AttentionOptions,
                        scale: Float) -> Tensor {
        // No keys in use: every query sees nothing, and the chunk buffers below would be empty.
        guard d.keys > 0 else { return Tensor(zeros: q.shape) }
        let group = d.heads / d.kvHeads
        let groups = d.batch * d.kvHeads
        let chunks = max(1, min((d.keys + minimumChunk - 1) / minimumChunk, (8 * Parallel.cores + groups - 1) / groups))
        let chunkKeys = (d.keys + chunks - 1) / chunks
        // Per task, per (head of the group, query): [maximum, sum, D weighted values].
        let stride = d.headDim + 2
        let perTask = group * d.queries * stride
        var partial = [Float](repeating: 0, count: groups * chunks * perTask)
        var output = Tensor(zeros: q.shape)
        q.withPointer { qp in
            k.withPointer { kp in
                v.withPointer { vp in
                    partial.withUnsafeMutableBufferPointer { buffer in
                        nonisolated(unsafe) let partial = buffer.baseAddress!
                        Parallel.rows(groups * chunks) { tasks in
                            var scores = [Float](repeating: 0, count: group * chunkKeys)
                            scores.withUnsafeMutableBufferPointer { scores in
                                for task in tasks {
                                    let (groupIndex, chunk) = (task / chunks, task % chunks)
                                    let keys = (chunk * chunkKeys)..<min(d.keys, (chunk + 1) * chunkKeys)
                                    let (b, first) = (groupIndex / d.kvHeads, (groupIndex % d.kvHeads) * group)
                                    let kv = d.kvOffset(b, first)
                                    for i in 0..<d.queries {
                                        chunkPartials(qp, kp + kv, vp + kv, keys: keys, b: b, heads: first..<(first + group), i: i,
                                                      d, options, scale, scores: scores.baseAddress!, stride: chunkKeys,
                                                      into: partial + task * perTask + i * stride, slotStride: d.queries * stride)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        output.withMutablePointer { op in
            partial.withUnsafeBufferPointer { partial in
                for groupIndex in 0..<groups {
                    let (b, first) = (groupIndex / d.kvHeads, (groupIndex % d.kvHeads) * group)
                    for h in first..<(first + group) {
                        for i in 0..<d.queries {
                            let slots = (0..<chunks).map { partial.baseAddress! + (groupIndex * chunks + $0) * perTask
                                + ((h - first) * d.queries + i) * stride }
                            merge(slots, width: d.headDim, into: op + d.qOffset(b, h) + i * d.headDim)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Query i of every head in `heads` (one KV group) over `keys`: each head's scores, their maximum m, Σ e^(s − m), and
    /// Σ e^(s − m) v, written to its slot (`slotStride` apart). Each key and value row is read once for the whole group and
    /// its mask checked once. A chunk with every key masked gets m = −∞ and zero sums.
    @inline(__always)
    static func chunkPartials(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, keys: Range<Int>,
                              b: Int, heads: Range<Int>, i: Int, _ d: Attention.Dims, _ options: AttentionOptions, _ scale: Float,
                              scores: UnsafeMutablePointer<Float>, stride: Int, into slots: UnsafeMutablePointer<Float>,
                              slotStride: Int) {
        let width = d.headDim, start = keys.lowerBound
        let queries = heads.map { q + d.qOffset(b, $0) + i * width }
        let biasOffsets = options.bias.map { bias in heads.map { d.biasOffset(b, $0, i, bias.count) } }
        for j in keys {
            guard d.allowed(b, i, j, options) else {
                for g in 0..<heads.count { scores[g * stride + j - start] = -.infinity }
                continue
            }
            let row = k + j * width
            for g in 0..<heads.count { scores[g * stride + j - start] = scale * Vector.dot(queries[g], row, width) }
            if let bias = options.bias, let biasOffsets {
                for g in 0..<heads.count { scores[g * stride + j - start] += bias.storage[biasOffsets[g] + j] }
            }
        }
        let count = keys.count
        for g in 0..<heads.count {
            let slot = slots + g * slotStride, row = scores + g * stride
            let maximum = Vector.max(row, count)
            (slot + 2).update(repeating: 0, count: width)
            slot[0] = maximum
            slot[1] = maximum > -.infinity ? Vector.shiftedExp(row, shift: maximum, into: row, count) : 0
        }
        for j in 0..<count {
            let value = v + (start + j) * width
            for g in 0..<heads.count where slots[g * slotStride] > -.infinity {
                Vector.addScaled(value, by: scores[g * stride + j], into: slots + g * slotStride + 2, width)
            }
        }
    }

    /// Combines chunk partials: each chunk's sums rescaled by e^(m_c − M) for the overall maximum M, divided by the total.
    /// A query with every key masked gets zeros.
    static func merge(_ slots: [UnsafePointer<Float>], width: Int, into out: UnsafeMutablePointer<Float>) {
        let maximum = slots.map { $0[0] }.max() ?? -.infinity
        out.update(repeating: 0, count: width)
        guard maximum > -.infinity else { return }
        var total: Float = 0
        for slot in slots where slot[0] > -.infinity {
            let factor = Foundation.exp(slot[0] - maximum)
            total += factor * slot[1]
            Vector.addScaled(slot + 2, by: factor, into: out, width)
        }
        Vector.scale(UnsafePointer(out), by: 1 / total, into: out, width)
    }
}
