// The machine's memory read bandwidth, the bound a decoding step runs against: every weight is read once per
// token, so tokens/s can never exceed bandwidth ÷ weight bytes. Measured like STREAM's read kernels: a buffer
// far larger than the caches, summed by every core in disjoint slices, best of several passes. The sum is
// KilnKernels' prefetching loop: a bound the kernels can beat would flatter them.
import Foundation
import KilnKernels
import KilnTensor

/// Read bandwidth probe.
enum MemoryBandwidth {
    /// Bytes per second reading `bytes` (default 1 GiB) with all cores, best of `passes`.
    static func measure(bytes: Int = 1 << 30, passes: Int = 5) -> Double {
        let count = bytes / MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        defer { raw.deallocate() }
        let buffer = raw.bindMemory(to: Float.self, capacity: count)
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

    /// Σ x over n floats, as fast as this CPU reads memory.
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float { kiln_read_sum(x, n, KernelDispatch.current.avx512 ? 1 : 0) }
}
