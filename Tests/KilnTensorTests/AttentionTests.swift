// Attention: against numpy on a small grouped-query case, the BLAS path against the naive loops on random
// shapes with every mask and bias option, fully masked rows, and backward against finite differences.
import Foundation
@testable import KilnTensor
import Testing

@Suite("Attention")
struct AttentionTests {
    // numpy 2.4.6 (float64): q (1,2,3,2), k and v (1,1,3,2) repeated to 2 heads; causal; scale 1/sqrt(2)
    //   s = q @ k.T / sqrt(2); s[~tril] = -inf; p = exp(s - max); p /= p.sum(-1); p @ v
    @Test("Causal grouped-query attention matches numpy")
    func matchesNumpy() {
        let q = Tensor(shape: [1, 2, 3, 2], storage: [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2])
        let k = Tensor(shape: [1, 1, 3, 2], storage: [0.3, -0.1, 0.2, 0.5, -0.4, 0.6])
        let v = Tensor(shape: [1, 1, 3, 2], storage: [1.0, 2.0, -1.0, 0.5, 0.25, -3.0])
        let expected = Tensor(shape: [1, 2, 3, 2], storage: [1.0, 2.0, -0.0951705127954483, 1.1786221265792847, 0.17037276923656464,
                                                             0.27216100692749023, 1.0, 2.0, -0.17838317155838013, 1.1162126064300537,
                                                             -0.003028079168871045, -1.092258334159851])
        let (output, _) = Attention.forward(query: q, key: k, value: v)
        #expect(output.maxAbsDifference(expected) < 1e-6, "max abs diff \(output.maxAbsDifference(expected))")
    }

    /// One configuration: (B, H, KVH, Tq, Tk, D) and options.
    struct Case: Sendable, CustomStringConvertible {
        var batch: Int, heads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int
        var causal = true, leftPadding: [Int]? = nil, rightPadding: [Int]? = nil, bias: Bool = false, window: Int? = nil
        var description: String { "B\(batch) H\(heads)/\(kvHeads) Tq\(queries) Tk\(keys) D\(headDim) window \(window.map(String.init) ?? "-")" }

        func tensors(seed: UInt64) -> (Tensor, Tensor, Tensor, AttentionOptions) {
            let q = KernelTests.random([batch, heads, queries, headDim], seed: seed)
            let k = KernelTests.random([batch, kvHeads, keys, headDim], seed: seed + 1)
            let v = KernelTests.random([batch, kvHeads, keys, headDim], seed: seed + 2)
            var options = AttentionOptions(causal: causal, window: window)
            if leftPadding != nil || rightPadding != nil {
                var mask = [Bool]()
                for b in 0..<batch {
                    let left = leftPadding?[b] ?? 0, right = rightPadding?[b] ?? 0
                    mask += (0..<keys).map { $0 >= left && $0 < keys - right }
                }
                options.keyMask = mask
            }
            if bias {
                let positions = ALiBi.keyPositions(mask: options.keyMask ?? Array(repeating: true, count: batch * keys), batch: batch, steps: keys)
                options.bias = ALiBi.bias(slopes: ALiBi.slopes(heads: heads), keyPositions: positions, batch: batch)
            }
            return (q, k, v, options)
        }
    }

    static let cases: [Case] = [
        Case(batch: 1, heads: 1, kvHeads: 1, queries: 1, keys: 1, headDim: 1),
        Case(batch: 2, heads: 4, kvHeads: 2, queries: 5, keys: 5, headDim: 8),
        Case(batch: 2, heads: 6, kvHeads: 2, queries: 7, keys: 7, headDim: 16, leftPadding: [3, 0]),
        Case(batch: 3, heads: 2, kvHeads: 2, queries: 6, keys: 6, headDim: 4, rightPadding: [0, 2, 5]),
        Case(batch: 2, heads: 4, kvHeads: 1, queries: 9, keys: 9, headDim: 8, leftPadding: [2, 0], bias: true),
        Case(batch: 1, heads: 8, kvHeads: 2, queries: 12, keys: 12, headDim: 32, window: 4),
        Case(batch: 2, heads: 2, kvHeads: 1, queries: 1, keys: 10, headDim: 8, leftPadding: [4, 0], window: 3),
        Case(batch: 1, heads: 3, kvHeads: 3, queries: 4, keys: 7, headDim: 5, causal: false, rightPadding: [2], bias: true),
        Case(batch: 1, heads: 4, kvHeads: 2, queries: 64, keys: 64, headDim: 64),
        // Long enough that the score rows are split across cores.
        Case(batch: 1, heads: 2, kvHeads: 1, queries: 300, keys: 300, headDim: 16, leftPadding: [7], bias: true),
    ]

    @Test("Blocked attention (SmallGemm, causal skipping, row blocks across cores) equals the naive loops", arguments: cases)
    func fastMatchesNaive(configuration: Case) {
        let (q, k, v, options) = configuration.tensors(seed: 71)
        let (fast, cache) = Attention.forward(query: q, key: k, value: v, options: options)
        let diff = fast.maxAbsDifference(Attention.naiveForward(query: q, key: k, value: v, options: options))
        #expect(diff < 1e-5, "max abs diff \(diff)")
        #expect(!fast.storage.contains { $0.isNaN } && !cache.probabilities.storage.contains { $0.isNaN })
    }

    static let decodeCases: [Case] = [
        Case(batch: 1, heads: 1, kvHeads: 1, queries: 1, keys: 1, headDim: 1),
        Case(batch: 1, heads: 9, kvHeads: 3, queries: 1, keys: 2048, headDim: 64),
        // The first chunks see only padding (a chunk with every key masked), and ALiBi's bias.
        Case(batch: 2, heads: 4, kvHeads: 2, queries: 1, keys: 300, headDim: 8, leftPadding: [130, 0], bias: true),
        Case(batch: 1, heads: 2, kvHeads: 1, queries: 3, keys: 200, headDim: 16, window: 50),
        Case(batch: 2, heads: 2, kvHeads: 2, queries: 4, keys: 130, headDim: 20, causal: false, rightPadding: [0, 10]),
    ]

    @Test("Decoding steps over a cache's buffers (flash-decoding chunks) equal the naive loops", arguments: decodeCases)
    func decodeMatchesNaive(configuration: Case) {
        let (q, k, v, options) = configuration.tensors(seed: 75)
        // The cache's buffers hold more rows than are in use; the rows past keyCount must be ignored.
        let capacity = configuration.keys + 5
        func buffer(_ t: Tensor) -> Tensor {
            var out = Tensor(zeros: [t.shape[0], t.shape[1], capacity, t.shape[3]])
            let (groups, rows, width) = (t.shape[0] * t.shape[1], t.shape[2], t.shape[3])
            for g in 0..<groups {
                for i in 0..<(capacity * width) {
                    out.storage[g * capacity * width + i] = i < rows * width ? t.storage[g * rows * width + i] : 1e4
                }
            }
            return out
        }
        var cached = options
        cached.keyCount = configuration.keys
        let output = Attention.forward(query: q, key: buffer(k), value: buffer(v), options: cached).0
        let diff = output.maxAbsDifference(Attention.naiveForward(query: q, key: k, value: v, options: options))
        #expect(diff < 1e-5, "max abs diff \(diff)")
    }

    @Test("Decoding steps reading a float16 copy of the cache equal the naive loops over the float16-rounded keys and values",
          arguments: decodeCases)
    func decodeFromHalfCache(configuration: Case) {
        var (q, k, v, options) = configuration.tensors(seed: 77)
        q = HalfRounding.rounded(q)
        (k, v) = (HalfRounding.rounded(k), HalfRounding.rounded(v))
        func bits(_ t: Tensor) -> [UInt16] { t.storage.map { Float16($0).bitPattern } }
        var cached = options
        cached.keyCount = configuration.keys
        cached.halfCache = HalfKV(keys: bits(k), values: bits(v))
        // The float32 buffers are never read when the float16 copy is given.
        let output = Attention.forward(query: q, key: Tensor(zeros: k.shape), value: Tensor(zeros: v.shape), options: cached).0
        let diff = output.maxAbsDifference(Attention.naiveForward(query: q, key: k, value: v, options: options))
        #expect(diff < 1e-5, "max abs diff \(diff)")
    }

    @Test("llama.cpp numerics in decoding steps: the float16 copy gives what the float32 buffers of the same values give, and both equal the general path",
          arguments: decodeCases + [Case(batch: 1, heads: 20, kvHeads: 2, queries: 2, keys: 150, headDim: 12)])
    func decodeRoundedFromHalfCache(configuration: Case) {
        var (q, k, v, options) = configuration.tensors(seed: 78)
        (k, v) = (HalfRounding.rounded(k), HalfRounding.rounded(v))
        options.halfPrecision = true
        func bits(_ t: Tensor) -> [UInt16] { t.storage.map { Float16($0).bitPattern } }
        var cached = options
        cached.keyCount = configuration.keys
        let fromFloat = Attention.forward(query: q, key: k, value: v, options: cached).0
        cached.halfCache = HalfKV(keys: bits(k), values: bits(v))
        let fromHalf = Attention.forward(query: q, key: Tensor(zeros: k.shape), value: Tensor(zeros: v.shape), options: cached).0
        // The general path (no keyCount) forms and rounds whole probability rows.
        let general = Attention.forward(query: q, key: k, value: v, options: options).0
        #expect(fromHalf.maxAbsDifference(fromFloat) < 1e-5)
        #expect(fromFloat.maxAbsDifference(general) < 1e-5)
    }

    @Test("llama.cpp numerics: a long decoding step split by keys and channels equals one task per row bit for bit",
          arguments: [Case(batch: 1, heads: 9, kvHeads: 3, queries: 1, keys: 600, headDim: 64),
                      Case(batch: 2, heads: 4, kvHeads: 2, queries: 1, keys: 300, headDim: 32)])
    func splitDecodeStep(configuration: Case) {
        var (q, k, v, options) = configuration.tensors(seed: 79)
        (k, v) = (HalfRounding.rounded(k), HalfRounding.rounded(v))
        options.halfPrecision = true
        options.keyCount = configuration.keys
        options.halfCache = HalfKV(keys: HalfKV.bits(k), values: HalfKV.bits(v))
        let split = Attention.forward(query: q, key: k, value: v, options: options).0
        // A window wider than the cache hides nothing but takes the per-row path.
        options.window = 1 << 20
        let perRow = Attention.forward(query: q, key: k, value: v, options: options).0
        #expect(configuration.keys >= GGMLAttention.splitKeys)
        #expect(split.storage.map(\.bitPattern) == perRow.storage.map(\.bitPattern))
    }

    @Test("A decoding step over a cache with no keys in use gives zeros, not a crash")
    func decodeWithoutKeys() {
        let q = KernelTests.random([1, 2, 1, 4], seed: 76), k = Tensor(zeros: [1, 1, 3, 4])
        var options = AttentionOptions(causal: false)
        options.keyCount = 0
        #expect(Attention.forward(query: q, key: k, value: k, options: options).0.storage == [Float](repeating: 0, count: 8))
    }

    @Test("Fully masked query rows give zero output and zero probabilities, not NaN")
    func fullyMaskedRows() {
        // Left padding of 3 with a causal mask: queries 0–2 see only padding.
        let configuration = Case(batch: 2, heads: 2, kvHeads: 1, queries: 5, keys: 5, headDim: 4, leftPadding: [3, 0])
        let (q, k, v, options) = configuration.tensors(seed: 72)
        let (output, cache) = Attention.forward(query: q, key: k, value: v, options: options)
        for h in 0..<2 {
            for i in 0..<3 {
                #expect(output.storage[(h * 5 + i) * 4..<(h * 5 + i + 1) * 4].allSatisfy { $0 == 0 })
                #expect(cache.probabilities.storage[(h * 5 + i) * 5..<(h * 5 + i + 1) * 5].allSatisfy { $0 == 0 })
            }
        }
        // Row 1 (no padding) still attends normally; backward stays finite.
        #expect(output.storage[40..<80].contains { $0 != 0 })
        let gradients = Attention.backward(KernelTests.random(q.shape, seed: 73), cache: cache)
        #expect(![gradients.query, gradients.key, gradients.value].contains { $0.storage.contains { !$0.isFinite } })
    }

    @Test("Sliding window: a query sees exactly the last `window` keys")
    func slidingWindow() {
        let configuration = Case(batch: 1, heads: 1, kvHeads: 1, queries: 6, keys: 6, headDim: 2, window: 2)
        let (q, k, v, options) = configuration.tensors(seed: 74)
        let probabilities = Attention.forward(query: q, key: k, value: v, options: options).1.probabilities
        for i in 0..<6 {
            for j in 0..<6 { #expect((probabilities[0, 0, i, j] > 0) == (j <= i && j > i - 2), "query \(i) key \(j)") }
        }
    }

    @Test("Attention backward equals finite differences for q, k and v",
          arguments: [cases[1], cases[2], cases[4], cases[6], cases[7]])
    func backward(configuration: Case) {
        let (q, k, v, options) = configuration.tensors(seed: 75)
        let dout = KernelTests.random(q.shape, seed: 76)
        let (_, cache) = Attention.forward(query: q, key: k, value: v, options: options)
        let (dq, dk, dv) = Attention.backward(dout, cache: cache)
        let nq = KernelTests.numericalGradient(q, dout) { Attention.naiveForward(query: $0, key: k, value: v, options: options) }
        let nk = KernelTests.numericalGradient(k, dout) { Attention.naiveForward(query: q, key: $0, value: v, options: options) }
        let nv = KernelTests.numericalGradient(v, dout) { Attention.naiveForward(query: q, key: k, value: $0, options: options) }
        #expect(dq.maxAbsDifference(nq) < 2e-3, "dq max abs diff \(dq.maxAbsDifference(nq))")
        #expect(dk.maxAbsDifference(nk) < 2e-3, "dk max abs diff \(dk.maxAbsDifference(nk))")
        #expect(dv.maxAbsDifference(nv) < 2e-3, "dv max abs diff \(dv.maxAbsDifference(nv))")
    }
}
