// Scaled dot-product attention, forward and backward, on (B, H, T, D) tensors: QKᵀ and PV through SmallGemm, one
// (batch, KV head) group of heads per task across the cores, masks and bias applied to the score rows in between,
// and a naive reference beside it. Grouped-query: query head h reads key/value head h / (H / KVH), as HF `repeat_kv`.
// Under a causal mask the products skip what the mask zeroes (see SmallGemm.Limit).
import Foundation
import KilnKernels

/// What may be masked or added before the softmax. Masked scores become −∞; a query row with every key
/// masked gets zero probabilities and a zero output (not NaN).
public struct AttentionOptions: Sendable {
    /// Query i (the i-th of the last Tq positions) sees keys j ≤ i + (Tk − Tq).
    public var causal: Bool
    /// (B·Tk), true for real tokens, false for padding (left or right); nil: no padding.
    public var keyMask: [Bool]?
    /// Added to the scaled scores: (B, H, Tk) broadcast over queries (ALiBi) or (B, H, Tq, Tk); nil: none.
    public var bias: Tensor?
    /// Mistral's sliding window: query i sees only keys j > i + (Tk − Tq) − window; nil: unlimited.
    public var window: Int?
    /// The score scale; nil means 1/√D.
    public var scale: Float?
    /// Keys in use when k and v are a decoding cache's (B, KVH, capacity, D) buffers: the first `keyCount` rows
    /// of each head's slab; nil: all rows. Inference only: the returned cache is not for `backward`, and a decoding step
    /// (a few queries, `DecodeAttention`) leaves its probabilities empty.
    public var keyCount: Int?
    /// A query with every key masked attends uniformly to all keys instead of returning zeros: transformers' eager
    /// attention adds finfo.min to masked scores, which rounds every score of such a row (a left-pad query) to the
    /// same value. Training matches it, since a label can sit right after a left pad.
    public var fullyMaskedUniform = false
    /// llama.cpp's numerics (its float16 KV cache, without flash attention), operation for operation (`GGMLAttention`):
    /// q, k and v rounded to float16, its summation orders, exp and float16 probabilities. Inference only; a query with
    /// every key masked gets zeros (`fullyMaskedUniform` does not apply).
    public var halfPrecision = false
    /// A float16 copy of a decoding cache's key and value buffers (the same (B, KVH, capacity, D) layout), which
    /// decoding steps read instead of `key` and `value`: half the bytes per step, as llama.cpp's float16 cache.
    public var halfCache: HalfKV?

    /// Options with causal masking on by default.
    public init(causal: Bool = true, keyMask: [Bool]? = nil, bias: Tensor? = nil, window: Int? = nil, scale: Float? = nil) {
        self.causal = causal
        self.keyMask = keyMask
        self.bias = bias
        self.window = window
        self.scale = scale
    }
}

/// Float16 bit patterns of a decoding cache's keys and values, (B, KVH, capacity, D) each.
public struct HalfKV: Sendable {
    /// The keys' float16 bits.
    public var keys: [UInt16]
    /// The values' float16 bits.
    public var values: [UInt16]

    /// Wraps the two buffers.
    public init(keys: [UInt16], values: [UInt16]) {
        (self.keys, self.values) = (keys, values)
    }

    /// A float tensor's values as float16 bits (to nearest, ties to even, as llama.cpp's cache stores them).
    public static func bits(_ x: Tensor) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: x.count) { out, n in
            x.withPointer { kiln_to_f16($0, out.baseAddress!, x.count) }
            n = x.count
        }
    }
}

/// What `Attention.backward` needs from the forward pass.
public struct AttentionCache: Sendable {
    /// q (B, H, Tq, D), k and v (B, KVH, Tk, D).
    public var query: Tensor, key: Tensor, value: Tensor
    /// softmax(scale · QKᵀ + bias, masked), (B, H, Tq, Tk).
    public var probabilities: Tensor
    /// The scale used.
    public var scale: Float
    /// Tk − Tq when every probability past a query's causal position is zero (what backward may skip); nil otherwise.
    public var causalOffset: Int?
}

/// softmax(QKᵀ·scale + bias + mask) V.
public enum Attention {
    /// q is (B, H, Tq, D), k and v are (B, KVH, Tk, D) with H a multiple of KVH; returns (B, H, Tq, D) and the cache.
    public static func forward(query: Tensor, key: Tensor, value: Tensor,
                               options: AttentionOptions = AttentionOptions()) -> (Tensor, AttentionCache) {
        let (q, k, v) = (query, key, value)
        let d = Dims(q, k, v, options)
        var options = options
        // A mask that hides nothing (what families pass without padding) is no mask: the score rows then skip the
        // per-key test.
        if let mask = options.keyMask, !mask.contains(false) { options.keyMask = nil }
        let scale = options.scale ?? 1 / Float(d.headDim).squareRoot()
        if options.halfPrecision {
            let output = GGMLAttention.forward(query: q, key: k, value: v, dims: d, options: options, scale: scale)
            return (output, AttentionCache(query: q, key: k, value: v, probabilities: Tensor(zeros: [0]), scale: scale, causalOffset: nil))
        }
        if options.keyCount != nil && d.queries <= DecodeAttention.queryLimit && !options.fullyMaskedUniform {
            let output = DecodeAttention.forward(query: q, key: k, value: v, dims: d, options: options, scale: scale)
            return (output, AttentionCache(query: q, key: k, value: v, probabilities: Tensor(zeros: [0]), scale: scale, causalOffset: nil))
        }
        // Softmax writes every probability and PV every output element.
        var probabilities = Tensor(unfilled: [d.batch, d.heads, d.queries, d.keys])
        var output = Tensor(unfilled: q.shape)
        let group = d.heads / d.kvHeads, offset = d.keys - d.queries
        // A fully masked row made uniform reaches past its causal position, so PV then reads every key.
        let uniformRows = options.fullyMaskedUniform && options.keyMask != nil
        let scoreLimit: SmallGemm.Limit = options.causal ? .through(offset) : .none
        let valueLimit: SmallGemm.Limit = options.causal && !uniformRows ? .through(offset) : .none
        q.withPointer { qp in
            k.withPointer { kp in
                v.withPointer { vp in
                    probabilities.withMutablePointer { pp in
                        output.withMutablePointer { op in
                            nonisolated(unsafe) let (pp, op) = (pp, op)
                            // A task is a block of query rows of one (batch, KV head) group; a long prompt with few KV heads
                            // is split by rows too, so both cores work.
                            let groups = d.batch * d.kvHeads
                            let blocks = max(1, min((2 * Parallel.cores + groups - 1) / groups, d.queries / 32))
                            let rowsPerBlock = (d.queries + blocks - 1) / blocks
                            let work = group * rowsPerBlock * d.keys * d.headDim
                            Parallel.rows(groups * blocks, minimumPerTask: max(1, 262_144 / max(1, work))) { tasks in
                                var keysT = [Float](repeating: 0, count: d.headDim * d.keys)
                                keysT.withUnsafeMutableBufferPointer { kt in
                                    let kt = kt.baseAddress!
                                    var transposedFor = -1
                                    for task in tasks {
                                        let (groupIndex, block) = (task / blocks, task % blocks)
                                        let (b, first) = (groupIndex / d.kvHeads, (groupIndex % d.kvHeads) * group)
                                        let rows = (block * rowsPerBlock)..<min(d.queries, (block + 1) * rowsPerBlock)
                                        guard !rows.isEmpty else { continue }
                                        let kvOffset = d.kvOffset(b, first)
                                        if transposedFor != groupIndex {
                                            SmallGemm.transpose(kp + kvOffset, rows: d.keys, columns: d.headDim, ld: d.headDim, into: kt)
                                            transposedFor = groupIndex
                                        }
                                        for h in first..<(first + group) {
                                            let qOffset = d.qOffset(b, h) + rows.lowerBound * d.headDim
                                            let scores = pp + ((b * d.heads + h) * d.queries + rows.lowerBound) * d.keys
                                            SmallGemm.multiply(qp + qOffset, lda: d.headDim, kt, ldb: d.keys, scores, ldc: d.keys, m: rows.count,
                                                               n: d.keys, k: d.headDim, alpha: scale, columns: scoreLimit.shifted(by: rows.lowerBound))
                                            for i in rows { normalise(scores + (i - rows.lowerBound) * d.keys, b: b, h: h, i: i, d, options) }
                                            SmallGemm.multiply(scores, lda: d.keys, vp + kvOffset, ldb: d.headDim, op + qOffset, ldc: d.headDim,
                                                               m: rows.count, n: d.headDim, k: d.keys, depth: valueLimit.shifted(by: rows.lowerBound))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let cache = AttentionCache(query: q, key: k, value: v, probabilities: probabilities, scale: scale,
                                   causalOffset: valueLimit == .none ? nil : offset)
        return (output, cache)
    }

    /// Score row i of head h: bias added, masked keys −∞ (every score past the causal position among them, which
    /// the product may have left unwritten), then softmax in place.
    @inline(__always) static func normalise(_ row: UnsafeMutablePointer<Float>, b: Int, h: Int, i: Int, _ d: Dims, _ options: AttentionOptions) {
        if let bias = options.bias {
            let offset = d.biasOffset(b, h, i, bias.count)
            bias.withPointer { bp in for j in 0..<d.keys { row[j] += bp[offset + j] } }
        }
        if options.bias == nil && options.keyMask == nil && options.window == nil {
            // Only the causal limit (or none): the visible keys are a prefix, so the softmax runs over it alone and the
            // rest is zeros, with no per-key test (which at prefill cost more than the row's exponentials).
            let visible = options.causal ? max(0, min(d.keys, i + d.keys - d.queries + 1)) : d.keys
            if visible == 0 && options.fullyMaskedUniform {
                for j in 0..<d.keys { row[j] = 1 / Float(d.keys) }
                return
            }
            Softmax.rowForward(UnsafePointer(row), row, visible)
            if visible < d.keys { (row + visible).update(repeating: 0, count: d.keys - visible) }
            return
        }
        var visible = 0
        for j in 0..<d.keys {
            if d.allowed(b, i, j, options) { visible += 1 } else { row[j] = -.infinity }
        }
        if visible == 0 && options.fullyMaskedUniform {
            for j in 0..<d.keys { row[j] = 1 / Float(d.keys) }
        } else {
            Softmax.rowForward(UnsafePointer(row), row, d.keys)
        }
    }

    /// Backward: returns (dq, dk, dv); dk and dv sum over the query heads sharing each KV head.
    /// In the forward pass this was: P = softmax(scale · QKᵀ + bias + mask); O = PV. dout is (B, H, Tq, D).
    public static func backward(_ dout: Tensor, cache: AttentionCache) -> (query: Tensor, key: Tensor, value: Tensor) {
        let (q, k, v) = (cache.query, cache.key, cache.value)
        precondition(dout.shape == q.shape, "dout \(dout.shape) for q \(q.shape)")
        let d = Dims(q, k, v, AttentionOptions(causal: false))
        var dq = Tensor(unfilled: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
        let group = d.heads / d.kvHeads
        let (through, from): (SmallGemm.Limit, SmallGemm.Limit) = cache.causalOffset.map { (.through($0), .from($0)) } ?? (.none, .none)
        let scale = cache.scale
        q.withPointer { qp in
            k.withPointer { kp in
                v.withPointer { vp in
                    dout.withPointer { dop in
                        cache.probabilities.withPointer { pp in
                            dq.withMutablePointer { dqp in
                                dk.withMutablePointer { dkp in
                                    dv.withMutablePointer { dvp in
                                        nonisolated(unsafe) let (dqp, dkp, dvp) = (dqp, dkp, dvp)
                                        // A task owns one (batch, KV head): its heads' dk and dv sums are its own.
                                        Parallel.rows(d.batch * d.kvHeads, minimumPerTask: max(1, 32_768 / max(1, group * d.queries * d.keys))) { tasks in
                                            var scratch = [Float](repeating: 0, count: 2 * d.queries * d.keys + d.headDim * d.keys)
                                            scratch.withUnsafeMutableBufferPointer { buffer in
                                                let ds = buffer.baseAddress!, transposed = ds + d.queries * d.keys
                                                let valuesT = transposed + d.queries * d.keys
                                                for task in tasks {
                                                    let (b, first) = (task / d.kvHeads, (task % d.kvHeads) * group)
                                                    let kvOffset = d.kvOffset(b, first)
                                                    SmallGemm.transpose(vp + kvOffset, rows: d.keys, columns: d.headDim, ld: d.headDim, into: valuesT)
                                                    for h in first..<(first + group) {
                                                        let qOffset = d.qOffset(b, h)
                                                        let p = pp + (b * d.heads + h) * d.queries * d.keys
                                                        // dV += Pᵀ dO
                                                        SmallGemm.transpose(p, rows: d.queries, columns: d.keys, ld: d.keys, into: transposed)
                                                        SmallGemm.multiply(transposed, lda: d.queries, dop + qOffset, ldb: d.headDim, dvp + kvOffset, ldc: d.headDim,
                                                                           m: d.keys, n: d.headDim, k: d.queries, accumulate: true, depth: from)
                                                        // dP = dO Vᵀ, then dS = P ⊙ (dP − Σ dP ⊙ P) per row (softmax backward); past a
                                                        // row's causal position P is zero and dP was not computed.
                                                        SmallGemm.multiply(dop + qOffset, lda: d.headDim, valuesT, ldb: d.keys, ds, ldc: d.keys,
                                                                           m: d.queries, n: d.keys, k: d.headDim, columns: through)
                                                        for i in 0..<d.queries {
                                                            let row = ds + i * d.keys, prow = p + i * d.keys
                                                            let width = through.upper(i + 1, d.keys)
                                                            let dot = Vector.dot(UnsafePointer(row), prow, width)
                                                            for j in 0..<width { row[j] = prow[j] * (row[j] - dot) }
                                                            if width < d.keys { (row + width).update(repeating: 0, count: d.keys - width) }
                                                        }
                                                        // dQ = scale · dS K;  dK += scale · dSᵀ Q
                                                        SmallGemm.multiply(ds, lda: d.keys, kp + kvOffset, ldb: d.headDim, dqp + qOffset, ldc: d.headDim,
                                                                           m: d.queries, n: d.headDim, k: d.keys, alpha: scale, depth: through)
                                                        SmallGemm.transpose(ds, rows: d.queries, columns: d.keys, ld: d.keys, into: transposed)
                                                        SmallGemm.multiply(transposed, lda: d.queries, qp + qOffset, ldb: d.headDim, dkp + kvOffset, ldc: d.headDim,
                                                                           m: d.keys, n: d.headDim, k: d.queries, alpha: scale, accumulate: true, depth: from)
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
            }
        }
        return (dq, dk, dv)
    }

    /// Loops over every (b, h, i, j) in Double, the reference for `forward`.
    public static func naiveForward(query q: Tensor, key k: Tensor, value v: Tensor,
                                    options: AttentionOptions = AttentionOptions()) -> Tensor {
        let d = Dims(q, k, v, options)
        let scale = Double(options.scale ?? 1 / Float(d.headDim).squareRoot())
        var output = Tensor(zeros: q.shape)
        for b in 0..<d.batch {
            for h in 0..<d.heads {
                let kvOffset = d.kvOffset(b, h), qOffset = d.qOffset(b, h)
                for i in 0..<d.queries {
                    var scores = [Double](repeating: -.infinity, count: d.keys)
                    for j in 0..<d.keys where d.allowed(b, i, j, options) {
                        var dot: Double = 0
                        for e in 0..<d.headDim {
                            dot += Double(q.storage[qOffset + i * d.headDim + e]) * Double(k.storage[kvOffset + j * d.headDim + e])
                        }
                        scores[j] = dot * scale
                        if let bias = options.bias { scores[j] += Double(bias.storage[d.biasOffset(b, h, i, bias.count) + j]) }
                    }
                    let maximum = scores.max() ?? -.infinity
                    guard maximum > -.infinity else { continue }
                    let weights = scores.map { exp($0 - maximum) }
                    let total = weights.reduce(0, +)
                    for e in 0..<d.headDim {
                        var sum: Double = 0
                        for j in 0..<d.keys { sum += weights[j] * Double(v.storage[kvOffset + j * d.headDim + e]) }
                        output.storage[qOffset + i * d.headDim + e] = Float(sum / total)
                    }
                }
            }
        }
        return output
    }

    /// The dimensions of one call, checked once, and the index arithmetic shared by the kernels.
    struct Dims {
        let batch: Int, heads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int
        /// Rows per key/value head slab (≥ keys when k and v are a cache's buffers).
        let keyRows: Int

        init(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ options: AttentionOptions) {
            precondition(q.rank == 4 && k.rank == 4 && v.shape == k.shape, "q \(q.shape), k \(k.shape), v \(v.shape)")
            (batch, heads, queries, headDim) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
            (kvHeads, keyRows) = (k.shape[1], k.shape[2])
            keys = options.keyCount ?? keyRows
            precondition(keys <= keyRows, "\(keys) keys in use of \(keyRows) rows")
            precondition(k.shape[0] == batch && k.shape[3] == headDim, "k \(k.shape) does not match q \(q.shape)")
            precondition(kvHeads > 0 && heads % kvHeads == 0, "\(heads) query heads for \(kvHeads) KV heads")
            precondition(queries <= keys || !options.causal, "causal attention with more queries (\(queries)) than keys (\(keys))")
            if let mask = options.keyMask { precondition(mask.count == batch * keys, "key mask \(mask.count) for B·Tk \(batch * keys)") }
            if let bias = options.bias {
                precondition(bias.count == batch * heads * keys || bias.count == batch * heads * queries * keys,
                              "bias \(bias.shape) is neither (B, H, Tk) nor (B, H, Tq, Tk)")
            }
        }

        func qOffset(_ b: Int, _ h: Int) -> Int { (b * heads + h) * queries * headDim }
        func kvOffset(_ b: Int, _ h: Int) -> Int { (b * kvHeads + h / (heads / kvHeads)) * keyRows * headDim }

        func biasOffset(_ b: Int, _ h: Int, _ i: Int, _ count: Int) -> Int {
            count == batch * heads * keys ? (b * heads + h) * keys : ((b * heads + h) * queries + i) * keys
        }

        func allowed(_ b: Int, _ i: Int, _ j: Int, _ options: AttentionOptions) -> Bool {
            let position = i + keys - queries
            if options.causal && j > position { return false }
            if let window = options.window, j <= position - window { return false }
            if let mask = options.keyMask, !mask[b * keys + j] { return false }
            return true
        }
    }
}
