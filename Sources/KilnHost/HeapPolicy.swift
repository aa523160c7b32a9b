// How the process's malloc treats freed memory. A training step allocates and frees the same activation sizes every
// step (about 2 GB for SmolLM2 at 1024 tokens). glibc's defaults hand that memory back to the kernel at each step's
// end (trimming the heap top, dropping idle per-thread heaps, mapping blocks over its dynamic threshold afresh), so
// every step paid again for zeroed fresh pages: 170,000 page faults and a fifth of the step, measured with
// `perf stat -e page-faults` on `kiln-bench train`. jemalloc with default decay did no better.
#if canImport(Glibc)
import Glibc
#endif

/// The allocator settings Kiln runs with.
public enum HeapPolicy {
    /// Keeps freed blocks in the process for reuse: one arena, blocks up to 32 MB from the heap rather than their own
    /// mappings, and no trimming below 2 GB of free top. Call first thing in `main`, before other threads allocate.
    /// The cost is that a process keeps its peak heap after a training run ends, ready for the next.
    public static func retainFreedMemory() {
        #if canImport(Glibc)
        // Glibc's module map leaves malloc.h out, so mallopt is looked up by name with its C signature, and its
        // parameter numbers are malloc.h's.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        let (trimThreshold, mmapThreshold, arenaMax): (Int32, Int32, Int32) = (-1, -3, -8)
        _ = mallopt(arenaMax, 1)
        _ = mallopt(mmapThreshold, 32 << 20)
        _ = mallopt(trimThreshold, Int32.max)
        #endif
    }
}
