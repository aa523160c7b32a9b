// Attention of a few queries (a decoding step) over a long key/value cache, split along the keys as flash-decoding
// splits it: each task takes one (batch, KV head) and a chunk of keys, scores its chunk for every query head of the
// group with plain dot products over the cache's rows (no transposed copy of K), and keeps the chunk's running maximum,
// exponent sum and weighted value sum; the chunks are then merged by rescaling to the overall maximum. With a few KV heads
// and two cores, splitting by head alone left a core idle, and transposing K for the matrix product cost as much as the
// product at 2,048 keys. Rows are read as float32 or from a float16 copy of the cache, at half the bytes. (llama.cpp's
// numerics, `AttentionOptions.halfPrecision`, take GGMLAttention instead: its order cannot be split by chunks.)
import Foundation
import KilnKernels

/// Rows of a cache buffer, float32 or float16, as the decoding kernel reads them (KilnKernels' group kernels).
protocol KVRows {
    /// Asks the CPU to load rows `keys` (the start of a chunk's values, wanted once its scores are done).
    func prefetch(keys: Range<Int>, width: Int)
    /// scores[g · sstride + j − keys.lowerBound] = scale · (q + g · qstride) · row j for the `heads` queries of a KV group.
    func scores(_ q: UnsafePointer<Float>, qstride: Int, heads: Int, keys: Range<Int>, width: Int, scale: Float,
                into scores: UnsafeMutablePointer<Float>, sstride: Int)
    /// (out + g · ostride) += Σ_j p[g · pstride + j − keys.lowerBound] · row j for the `heads` rows of a KV group.
    func weigh(_ p: UnsafePointer<Float>, pstride: Int, heads: Int, keys: Range<Int>, width: Int,
               into out: UnsafeMutablePointer<Float>, ostride: Int)
}

/// Float32 rows.
struct FloatRows: KVRows {
    let base: UnsafePointer<Float>
    func prefetch(keys: Range<Int>, width: Int) {
        kiln_prefetch_rows(base + keys.lowerBound * width, width * 4, width * 4, keys.count)
    }
    func scores(_ q: UnsafePointer<Float>, qstride: Int, heads: Int, keys: Range<Int>, width: Int, scale: Float,
                into scores: UnsafeMutablePointer<Float>, sstride: Int) {
        kiln_dots_f32(q, qstride, Int32(heads), base + keys.lowerBound * width, keys.count, width, scale, scores, sstride)
    }
    func weigh(_ p: UnsafePointer<Float>, pstride: Int, heads: Int, keys: Range<Int>, width: Int,
               into out: UnsafeMutablePointer<Float>, ostride: Int) {
        kiln_weigh_f32(p, pstride, Int32(heads), base + keys.lowerBound * width, keys.count, width, out, ostride)
    }
}

/// Float16 rows, widened by F16C as they are read.
struct HalfRows: KVRows {
    let base: UnsafePointer<UInt16>
    func prefetch(keys: Range<Int>, width: Int) {
        kiln_prefetch_rows(base + keys.lowerBound * width, width * 2, width * 2, keys.count)
    }
    func scores(_ q: UnsafePointer<Float>, qstride: Int, heads: Int, keys: Range<Int>, width: Int, scale: Float,
                into scores: UnsafeMutablePointer<Float>, sstride: Int) {
        kiln_dots_f16(q, qstride, Int32(heads), base + keys.lowerBound * width, keys.count, width, scale, scores, sstride)
    }
    func weigh(_ p: UnsafePointer<Float>, pstride: Int, heads: Int, keys: Range<Int>, width: Int,
               into out: UnsafeMutablePointer<Float>, ostride: Int) {
        kiln_weigh_f16(p, pstride, Int32(heads), base + keys.lowerBound * width, keys.count, width, out, ostride)
    }
}

/// A decoding call's split of the work: each KV group's keys in chunks, one task per (group, chunk).
struct DecodeSplit {
    /// Query heads per KV head, KV groups (batch × KV heads), chunks per group, keys per chunk.
    let group, groups, chunks, chunkKeys: Int

    /// One task's place: its KV group, keys, batch row, first query head and the group's offset in the cache buffers.
    struct Task {
        let groupIndex: Int, keys: Range<Int>, b: Int, head: Int, kv: Int
    }

    /// Enough chunks to keep every core busy, none shorter than `minimumChunk` keys.
    init(_ d: Attention.Dims, minimumChunk: Int) {
        group = d.heads / d.kvHeads
        groups = d.batch * d.kvHeads
        chunks = max(1, min((d.keys + minimumChunk - 1) / minimumChunk, (8 * Parallel.cores + groups - 1) / groups))
        chunkKeys = (d.keys + chunks - 1) / chunks
    }

    /// Task `index`'s place.
    func task(_ index: Int, _ d: Attention.Dims) -> Task {
        let (groupIndex, chunk) = (index / chunks, index % chunks)
        let (b, head) = (groupIndex / d.kvHeads, (groupIndex % d.kvHeads) * group)
        return Task(groupIndex: groupIndex, keys: (chunk * chunkKeys)..<min(d.keys, (chunk + 1) * chunkKeys), b: b, head: head,
                    kv: d.kvOffset(b, head))
    }

    /// Runs `body` over every task across the cores, each core's tasks sharing a scratch of `group · chunkKeys` floats.
    func forEach(_ d: Attention.Dims, _ body: (Int, Task, UnsafeMutablePointer<Float>) -> Void) {
        Parallel.rows(groups * chunks) { tasks in
            var scratch = [Float](repeating: 0, count: group * chunkKeys)
            scratch.withUnsafeMutableBufferPointer { scratch in
                for index in tasks { body(index, task(index, d), scratch.baseAddress!) }
            }
        }
    }
}

/// Flash-decoding attention for `Attention.forward` on decoding caches.
enum DecodeAttention {
    /// Queries at or below which a call over a cache's buffers comes here.
    static let queryLimit = 4
    /// The fewest keys a chunk holds: shorter chunks cost more in merging than they save in balance.
    static let minimumChunk = 64

    /// q's, k's and v's storage and, when given, the float16 copy's keys and values (nil otherwise).
    static func withBuffers(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ half: HalfKV?,
                            _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<UInt16>?,
                                     UnsafePointer<UInt16>?) -> Void) {
        q.withPointer { qp in
            k.withPointer { kp in
                v.withPointer { vp in
                    (half?.keys ?? []).withUnsafeBufferPointer { hk in
                        (half?.values ?? []).withUnsafeBufferPointer { hv in
                            body(qp, kp, vp, half == nil ? nil : hk.baseAddress, half == nil ? nil : hv.baseAddress)
                        }
                    }
                }
            }
        }
    }

    /// out (B, H, Tq, D) = softmax(scale · QKᵀ + bias, masked) V over the first `d.keys` rows of the cache buffers.
    static func forward(query q: Tensor, key k: Tensor, value v: Tensor, dims d: Attention.Dims, options: AttentionOptions,
                        scale: Float) -> Tensor {
        // No keys in use: every query sees nothing, and the chunk buffers below would be empty.
        guard d.keys > 0 else { return Tensor(zeros: q.shape) }
        let split = DecodeSplit(d, minimumChunk: minimumChunk)
        let (group, groups, chunks, chunkKeys) = (split.group, split.groups, split.chunks, split.chunkKeys)
        // Per task, per (head of the group, query): [maximum, sum, D weighted values].
        let stride = d.headDim + 2
        let perTask = group * d.queries * stride
        var partial = [Float](repeating: 0, count: groups * chunks * perTask)
        var output = Tensor(zeros: q.shape)
        partial.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let partial = buffer.baseAddress!
            withBuffers(q, k, v, options.halfCache) { qp, kp, vp, hk, hv in
                split.forEach(d) { index, t, scores in
                    for i in 0..<d.queries {
                        let slots = partial + index * perTask + i * stride
                        let heads = t.head..<(t.head + group)
                        if let hk, let hv {
                            chunkPartials(qp, HalfRows(base: hk + t.kv), HalfRows(base: hv + t.kv), keys: t.keys, b: t.b, heads: heads, i: i,
                                          d, options, scale, scores: scores, stride: chunkKeys, into: slots, slotStride: d.queries * stride)
                        } else {
                            chunkPartials(qp, FloatRows(base: kp + t.kv), FloatRows(base: vp + t.kv), keys: t.keys, b: t.b, heads: heads, i: i,
                                          d, options, scale, scores: scores, stride: chunkKeys, into: slots, slotStride: d.queries * stride)
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
    static func chunkPartials<Rows: KVRows>(_ q: UnsafePointer<Float>, _ k: Rows, _ v: Rows, keys: Range<Int>,
                              b: Int, heads: Range<Int>, i: Int, _ d: Attention.Dims, _ options: AttentionOptions, _ scale: Float,
                              scores: UnsafeMutablePointer<Float>, stride: Int, into slots: UnsafeMutablePointer<Float>,
                              slotStride: Int) {
        let width = d.headDim, count = keys.count
        // The values' first rows load while the scores are formed; the weighing kernel prefetches the rest as it goes.
        v.prefetch(keys: keys.prefix(32), width: width)
        scoreRows(q + d.qOffset(b, heads.lowerBound) + i * width, k, keys: keys, b: b, heads: heads, i: i, d, options, scale,
                  into: scores, stride: stride)
        for g in 0..<heads.count {
            let slot = slots + g * slotStride, row = scores + g * stride
            let maximum = Vector.max(row, count)
            (slot + 2).update(repeating: 0, count: width)
            slot[0] = maximum
            // A fully masked row weighs nothing (its −∞ scores become zero weights).
            if maximum > -.infinity { slot[1] = Vector.shiftedExp(row, shift: maximum, into: row, count) } else { slot[1] = 0; row.update(repeating: 0, count: count) }
        }
        v.weigh(scores, pstride: stride, heads: heads.count, keys: keys, width: width, into: slots + 2, ostride: slotStride)
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

    /// Query i of every head in `heads` (one KV group, queries `query` onwards) over `keys`: scores into rows `stride`
    /// apart, masked keys −∞, bias added.
    @inline(__always)
    static func scoreRows<Rows: KVRows>(_ query: UnsafePointer<Float>, _ k: Rows, keys: Range<Int>, b: Int, heads: Range<Int>, i: Int,
                                        _ d: Attention.Dims, _ options: AttentionOptions, _ scale: Float,
                                        into scores: UnsafeMutablePointer<Float>, stride: Int) {
        k.scores(query, qstride: d.queries * d.headDim, heads: heads.count, keys: keys, width: d.headDim, scale: scale,
                 into: scores, sstride: stride)
        for j in keys where !d.allowed(b, i, j, options) {
            for g in 0..<heads.count { scores[g * stride + j - keys.lowerBound] = -.infinity }
        }
        if let bias = options.bias {
            for (g, h) in heads.enumerated() {
                let offset = d.biasOffset(b, h, i, bias.count)
                for j in keys where scores[g * stride + j - keys.lowerBound] > -.infinity {
                    scores[g * stride + j - keys.lowerBound] += bias.storage[offset + j]
                }
            }
        }
    }
}
