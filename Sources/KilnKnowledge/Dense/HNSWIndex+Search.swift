// Queries: a greedy descent through the upper layers, then a best-first search of the base layer with `ef`
// candidates, removed nodes walked through but never returned. A batch spreads its queries over the cores with one
// scratch per thread.
import KilnTensor

extension HNSWIndex {
    /// The `k` live vectors with the largest inner product with `query`, best first.
    public func search(_ query: [Float], k: Int, ef: Int? = nil) throws(HNSWError) -> [HNSWHit] {
        guard query.count == dimension else { throw .dimensionMismatch(expected: dimension, got: query.count) }
        let scratch = HNSWScratch(nodes: count, ef: max(ef ?? parameters.efSearch, k), listLength: maxM0 + 1)
        return query.withUnsafeBufferPointer { search($0.baseAddress!, k: k, ef: ef ?? parameters.efSearch, scratch: scratch) }
    }

    /// `search` for `queries.count / dimension` queries laid end to end, on every core.
    public func search(batch queries: [Float], k: Int, ef: Int? = nil) throws(HNSWError) -> [[HNSWHit]] {
        guard queries.count % dimension == 0 else { throw .dimensionMismatch(expected: dimension, got: queries.count % dimension) }
        let rows = queries.count / dimension
        let width = max(ef ?? parameters.efSearch, k)
        var results = [[HNSWHit]](repeating: [], count: rows)
        results.withUnsafeMutableBufferPointer { out in
            queries.withUnsafeBufferPointer { source in
                HNSWScratch.eachOneAtATime(0..<rows, threads: rows >= 16 ? Parallel.cores : 1, nodes: count, ef: width,
                                           listLength: maxM0 + 1) { row, scratch in
                    out[row] = search(source.baseAddress! + row * dimension, k: k, ef: ef ?? parameters.efSearch, scratch: scratch)
                }
            }
        }
        return results
    }

    /// One query with a scratch the caller owns.
    func search(_ query: UnsafePointer<Float>, k: Int, ef: Int, scratch: HNSWScratch) -> [HNSWHit] {
        guard entry >= 0, k > 0, liveCount > 0 else { return [] }
        var nearest = entry
        var nearestDistance = distance(query, vector(at: nearest))
        for layer in stride(from: Int(maxLevel), to: 0, by: -1) {
            (nearest, nearestDistance) = greedy(query, from: nearest, distance: nearestDistance, layer: layer, locking: false)
        }
        searchLayer(query, entry: nearest, entryDistance: nearestDistance, ef: max(ef, k), layer: 0, scratch: scratch,
                    locking: false, skipRemoved: true)
        while scratch.top.count > k { scratch.top.pop() }
        return scratch.top.drainAscending().map { HNSWHit(label: labels[Int($0.id)], score: -$0.distance) }
    }
}
