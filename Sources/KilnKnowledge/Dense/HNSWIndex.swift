// A hierarchical navigable small world graph (Malkov & Yashunin, 2016) over inner-product similarity, the index
// hnswlib and faiss build, laid out as flat arrays so that it can be written to disk and mapped back without parsing.
// Each node has a base-layer neighbour list of up to 2M entries and, on each layer above up to its random level,
// a list of up to M; a list is [count, id, id, ...] in Int32. Vectors are not normalised here: the caller gives unit
// vectors when it wants cosine similarity, as sentence embeddings are.
import Foundation
import KilnKernels
import KilnModels
import KilnTensor

/// How an HNSW graph is shaped and searched.
public struct HNSWParameters: Sendable, Equatable, Codable {
    /// Links per node on the upper layers (twice as many on the base layer).
    public var m: Int
    /// The candidate list size while inserting: larger builds slower and finds better neighbours.
    public var efConstruction: Int
    /// The default candidate list size while searching: larger is slower and recalls more.
    public var efSearch: Int
    /// Seeds the level draws, so the same inserts build the same graph.
    public var seed: UInt64

    /// hnswlib's defaults for M and efConstruction.
    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 100) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
    }

    /// Whether the values make a usable graph.
    public var isValid: Bool { (2...512).contains(m) && (1...100_000).contains(efConstruction) && (1...100_000).contains(efSearch) }
}

/// Why an index refused a request.
public enum HNSWError: Error, Equatable, CustomStringConvertible {
    case dimensionMismatch(expected: Int, got: Int)
    case notFinite(label: Int64)
    case invalidParameters
    case badFile(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let got): "The index holds \(expected)-dimensional vectors; this one has \(got)."
        case .notFinite(let label): "The vector for \(label) has a value that is not a finite number."
        case .invalidParameters: "HNSW needs 2 ≤ M ≤ 512 and ef values from 1 to 100000."
        case .badFile(let why): "The index file cannot be read: \(why)"
        }
    }
}

/// One search hit: the caller's label and the inner product with the query.
public struct HNSWHit: Sendable, Equatable {
    public var label: Int64
    public var score: Float
}

/// An approximate nearest-neighbour index. Searches may run at once from many threads; `add` and `remove` must not
/// overlap each other or a search (the caller serialises them, as the knowledge store does per base).
public final class HNSWIndex: @unchecked Sendable {
    /// The vectors' length.
    public let dimension: Int
    /// The graph's shape.
    public let parameters: HNSWParameters
    let maxM: Int
    let maxM0: Int
    let levelScale: Double
    /// Nodes in the graph, removed ones included until a rebuild.
    public internal(set) var count = 0
    /// Nodes marked removed: skipped by searches, still walked through.
    public internal(set) var removedCount = 0
    var capacity = 0
    var vectors: UnsafeMutablePointer<Float>
    var labels: UnsafeMutablePointer<Int64>
    var levels: UnsafeMutablePointer<Int32>
    var removed: UnsafeMutablePointer<UInt8>
    var links0: UnsafeMutablePointer<Int32>
    var upperOffsets: UnsafeMutablePointer<Int64>
    var upperPool: UnsafeMutablePointer<Int32>
    var upperCount = 0
    var upperCapacity = 0
    var locks: UnsafeMutablePointer<UInt8>
    let globalLock = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    var slotOfLabel: [Int64: Int32] = [:]
    var entry: Int32 = -1
    var maxLevel: Int32 = -1
    var random: SplitMix64
    /// The file the arrays point into after `load`, until an insert outgrows it.
    var mapping: FileMapping?

    /// An empty index of `dimension`-long vectors.
    public init(dimension: Int, parameters: HNSWParameters = HNSWParameters()) throws(HNSWError) {
        guard parameters.isValid, dimension > 0 else { throw .invalidParameters }
        self.dimension = dimension
        self.parameters = parameters
        maxM = parameters.m
        maxM0 = parameters.m * 2
        levelScale = 1 / log(Double(parameters.m))
        random = SplitMix64(seed: parameters.seed)
        vectors = .allocate(capacity: 1)
        labels = .allocate(capacity: 1)
        levels = .allocate(capacity: 1)
        removed = .allocate(capacity: 1)
        links0 = .allocate(capacity: 1)
        upperOffsets = .allocate(capacity: 1)
        upperPool = .allocate(capacity: 1)
        locks = .allocate(capacity: 1)
        globalLock.initialize(to: 0)
    }

    deinit {
        releaseArrays()
        locks.deallocate()
        globalLock.deallocate()
    }

    /// Frees the arrays unless they live in a mapped file, which unmaps itself.
    func releaseArrays() {
        if mapping == nil {
            vectors.deallocate()
            labels.deallocate()
            levels.deallocate()
            removed.deallocate()
            links0.deallocate()
            upperOffsets.deallocate()
            upperPool.deallocate()
        }
        mapping = nil
    }

    /// Live (not removed) nodes.
    public var liveCount: Int { count - removedCount }

    /// Whether `label` is in the index and not removed.
    public func contains(_ label: Int64) -> Bool {
        guard let slot = slotOfLabel[label] else { return false }
        return removed[Int(slot)] == 0
    }

    /// Every live label.
    public var liveLabels: [Int64] { (0..<count).compactMap { removed[$0] == 0 ? labels[$0] : nil } }

    /// The stored vector of a live label.
    public func vector(_ label: Int64) -> [Float]? {
        guard let slot = slotOfLabel[label], removed[Int(slot)] == 0 else { return nil }
        return Array(UnsafeBufferPointer(start: vectors + Int(slot) * dimension, count: dimension))
    }

    /// Marks labels removed; searches skip them. Unknown labels are ignored.
    public func remove(_ labelsToRemove: some Sequence<Int64>) {
        for label in labelsToRemove {
            guard let slot = slotOfLabel.removeValue(forKey: label), removed[Int(slot)] == 0 else { continue }
            removed[Int(slot)] = 1
            removedCount += 1
        }
    }

    /// The neighbour list of `slot` on `layer`: [count, ids...].
    @inline(__always) func links(_ slot: Int32, _ layer: Int) -> UnsafeMutablePointer<Int32> {
        if layer == 0 { return links0 + Int(slot) * (maxM0 + 1) }
        return upperPool + Int(upperOffsets[Int(slot)]) + (layer - 1) * (maxM + 1)
    }

    /// The vector of `slot`.
    @inline(__always) func vector(at slot: Int32) -> UnsafeMutablePointer<Float> { vectors + Int(slot) * dimension }

    /// Negative inner product: smaller is nearer, as the graph's heaps expect.
    @inline(__always) func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        -Self.dot(a, b, dimension)
    }

    /// The inner product of two `n`-long vectors, sixteen lanes at a time with two accumulators.
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 32 <= n {
            s0 = s0.addingProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                  rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            s1 = s1.addingProduct(ra.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self),
                                  rb.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self))
            i += 32
        }
        if i + 16 <= n {
            s0 = s0.addingProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                  rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        // A pairwise reduction: `.sum()` adds the sixteen lanes one after another, a chain four times as long.
        let v16 = s0 + s1
        let v8 = v16.lowHalf + v16.highHalf
        let v4 = v8.lowHalf + v8.highHalf
        let v2 = v4.lowHalf + v4.highHalf
        var total = v2[0] + v2[1]
        while i < n {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }

    /// Whether the AVX-512 kernel computes distances (`KernelDispatch`: the CPU has it and the environment allows it).
    static let wide = KernelDispatch.current.avx512

    /// out[i] = dot(query, vector of ids[i]) for i < count, by the widest kernel the CPU runs.
    @inline(__always) static func gatherDots(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<Float>, _ ids: UnsafePointer<Int32>,
                                             _ count: Int, _ dimension: Int, into out: UnsafeMutablePointer<Float>) {
        if wide {
            kiln_gather_dot_avx512(query, vectors, ids, Int32(count), Int32(dimension), out)
        } else {
            gatherDotsAVX2(query, vectors, ids, count, dimension, into: out)
        }
    }

    /// The reference (and AVX2 floor) of `kiln_gather_dot_avx512`.
    static func gatherDotsAVX2(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<Float>, _ ids: UnsafePointer<Int32>,
                               _ count: Int, _ dimension: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            if i + 1 < count { kiln_prefetch(vectors + Int(ids[i + 1]) * dimension) }
            out[i] = dot(query, vectors + Int(ids[i]) * dimension, dimension)
        }
    }

    /// Grows the per-node arrays to hold `needed` nodes, copying out of a mapped file when there is one.
    func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity * 2, 64)
        func grow<T>(_ old: UnsafeMutablePointer<T>, _ perNode: Int) -> UnsafeMutablePointer<T> {
            let fresh = UnsafeMutablePointer<T>.allocate(capacity: newCapacity * perNode)
            fresh.update(from: old, count: count * perNode)
            return fresh
        }
        let grown = (grow(vectors, dimension), grow(labels, 1), grow(levels, 1), grow(removed, 1), grow(links0, maxM0 + 1),
                     grow(upperOffsets, 1))
        let pool = UnsafeMutablePointer<Int32>.allocate(capacity: max(upperCapacity, 1))
        pool.update(from: upperPool, count: upperCount)
        releaseArrays()
        (vectors, labels, levels, removed, links0, upperOffsets) = grown
        upperPool = pool
        locks.deallocate()
        locks = .allocate(capacity: newCapacity)
        locks.initialize(repeating: 0, count: newCapacity)
        capacity = newCapacity
    }

    /// Grows the upper-layer pool to hold `needed` Int32s.
    func reserveUpper(_ needed: Int) {
        guard needed > upperCapacity else { return }
        let newCapacity = max(needed, upperCapacity * 2, 1024)
        let fresh = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        fresh.update(from: upperPool, count: upperCount)
        if mapping == nil { upperPool.deallocate() }
        upperPool = fresh
        upperCapacity = newCapacity
    }

    /// A level drawn from the exponential distribution HNSW prescribes (mean 1 / ln M).
    func drawLevel() -> Int32 {
        let uniform = Double(random.next() >> 11) / Double(1 << 53)
        return Int32(min(-log(max(uniform, .leastNonzeroMagnitude)) * levelScale, 30))
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64) for the level draws.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
