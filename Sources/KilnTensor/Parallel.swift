// Row-wise work split across the cores. Each row is computed by exactly one task with the same code as
// the serial loop, so the split never changes a result (no cross-row reductions happen here).
import Dispatch
import Foundation
import Synchronization

/// Splits independent rows of work across the machine's cores with the spinning `WorkerPool`.
public enum Parallel {
    /// The cores available to this process (`ProcessInfo.activeProcessorCount`), read once.
    public static let cores: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` on contiguous, disjoint ranges covering `0..<count`; one range per core when every task
    /// gets at least `minimumPerTask` rows, otherwise fewer (a single call on this thread for small work).
    public static func rows(_ count: Int, minimumPerTask: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let tasks = min(cores, count / max(1, minimumPerTask))
        if tasks <= 1 {
            body(0..<count)
            return
        }
        // The ranges are disjoint, so callers that write only their own rows never race. The pool returns after
        // every task, so `body` does not outlive this call.
        WorkerPool.shared.run(tasks: tasks) { task in
            body((count * task / tasks)..<(count * (task + 1) / tasks))
        }
    }

    /// Calls `body` on disjoint chunks of at most `chunk` rows covering `0..<count`, each core walking its own
    /// contiguous share front to back, and a core done with its share taking the last chunk of the share with the most
    /// left. Decode kernels prefetch the rows ahead of where they read, which pays only along a contiguous walk: handing
    /// out chunks in turn broke every walk at each chunk (bf16 decode products 10.5 -> 9.7 ms a token), while one fixed
    /// share per core left the first core done waiting on the other (14% of a decoding step's main thread, once).
    public static func streamRows(_ count: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunk = max(1, chunk), chunks = (count + chunk - 1) / chunk
        let tasks = min(cores, chunks)
        if tasks <= 1 {
            body(0..<count)
            return
        }
        func run(_ index: Int) { body((index * chunk)..<min(count, (index + 1) * chunk)) }
        // The cursors live on this stack (the pool returns only after every task): a heap object per job cost an
        // allocation, a free and reference counts that both cores touched; an empty two-task job took 2.3 µs, now 1.8.
        withUnsafeTemporaryAllocation(byteCount: tasks * ShareCursors.lineBytes, alignment: ShareCursors.lineBytes) { raw in
            let shares = ShareCursors(raw.baseAddress!, chunks: chunks, shares: tasks)
            WorkerPool.shared.run(tasks: tasks) { task in
                while let index = shares.takeFront(task) { run(index) }
                while let index = shares.steal() { run(index) }
            }
        }
    }

    /// `streamRows` over the rows of several parts laid end to end (a layer's q, k and v weights): one hand-out for all
    /// of them, `body(part, rows)` getting each chunk's rows within its part, a chunk that straddles two parts in two calls.
    public static func streamRows(parts sizes: [Int], chunk: Int, _ body: (Int, Range<Int>) -> Void) {
        let starts = sizes.reduce(into: [0]) { $0.append($0.last! + $1) }
        starts.withUnsafeBufferPointer { starts in
            streamRows(starts.last!, chunk: chunk) { range in
                for part in 0..<(starts.count - 1) where starts[part] < range.upperBound && range.lowerBound < starts[part + 1] {
                    body(part, (max(range.lowerBound, starts[part]) - starts[part])..<(min(range.upperBound, starts[part + 1]) - starts[part]))
                }
            }
        }
    }

    /// The rows per task below which splitting costs more than it saves, for a row of `width` elements:
    /// about 16K elements of work per task.
    public static func minimumRows(width: Int) -> Int {
        max(1, 16_384 / max(1, width))
    }
}

/// The unclaimed chunks of each core's share in a `Parallel.streamRows` job: one word per share holding the next chunk
/// from the front (low 32 bits) and the end of the unclaimed run (high 32 bits), so the owner and a thief claim from
/// opposite ends with one compare-and-exchange each. Each word has a cache line to itself: an owner's claims would
/// otherwise take the line from the other core at every chunk. The memory is the caller's, for the job's duration.
struct ShareCursors: @unchecked Sendable {
    private let cursors: UnsafeMutablePointer<Atomic<Int>>
    private let shares: Int
    /// Bytes between two shares' cursors (a cache line).
    static let lineBytes = 64
    /// Words between two shares' cursors.
    private static let spacing = lineBytes / 8

    /// Shares of `chunks` split as evenly as whole chunks allow, in `shares` cache lines at `memory`.
    init(_ memory: UnsafeMutableRawPointer, chunks: Int, shares: Int) {
        precondition(chunks < 1 << 31, "too many chunks for a share cursor")
        self.shares = shares
        cursors = memory.bindMemory(to: Atomic<Int>.self, capacity: shares * Self.spacing)
        for share in 0..<shares {
            let (front, end) = (chunks * share / shares, chunks * (share + 1) / shares)
            (cursors + share * Self.spacing).initialize(to: Atomic(front | end << 32))
        }
    }

    /// The next chunk of `share` from its front, or nil when none is left.
    func takeFront(_ share: Int) -> Int? {
        let cursor = cursors + share * Self.spacing
        var state = cursor.pointee.load(ordering: .relaxed)
        while true {
            let (front, end) = (state & 0xFFFF_FFFF, state >> 32)
            guard front < end else { return nil }
            let (exchanged, original) = cursor.pointee.compareExchange(expected: state, desired: (front + 1) | end << 32,
                                                                       ordering: .relaxed)
            if exchanged { return front }
            state = original
        }
    }

    /// The last unclaimed chunk of the share with the most left, or nil when every share is done.
    func steal() -> Int? {
        while true {
            var (best, bestLeft, bestState) = (-1, 0, 0)
            for share in 0..<shares {
                let state = cursors[share * Self.spacing].load(ordering: .relaxed)
                let left = (state >> 32) - (state & 0xFFFF_FFFF)
                if left > bestLeft { (best, bestLeft, bestState) = (share, left, state) }
            }
            guard best >= 0 else { return nil }
            let (front, end) = (bestState & 0xFFFF_FFFF, bestState >> 32)
            if cursors[best * Self.spacing].compareExchange(expected: bestState, desired: front | (end - 1) << 32, ordering: .relaxed).exchanged {
                return end - 1
            }
        }
    }
}
