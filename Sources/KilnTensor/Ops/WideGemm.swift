// Prefill's float32 product y = x Wᵀ on AVX-512 with Kiln's own kernel (KilnKernels' sgemm_avx512.c) instead of
// OpenBLAS: sgemm packs all of W on every call, which at prefill's shapes (a few hundred rows of x against a weight of
// a few MB) costs as much memory traffic as the product itself. The kernel reads W in place and transposes only x.
import KilnKernels
import Synchronization

/// The AVX-512 float32 matrix product of prefill-sized `MatMul.forward` calls.
public enum WideGemm {
    /// Whether the kernel runs here (`KernelDispatch`: the CPU has AVX-512 and the environment allows it).
    public static let available = KernelDispatch.current.avx512

    /// Weight rows per stripe, the unit the cores claim: a multiple of the kernel's 6-row block, small enough that the
    /// last stripe keeps one core waiting only briefly and a stripe's partial sums stay in L2 between reduction blocks.
    static let stripeRows = 48

    /// Tokens per panel of the transposed activations (the kernel's 4 x 16 lanes).
    static let panelTokens = 64

    /// x rows from which the kernel beats sgemm (below it the 16-token lanes are mostly padding).
    static let minimumRows = 8

    /// x rows up to which it does: at 512 tokens OpenBLAS's AVX-512 packed panels run 0.7–0.9× the time of these
    /// transposes and stripes (`kiln-bench prefill-gemm`, docs/benchmarks.md), at 128 these run 1.0–1.4× faster (Intel).
    /// Where OpenBLAS runs an AVX2 kernel on this AVX-512 CPU (its detection predates the CPU, or OPENBLAS_CORETYPE forces
    /// one), this kernel ran 1.2–1.7× faster at every size (AMD Zen 5 under a forced Haswell core), so it takes them all.
    static let maximumRows = BLAS.hasAVX512Kernels ? 256 : Int.max

    /// Whether `MatMul.forward` (and the prefill of stored weights, widened a stripe at a time) should take this kernel for
    /// an x of `rows` rows.
    public static func handles(rows: Int) -> Bool { available && rows >= minimumRows && rows <= maximumRows }

    /// Writes float32 weight rows `range` (k floats each) into the buffer: a stored matrix widened a stripe at a time.
    public typealias Widening = (Range<Int>, UnsafeMutablePointer<Float>) -> Void

    /// One weight of `multiply(_:rows:inner:products:)`: y (m × outer) = x · wᵀ (+ bias), y overwritten.
    public struct Product: @unchecked Sendable {
        /// (outer, k) weight rows (unused when `widening` is set).
        public var weight: UnsafePointer<Float>
        /// Where the weight rows come from instead of `weight`: each stripe is widened into a per-core buffer that stays
        /// in cache, so a stored matrix never goes through memory as float32.
        public var widening: Widening?
        /// Rows of the weight, columns of y.
        public var outer: Int
        /// (outer) or nil.
        public var bias: UnsafePointer<Float>?
        /// (m, outer) result.
        public var output: UnsafeMutablePointer<Float>

        /// The product of `weight` (outer rows) into `output`, with `bias` if given.
        public init(weight: UnsafePointer<Float>, outer: Int, bias: UnsafePointer<Float>? = nil, output: UnsafeMutablePointer<Float>) {
            (self.weight, self.outer, self.bias, self.output) = (weight, outer, bias, output)
        }

        /// The product of a stored matrix of `outer` rows, widened a stripe at a time by `widening`, into `output`.
        public init(outer: Int, widening: @escaping Widening, output: UnsafeMutablePointer<Float>) {
            self.init(weight: UnsafePointer(output), outer: outer, output: output)
            self.widening = widening
        }
    }

    /// y[t · n + o] = Σ_p x[t · k + p] · w[o · k + p] (+ bias[o]) for t < m, o < n; y is overwritten.
    public static func multiply(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int, _ w: UnsafePointer<Float>, outer n: Int,
                                bias: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>) {
        multiply(x, rows: m, inner: k, products: [Product(weight: w, outer: n, bias: bias, output: y)])
    }

    /// Several weights against the same x (a layer's q, k and v, or gate and up): x is transposed once, and the cores
    /// claim stripes from all of them, so a small product (k_proj's 192 rows are 4 stripes) does not leave one idle.
    public static func multiply(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int, products: [Product]) {
        let mp = (m + 15) & ~15
        let xt = UnsafeMutablePointer<Float>.allocate(capacity: k * mp)
        defer { xt.deallocate() }
        nonisolated(unsafe) let (xs, xts) = (x, xt)
        // The cores split x by columns, every panel's share of each: by panels, 128 tokens were two tasks of 64 and
        // at most 4096 elements apart left one core doing them all.
        let columnChunk = 64, chunks = (k + columnChunk - 1) / columnChunk
        Parallel.rows(chunks, minimumPerTask: max(1, 8192 / (columnChunk * m))) { range in
            let p0 = range.lowerBound * columnChunk, p1 = min(k, range.upperBound * columnChunk)
            for t0 in stride(from: 0, to: mp, by: panelTokens) {
                let width = min(panelTokens, mp - t0), count = min(width, m - t0)
                kiln_transpose_avx512(xs + t0 * k + p0, Int32(count), Int32(p1 - p0), k, xts + t0 * k + p0 * width, width)
                // The padded tokens must be zeros: they take part in every block's arithmetic, though no output reads them.
                if count < width {
                    for p in p0..<p1 { (xts + t0 * k + p * width + count).initialize(repeating: 0, count: width - count) }
                }
            }
        }
        // Stripes are claimed one at a time rather than split in halves up front: on a shared machine one core often
        // runs slower for a while, and a fixed split leaves the other waiting for it.
        let stripes = products.flatMap { product in stride(from: 0, to: product.outer, by: stripeRows).map { (product, $0) } }
        let next = Atomic<Int>(0)
        let work = m * k * products.reduce(0) { $0 + $1.outer }
        let tasks = min(Parallel.cores, stripes.count, max(1, work / (1 << 18)))
        let widens = products.contains { $0.widening != nil }
        WorkerPool.shared.run(tasks: tasks) { _ in
            let stripe = UnsafeMutablePointer<Float>.allocate(capacity: stripeRows * mp)
            let rows = UnsafeMutablePointer<Float>.allocate(capacity: widens ? stripeRows * k : 0)
            defer { stripe.deallocate(); rows.deallocate() }
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < stripes.count else { break }
                let (product, start) = stripes[index]
                let count = min(stripeRows, product.outer - start)
                var weight = product.weight + start * k
                if let widening = product.widening {
                    widening(start..<(start + count), rows)
                    weight = UnsafePointer(rows)
                }
                kiln_sgemm_stripe_avx512(xts, Int32(mp), Int32(k), weight, product.bias.map { $0 + start },
                                         Int32(count), stripe, product.output + start, product.outer, Int32(m))
            }
        }
    }
}
