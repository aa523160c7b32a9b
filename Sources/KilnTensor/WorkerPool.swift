// A persistent pool of one worker per extra core that spins briefly between jobs. A decoding step of a small
// model is a few hundred parallel products of ~30 µs each; waking a libdispatch worker through the kernel for
// every one cost ~15% of the step. Workers spin on an atomic job counter for a short while after each job,
// then sleep on a semaphore, so an idle process uses no CPU.
import Dispatch
import Foundation
import Synchronization

/// Runs `tasks` indices of a job across the calling thread and the pool's workers.
final class WorkerPool: Sendable {
    /// The pool for this process: one worker per core beyond the caller's.
    static let shared = WorkerPool(workers: Parallel.cores - 1)

    /// Spin iterations before a worker sleeps (a few hundred microseconds on current cores: longer than a norm or a
    /// RoPE between two products of a prefill, which otherwise found the workers asleep).
    static let spinLimit = 200_000

    private let workers: Int
    /// Bumped once per job; workers run a job when it moves past the last one they saw.
    private let generation = Atomic<Int>(0)
    /// Workers still running the current job.
    private let remaining = Atomic<Int>(0)
    /// Workers asleep on `wake`.
    private let sleeping = Atomic<Int>(0)
    /// Set before OpenBLAS runs its own threads: spinning workers go to sleep at once instead of competing for
    /// the cores; the next job wakes them.
    private let parked = Atomic<Bool>(false)
    /// Held by the thread that owns the pool for one job; others (nested or concurrent callers) run serially.
    private let busy = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// The job and its task count, written by the owner before `generation` is bumped (release/acquire order).
    private nonisolated(unsafe) let job = UnsafeMutablePointer<(count: Int, body: ((Int) -> Void)?)>.allocate(capacity: 1)

    private init(workers: Int) {
        self.workers = max(0, workers)
        job.initialize(to: (0, nil))
        for index in 0..<self.workers {
            let thread = Thread { [self] in self.work(index: index + 1) }
            thread.name = "kiln-worker-\(index + 1)"
            thread.start()
        }
    }

    /// Calls `body(i)` for every i in 0..<tasks, task 0 on this thread; returns when all are done. Falls back to
    /// running the tasks here, in order, when the pool is already in use (a nested or concurrent call).
    func run(tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 1, workers > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for task in 0..<tasks { body(task) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        parked.store(false, ordering: .relaxed)
        withoutActuallyEscaping(body) { escapable in
            job.pointee = (tasks, escapable)
            remaining.store(workers, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            let asleep = sleeping.load(ordering: .sequentiallyConsistent)
            for _ in 0..<asleep { wake.signal() }
            escapable(0)
            while remaining.load(ordering: .acquiring) > 0 {}
            job.pointee = (0, nil)
        }
    }

    /// Sends spinning workers to sleep until the next job (called before a multi-threaded OpenBLAS product).
    func park() {
        if !parked.load(ordering: .relaxed) { parked.store(true, ordering: .relaxed) }
    }

    /// A worker's loop: wait for the next generation, run its task index if the job has one, report done.
    private func work(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                guard spins > Self.spinLimit || parked.load(ordering: .relaxed) else { continue }
                sleeping.add(1, ordering: .sequentiallyConsistent)
                // Checked after announcing sleep, so a job posted in between is seen here or signals us.
                if generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                spins = 0
            }
            seen = generation.load(ordering: .acquiring)
            runTask(index)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Runs this worker's task of the current job. A function of its own so the reference to the caller's
    /// closure is released before the worker reports done (the caller checks that it did not escape).
    @inline(never)
    private func runTask(_ index: Int) {
        let (count, body) = job.pointee
        if index < count, let body { body(index) }
    }
}
