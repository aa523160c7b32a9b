// Attention as llama.cpp computes it on a CPU with its float16 KV cache and flash attention off, operation for
// operation: q rounded to float16, QKᵀ summed in tinyBLAS's order for a prompt (two or more tokens) or
// ggml_vec_dot_f16's for one token, scaled, masked, softmax with ggml's vector exp and a double sum, probabilities
// rounded to float16, and PV in the same product's order. A quantised model quantises the attention output to int8
// right after, where one changed float rounding moves a whole row; matching the order keeps greedy tokens and logits
// equal to llama.cpp's. The kernels are in KilnKernels/ggml_numerics.c.
import Foundation
import KilnKernels

/// llama.cpp's attention numerics (`AttentionOptions.halfPrecision`).
enum GGMLAttention {
    /// q (B, H, Tq, D); k and v (B, KVH, rows, D) of which the first `d.keys` are used, read from `options.halfCache`
    /// when given (the same layout as float16 bits) or rounded from k and v. Returns (B, H, Tq, D).
    static func forward(query q: Tensor, key k: Tensor, value v: Tensor, dims d: Attention.Dims, options: AttentionOptions,
                        scale: Float) -> Tensor {
        var output = Tensor(zeros: q.shape)
        guard d.keys > 0, d.queries > 0 else { return output }
        let wide = KernelDispatch.current.avx512
        let lanes = wide ? 16 : 8
        // tinyBLAS takes a product with two or more columns (tokens) whose depth is a multiple of its lanes; QKᵀ's
        // depth is D and PV's the padded key count, so PV always qualifies when QKᵀ does, and needs only D % 4.
        let chainScores = d.queries >= 2 && d.headDim % lanes == 0
        let chainValues = d.queries >= 2 && d.headDim % 4 == 0
        let slab = d.keyRows * d.headDim
        let half = options.halfCache ?? HalfKV(keys: HalfKV.bits(k), values: HalfKV.bits(v))
        let padded = (d.keys + 15) / 16 * 16
        let group = d.heads / d.kvHeads
        // Without padding or a window, every key up to the causal position is visible (`Attention.forward` has already
        // dropped a mask that hides nothing, which decoding usually passes).
        let plain = options.keyMask == nil && options.window == nil
        if d.queries == 1 && plain && options.bias == nil && d.keys >= splitKeys && d.headDim % 32 == 0 {
            step(q, half, d, scale: scale, wide: wide, into: &output)
            return output
        }
        // The transposed keys of the 16-lane tinyBLAS kernel, one (D, padded) block per (batch, KV head).
        let transposed: [Float] = chainScores && wide ? transposeKeys(half.keys, d, padded: padded) : []
        q.withPointer { qp in
            output.withMutablePointer { op in
                nonisolated(unsafe) let op = op
                half.keys.withUnsafeBufferPointer { kb in
                    half.values.withUnsafeBufferPointer { vb in
                        transposed.withUnsafeBufferPointer { tb in
                            // The 16-lane kernel takes a block of a head's consecutive queries at once (each key line then
                            // serves all of them); other forms one query at a time.
                            let block = chainScores && wide ? blockQueries : 1
                            let blocksPerHead = (d.queries + block - 1) / block
                            let units = d.batch * d.heads * blocksPerHead
                            // A short row (a decoding step's few keys) is not worth a hand-off: about 1,024 keys a task.
                            let split = units * block >= 2 * max(1, 1024 / max(1, d.keys))
                            Parallel.streamRows(units, chunk: split ? 1 : units) { units in
                                var q16 = [UInt16](repeating: 0, count: d.headDim)
                                var qWide = [Float](repeating: 0, count: block * d.headDim)
                                var scores = [Float](repeating: 0, count: block * padded)
                                var p16 = [UInt16](repeating: 0, count: padded)
                                var partial = [Float](repeating: 0, count: 64 * d.headDim)
                                var ends = [Int](repeating: 0, count: block)
                                for unit in units {
                                    let (b, h) = (unit / blocksPerHead / d.heads, unit / blocksPerHead % d.heads)
                                    let first = unit % blocksPerHead * block, count = min(block, d.queries - first)
                                    let kv = (b * d.kvHeads + h / group)
                                    for r in 0..<count {
                                        // Keys past the last visible one are −∞ whatever their product: left out of it.
                                        let i = first + r
                                        var end = options.causal ? min(d.keys, i + d.keys - d.queries + 1) : d.keys
                                        while !plain && end > 0 && !d.allowed(b, i, end - 1, options) { end -= 1 }
                                        ends[r] = end
                                    }
                                    if block > 1 {
                                        for r in 0..<count {
                                            kiln_to_f16(qp + d.qOffset(b, h) + (first + r) * d.headDim, &q16, d.headDim)
                                            for l in 0..<d.headDim { qWide[r * d.headDim + l] = Float(Float16(bitPattern: q16[l])) }
                                        }
                                        // Rows whose last visible key comes sooner get a few products past it, which the
                                        // mask below overwrites.
                                        kiln_ggml_scores_chain16_rows(qWide, d.headDim, Int32(count), tb.baseAddress! + kv * d.headDim * padded,
                                                                      padded, ends.prefix(count).max()!, d.headDim, &scores, padded)
                                    }
                                    for r in 0..<count {
                                        let (i, end) = (first + r, ends[r])
                                        let extent = (end + 15) / 16 * 16
                                        scores.withUnsafeMutableBufferPointer { s in
                                            let s = s.baseAddress! + r * padded
                                            if block == 1 {
                                                kiln_to_f16(qp + d.qOffset(b, h) + i * d.headDim, &q16, d.headDim)
                                                kiln_ggml_scores(q16, kb.baseAddress! + kv * slab, d.headDim, end, d.headDim, s,
                                                                 chainScores ? 1 : 0, wide ? 1 : 0)
                                            }
                                            var maximum: Float
                                            if plain && options.bias == nil {
                                                maximum = kiln_ggml_scale_max(s, end, extent, scale)
                                            } else {
                                                maximum = -.infinity
                                                for j in 0..<extent {
                                                    // ggml scales the product, then adds the mask (0 or −∞) and any bias.
                                                    if j < end && (plain || d.allowed(b, i, j, options)) {
                                                        s[j] *= scale
                                                        if let bias = options.bias {
                                                            s[j] += bias.storage[d.biasOffset(b, h, i, bias.count) + j]
                                                        }
                                                        maximum = max(maximum, s[j])
                                                    } else {
                                                        s[j] = -.infinity
                                                    }
                                                }
                                            }
                                            let out = op + d.qOffset(b, h) + i * d.headDim
                                            guard maximum > -.infinity else { return }  // nothing visible: zeros
                                            let sum = kiln_ggml_softmax(extent, s, s, maximum, wide ? 1 : 0)
                                            kiln_ggml_scale_to_f16(s, extent, Float(1.0 / sum), &p16)
                                            kiln_ggml_weigh(p16, vb.baseAddress! + kv * slab, d.headDim, end, d.headDim, out, &partial,
                                                            chainValues ? 1 : 0, wide ? 1 : 0)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Queries of one head whose scores the 16-lane kernel forms together (`kiln_ggml_scores_chain16_rows`).
    static let blockQueries = 8

    /// Keys from which a decoding step splits its rows (`step`): below, one row per task costs less than three hand-offs.
    static let splitKeys = 256

    /// A decoding step (one query per head, every key visible) in three balanced phases: scores split by 256-key runs
    /// (each key's product is its own vec_dot), each row's softmax, then PV split by 32 channels (each channel is its
    /// own vec_dot over the keys). One task per row left a core idle for most of a row: 9 heads on 2 cores.
    static func step(_ q: Tensor, _ half: HalfKV, _ d: Attention.Dims, scale: Float, wide: Bool, into output: inout Tensor) {
        let rows = d.batch * d.heads, group = d.heads / d.kvHeads, slab = d.keyRows * d.headDim
        let end = d.keys, extent = (d.keys + 15) / 16 * 16, runs = (end + 255) / 256, bands = d.headDim / 32
        var q16 = [UInt16](repeating: 0, count: rows * d.headDim)
        var scores = [Float](repeating: 0, count: rows * extent)
        var p16 = [UInt16](repeating: 0, count: rows * extent)
        q.withPointer { qp in
            for row in 0..<rows { kiln_to_f16(qp + d.qOffset(row / d.heads, row % d.heads), &q16[row * d.headDim], d.headDim) }
        }
        // Row r reads KV slab (batch, head / group): the cache's (B, KVH, keyRows, D) layout.
        let kv = { (row: Int) in (row / d.heads) * d.kvHeads + (row % d.heads) / group }
        half.keys.withUnsafeBufferPointer { kb in
            half.values.withUnsafeBufferPointer { vb in
                q16.withUnsafeBufferPointer { qb in
                    scores.withUnsafeMutableBufferPointer { sb in
                        p16.withUnsafeMutableBufferPointer { pb in
                            output.withMutablePointer { op in
                                nonisolated(unsafe) let (kb, vb, qb, sb, pb, op) = (kb.baseAddress!, vb.baseAddress!, qb.baseAddress!,
                                                                                    sb.baseAddress!, pb.baseAddress!, op)
                                Parallel.streamRows(rows * runs, chunk: 1) { units in
                                    for unit in units {
                                        let (row, first) = (unit / runs, unit % runs * 256)
                                        kiln_ggml_scores(qb + row * d.headDim, kb + kv(row) * slab + first * d.headDim, d.headDim,
                                                         min(256, end - first), d.headDim, sb + row * extent + first, 0, wide ? 1 : 0)
                                    }
                                }
                                Parallel.rows(rows) { range in
                                    for row in range {
                                        let s = sb + row * extent
                                        let maximum = kiln_ggml_scale_max(s, end, extent, scale)
                                        let sum = kiln_ggml_softmax(extent, s, s, maximum, wide ? 1 : 0)
                                        kiln_ggml_scale_to_f16(s, extent, Float(1.0 / sum), pb + row * extent)
                                    }
                                }
                                Parallel.streamRows(rows * bands, chunk: 1) { units in
                                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 64 * 32) { partial in
                                        for unit in units {
                                            let (row, channel) = (unit / bands, unit % bands * 32)
                                            kiln_ggml_weigh(pb + row * extent, vb + kv(row) * slab + channel, d.headDim, end, 32,
                                                            op + d.qOffset(row / d.heads, row % d.heads) + channel,
                                                            partial.baseAddress!, 0, wide ? 1 : 0)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Each (batch, KV head)'s first `d.keys` float16 keys widened and transposed to (D, padded), zero past the keys.
    static func transposeKeys(_ keys: [UInt16], _ d: Attention.Dims, padded: Int) -> [Float] {
        let slabs = d.batch * d.kvHeads
        var out = [Float](repeating: 0, count: slabs * d.headDim * padded)
        out.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let o = o.baseAddress!
            keys.withUnsafeBufferPointer { k in
                Parallel.rows(slabs) { range in
                    for slab in range {
                        kiln_f16_transpose(k.baseAddress! + slab * d.keyRows * d.headDim, d.keys, d.headDim, o + slab * d.headDim * padded,
                                           padded)
                    }
                }
            }
        }
        return out
    }
}
