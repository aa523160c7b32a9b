// The machine's memory read bandwidth, the bound a decoding step runs against: every weight is read once per
// token, so tokens/s can never exceed bandwidth ÷ weight bytes. Measured like STREAM's read kernels: a buffer
// far larger than the caches, summed by every core in disjoint slices, best of several passes.
import Foundation
import KilnTensor

/// Read bandwidth probe.
enum MemoryBandwidth {
    /// Bytes per second reading `bytes` (default 1 GiB) with all cores, best of `passes`.
    static func measure(bytes: Int = 1 << 30, passes: Int = 5) -> Double {
        let count = bytes / MemoryLayout<Float>.stride
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        // Touch every page first so the timing sees reads, not page faults.
        buffer.initialize(repeating: 1, count: count)
        nonisolated(unsafe) let base = UnsafePointer(buffer)
        var best = Double.infinity
        var sink: Float = 0
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: Parallel.cores)
            partial.initialize(repeating: 0, count: Parallel.cores)
            nonisolated(unsafe) let sums = partial
            let chunk = (count + Parallel.cores - 1) / Parallel.cores
            Parallel.rows(Parallel.cores) { range in
                for task in range {
                    let lower = task * chunk, upper = min(count, lower + chunk)
                    sums[task] = sum(base + lower, upper - lower)
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            for task in 0..<Parallel.cores { sink += partial[task] }
            partial.deallocate()
        }
        // The sum is used so the reads cannot be optimised away.
        if sink == -1 { print("") }
        return Double(count * MemoryLayout<Float>.stride) / best
    }

    /// Σ x over n floats with four independent SIMD accumulators (enough loads in flight to saturate memory).
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        typealias Lanes = SIMD16<Float>
        var a = Lanes(), b = Lanes(), c = Lanes(), d = Lanes()
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 64 <= n {
            a += raw.loadUnaligned(fromByteOffset: 4 * i, as: Lanes.self)
            b += raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: Lanes.self)
            c += raw.loadUnaligned(fromByteOffset: 4 * (i + 32), as: Lanes.self)
            d += raw.loadUnaligned(fromByteOffset: 4 * (i + 48), as: Lanes.self)
            i += 64
        }
        var total = (a + b + c + d).sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }
}
