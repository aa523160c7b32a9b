// Group commit: concurrent small write transactions share one SQLite transaction.
import SQLKit
import Synchronization

/// One queued write: runs inside a shared transaction and returns what to do once it commits.
struct GroupCommitJob: Sendable {
    /// Runs the job's statements; returns the completion that delivers its result after COMMIT.
    /// Throws only for unexpected database failures (domain errors become completions).
    let run: @Sendable (any SQLDatabase) async throws -> @Sendable () -> Void
    /// Fails the job without running it.
    let fail: @Sendable (any Error) -> Void
}

/// The queue of jobs waiting for the writer and whether a drainer is already working on it.
final class GroupCommitQueue: Sendable {
    private struct State {
        var jobs: [GroupCommitJob] = []
        var draining = false
    }

    private let state = Mutex(State())

    /// The most jobs one transaction carries, so one slow group cannot delay the rest for long.
    static let maxGroup = 64

    /// Adds a job; returns `true` when the caller must start draining.
    func enqueue(_ job: GroupCommitJob) -> Bool {
        state.withLock { state in
            state.jobs.append(job)
            if state.draining { return false }
            state.draining = true
            return true
        }
    }

    /// Takes up to `maxGroup` jobs; when none are left the drainer stops.
    func take() -> [GroupCommitJob] {
        state.withLock { state in
            if state.jobs.isEmpty {
                state.draining = false
                return []
            }
            let group = Array(state.jobs.prefix(Self.maxGroup))
            state.jobs.removeFirst(group.count)
            return group
        }
    }
}
