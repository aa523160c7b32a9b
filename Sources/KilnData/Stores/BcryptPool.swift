// Password hashing off the request path: one low-priority thread with a bounded queue.
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Runs bcrypt on a thread of its own, at a lower scheduling priority than the request threads, with a bounded queue.
///
/// bcrypt costs tens of milliseconds of CPU by design. On the shared pool a flood of logins would take every core from
/// other requests; here at most `threads` hashes run at once, the kernel lets request threads preempt them, and
/// when `maxQueued` are already waiting the next caller is told to come back later instead of waiting without bound.
public final class BcryptPool: Sendable {
    private let pool: NIOThreadPool
    private let maxQueued: Int
    private let queued = Atomic<Int>(0)

    /// Starts `threads` hashing threads.
    public init(threads: Int = 1, maxQueued: Int = 32) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
        self.maxQueued = maxQueued
    }

    /// The bcrypt hash of `password` at `cost`.
    /// - Throws: `DataError.rateLimited` when the queue is full.
    public func hash(_ password: String, cost: UInt8) async throws -> String {
        try await run { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`.
    /// - Throws: `DataError.rateLimited` when the queue is full.
    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await run { Bcrypt.verify(password, hash: hash) }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let waiting = queued.wrappingAdd(1, ordering: .relaxed).newValue
        defer { queued.wrappingSubtract(1, ordering: .relaxed) }
        guard waiting <= maxQueued else {
            throw DataError.rateLimited(message: "The server is busy checking passwords.", retryAfter: 2)
        }
        return try await pool.runIfActive {
            Self.lowerPriority()
            return work()
        }
    }

    /// Lowers the calling thread's priority (Linux sets nice per thread), so request threads run first on a busy
    /// machine; a syscall of about a microsecond beside a hash of tens of milliseconds, so it is simply repeated.
    private static func lowerPriority() {
        #if os(Linux)
        // On Linux, PRIO_PROCESS with id 0 names the calling thread, not the whole process (see pthreads(7)).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }

    /// Shuts the threads down.
    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
