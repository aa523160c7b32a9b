// Training jobs: the queue `kiln serve` works through one job at a time, each row a run spec with its state and
// progress. The runner that executes them lives in KilnServer; this store only keeps what it reports.
import Foundation
import KilnLedger
import KilnStore
import SQLKit

/// One training job as stored.
public struct TrainingJob: Sendable, Equatable {
    /// The job's states.
    public enum State: String, Sendable, CaseIterable {
        case queued, running, succeeded, failed, cancelled
        /// Running when its node stopped (a crash, `kill -9`); `resume` queues it again from its last checkpoint.
        case interrupted
    }

    public var id: Int
    /// Who queued it, and the Datanet version it trains on.
    public var owner: String
    public var datanet: String
    public var version: Int
    /// The base model's name on this node (`default`, or a folder under the node's models directory).
    public var base: String
    public var state: State
    /// The TrainingSpec as JSON.
    public var spec: String
    /// The run folder.
    public var outputDirectory: String
    /// The last progress event as JSON (step, loss, rate, tokens/s, ETA, RSS), if any.
    public var progress: String?
    public var error: String?
    public var adapterSHA256: String?
    /// The run.finished ledger entry's sequence number, once it succeeded.
    public var ledgerSeq: Int?
    public var cancelRequested: Bool
    /// Seen and acted on by its owner (and admins) alone.
    public var isPrivate: Bool
    /// Milliseconds since 1970.
    public var createdAt: Int
    public var startedAt: Int?
    public var finishedAt: Int?
}

/// The training_jobs table.
public final class JobStore: Sendable {
    private let database: Database
    private let ledger: LedgerStore
    private let now: @Sendable () -> Date

    /// Creates the store.
    public init(database: Database, ledger: LedgerStore, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.ledger = ledger
        self.now = now
    }

    private var millis: Int { Int(now().timeIntervalSince1970 * 1000) }

    static let columns = """
        j.id, u.username AS owner, d.slug AS datanet, j.version_number, j.base, j.state, j.spec, j.output_dir, j.progress, j.error,
        j.adapter_sha256, j.ledger_seq, j.cancel_requested, j.is_private, j.created_at, j.started_at, j.finished_at
        FROM training_jobs j JOIN users u ON u.id = j.owner_id JOIN datanets d ON d.id = j.datanet_id
        """

    /// Queues a job; `spec` and `outputDirectory` are given by the caller once it knows the id (`makeSpec(id)`).
    /// - Returns: the stored job.
    public func create(owner: User, datanet: Datanet, version: Int, base: String, isPrivate: Bool = false,
                       makeSpec: @escaping @Sendable (Int) throws -> (spec: String, outputDirectory: String)) async throws -> TrainingJob {
        let created = millis
        let id = try await database.write { sql in
            let row = try await sql.raw("""
                INSERT INTO training_jobs (owner_id, datanet_id, version_number, base, state, spec, output_dir, created_at, is_private)
                VALUES (\(bind: owner.id), \(bind: datanet.id), \(bind: version), \(bind: base), 'queued', '', '', \(bind: created),
                        \(bind: isPrivate ? 1 : 0))
                RETURNING id
                """).first()
            let id = try row!.decode(column: "id", as: Int.self)
            let (spec, folder) = try makeSpec(id)
            try await sql.raw("UPDATE training_jobs SET spec = \(bind: spec), output_dir = \(bind: folder) WHERE id = \(bind: id)").run()
            return id
        }
        return try await job(id)!
    }

    /// One job, or nil.
    public func job(_ id: Int) async throws -> TrainingJob? {
        try await database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) WHERE j.id = \(bind: id)").first().map(Self.decode)
        }
    }

    /// The newest jobs first, at most `limit`.
    public func list(limit: Int = 100) async throws -> [TrainingJob] {
        try await database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) ORDER BY j.id DESC LIMIT \(bind: limit)").all().map(Self.decode)
        }
    }

    /// Marks the oldest queued job running and returns it; nil when none waits.
    public func claimNext() async throws -> TrainingJob? {
        let started = millis
        let id: Int? = try await database.write { sql in
            guard let row = try await sql.raw("SELECT id FROM training_jobs WHERE state = 'queued' ORDER BY id LIMIT 1").first() else { return nil }
            let id = try row.decode(column: "id", as: Int.self)
            try await sql.raw("UPDATE training_jobs SET state = 'running', started_at = \(bind: started) WHERE id = \(bind: id)").run()
            return id
        }
        guard let id else { return nil }
        return try await job(id)
    }

    /// Jobs left running by a node that stopped are marked interrupted; `resume` queues each again.
    public func markInterrupted() async throws {
        try await database.write { sql in try await sql.raw("UPDATE training_jobs SET state = 'interrupted' WHERE state = 'running'").run() }
    }

    /// Queues an interrupted, failed or cancelled job again; it continues from its last checkpoint.
    /// - Returns: the job, or nil when there is none.
    /// - Throws: `DataError.conflict` when it is queued, running or succeeded.
    public func resume(_ id: Int) async throws -> TrainingJob? {
        let changed = try await database.write { sql in
            try await sql.raw("""
                UPDATE training_jobs SET state = 'queued', cancel_requested = 0, error = NULL, finished_at = NULL
                WHERE id = \(bind: id) AND state IN ('interrupted', 'failed', 'cancelled') RETURNING id
                """).first() != nil
        }
        guard let job = try await job(id) else { return nil }
        guard changed else { throw DataError.conflict(code: "not_resumable", message: "Run \(id) is \(job.state.rawValue); only interrupted, failed or cancelled runs resume.") }
        return job
    }

    /// Records the latest progress event.
    public func recordProgress(_ id: Int, progress: String) async throws {
        try await database.write { sql in
            try await sql.raw("UPDATE training_jobs SET progress = \(bind: progress) WHERE id = \(bind: id)").run()
        }
    }

    /// Asks a queued or running job to stop; a queued one is cancelled at once.
    /// - Returns: the job after the request, nil if there is none.
    public func requestCancel(_ id: Int) async throws -> TrainingJob? {
        let finished = millis
        try await database.write { sql in
            try await sql.raw("""
                UPDATE training_jobs SET cancel_requested = 1,
                    state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                    finished_at = CASE WHEN state = 'queued' THEN \(bind: finished) ELSE finished_at END
                WHERE id = \(bind: id)
                """).run()
        }
        return try await job(id)
    }

    /// Whether a cancel was asked for.
    public func cancelRequested(_ id: Int) async throws -> Bool {
        try await job(id)?.cancelRequested ?? false
    }

    /// Ends a job that failed or was cancelled.
    public func finish(_ id: Int, state: TrainingJob.State, error: String?) async throws {
        let finished = millis
        try await database.write { sql in
            try await sql.raw("""
                UPDATE training_jobs SET state = \(bind: state.rawValue), error = \(bind: error), finished_at = \(bind: finished) WHERE id = \(bind: id)
                """).run()
        }
    }

    /// Ends a job that succeeded: appends the run.finished entry (`payload`) and records its sequence number and the
    /// adapter's hash, in one transaction.
    public func succeed(_ id: Int, adapterSHA256: String, payload: CanonicalJSON) async throws -> TrainingJob {
        let finished = millis
        let ledger = self.ledger
        try await database.write { sql in
            let entry = try await ledger.append(kind: LedgerEntry.Kind.runFinished, payload: payload, subject: .trainingJob(id), sql: sql)
            try await sql.raw("""
                UPDATE training_jobs SET state = 'succeeded', adapter_sha256 = \(bind: adapterSHA256), ledger_seq = \(bind: entry.seq),
                    finished_at = \(bind: finished) WHERE id = \(bind: id)
                """).run()
        }
        return try await job(id)!
    }

    static func decode(_ row: any SQLRow) throws -> TrainingJob {
        func optionalInt(_ column: String) throws -> Int? { try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: Int.self) }
        func optionalString(_ column: String) throws -> String? { try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: String.self) }
        return TrainingJob(
            id: try row.decode(column: "id", as: Int.self), owner: try row.decode(column: "owner", as: String.self),
            datanet: try row.decode(column: "datanet", as: String.self), version: try row.decode(column: "version_number", as: Int.self),
            base: try row.decode(column: "base", as: String.self),
            state: TrainingJob.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
            spec: try row.decode(column: "spec", as: String.self), outputDirectory: try row.decode(column: "output_dir", as: String.self),
            progress: try optionalString("progress"), error: try optionalString("error"), adapterSHA256: try optionalString("adapter_sha256"),
            ledgerSeq: try optionalInt("ledger_seq"), cancelRequested: try row.decode(column: "cancel_requested", as: Int.self) != 0,
            isPrivate: try row.decode(column: "is_private", as: Int.self) != 0,
            createdAt: try row.decode(column: "created_at", as: Int.self), startedAt: try optionalInt("started_at"),
            finishedAt: try optionalInt("finished_at"))
    }
}
