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

    /// Calls `body` on disjoint ranges of at most `chunk` rows covering `0..<count`, each taken by whichever core is
    /// free next: where a static split left the caller waiting on the worker at every product (14% of a decoding
    /// step's main thread), the faster core now takes more of the chunks.
    public static func dynamicRows(_ count: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunk = max(1, chunk), chunks = (count + chunk - 1) / chunk
        let tasks = min(cores, chunks)
        if tasks <= 1 {
            body(0..<count)
            return
        }
        let next = ChunkCounter()
        WorkerPool.shared.run(tasks: tasks) { _ in
            while true {
                let index = next.value.add(1, ordering: .relaxed).oldValue
                guard index < chunks else { return }
                body((index * chunk)..<min(count, (index + 1) * chunk))
            }
        }
    }

    /// The rows per task below which splitting costs more than it saves, for a row of `width` elements:
    /// about 16K elements of work per task.
    public static func minimumRows(width: Int) -> Int {
        max(1, 16_384 / max(1, width))
    }
}

/// The next chunk of a `Parallel.dynamicRows` job, shared by the cores taking them.
final class ChunkCounter: Sendable {
    let value = Atomic<Int>(0)
}
