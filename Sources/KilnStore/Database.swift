// The one place that opens SQL connections: SQLite (default, one file in WAL mode) or PostgreSQL.
import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// Which SQL engine a `Database` talks to; migrations and a few statements differ by dialect.
public enum SQLEngine: String, Sendable {
    case sqlite
    case postgres
}

/// A SQL database with serialised write transactions and concurrent reads.
///
/// SQLite allows one writer at a time, so every write transaction runs on one dedicated
/// connection behind an async lock (no `SQLITE_BUSY` retries, and checks such as daily limits
/// see every earlier write). Reads go to separate WAL reader connections. On PostgreSQL every
/// call takes a pooled connection; writers that must not interleave take an advisory lock.
public final class Database: Sendable {
    /// The engine behind this database.
    public let engine: SQLEngine
    private let backend: Backend
    private let writeLock = AsyncLock()
    private let readerCursor = Counter()
    private let groupCommit = GroupCommitQueue()

    private enum Backend: Sendable {
        case sqlite(writer: SQLiteConnection, readers: [SQLiteConnection], threadPools: [NIOThreadPool])
        case postgres(pool: PostgresPool, logger: Logger)
    }

    private init(engine: SQLEngine, backend: Backend) {
        self.engine = engine
        self.backend = backend
    }

    /// Opens (creating if needed) an SQLite file in WAL mode.
    /// - Parameter path: the file, or `nil` for a private in-memory database (tests).
    public static func sqlite(path: String?, readers: Int = 2, logger: Logger = Logger(label: "kiln.sql")) async throws -> Database {
        if path == nil {
            // A private :memory: database exists per connection, so tests get one shared connection.
            let conn = try await SQLiteConnection.open(storage: .memory, logger: logger)
            try await conn.sql().raw("PRAGMA foreign_keys = ON").run()
            return Database(engine: .sqlite, backend: .sqlite(writer: conn, readers: [conn], threadPools: []))
        }
        let storage = SQLiteConnection.Storage.file(path: path!)
        // The writer gets a thread of its own: sharing the default pool with readers would queue
        // every write behind reads that block in the kernel.
        let writerThreads = NIOThreadPool(numberOfThreads: 1)
        let readerThreads = NIOThreadPool(numberOfThreads: max(1, readers))
        writerThreads.start()
        readerThreads.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(storage: storage, threadPool: writerThreads, logger: logger, on: eventLoop).get()
            opened.append(writer)
            // mmap: readers' page caches are dropped whenever the writer commits, and re-reading through
            // pread copies every page again; mapped pages are shared with the OS cache instead.
            for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON",
                           "PRAGMA busy_timeout = 10000", "PRAGMA mmap_size = 1073741824", "PRAGMA cache_size = -65536"] {
                try await writer.sql().raw("\(unsafeRaw: pragma)").run()
            }
            var pool: [SQLiteConnection] = []
            for _ in 0..<max(1, readers) {
                let reader = try await SQLiteConnection.open(storage: storage, threadPool: readerThreads, logger: logger,
                                                             on: MultiThreadedEventLoopGroup.singleton.any()).get()
                opened.append(reader)
                for pragma in ["PRAGMA busy_timeout = 10000", "PRAGMA query_only = ON", "PRAGMA mmap_size = 1073741824",
                               "PRAGMA cache_size = -16384"] {
                    try await reader.sql().raw("\(unsafeRaw: pragma)").run()
                }
                pool.append(reader)
            }
            return Database(engine: .sqlite, backend: .sqlite(writer: writer, readers: pool, threadPools: [writerThreads, readerThreads]))
        } catch {
            // A damaged file can fail after connections are open; close them so nothing is leaked or trips an assertion.
            for connection in opened { try? await connection.close() }
            try? await writerThreads.shutdownGracefully()
            try? await readerThreads.shutdownGracefully()
            throw error
        }
    }

    /// Connects to PostgreSQL from a `postgres://user:pass@host:port/db` URL.
    /// - Parameter searchPath: schemas to use instead of `public` (tests give each run its own).
    public static func postgres(url: String, searchPath: [String]? = nil, logger: Logger = Logger(label: "kiln.sql")) async throws -> Database {
        var config: SQLPostgresConfiguration
        do {
            config = try SQLPostgresConfiguration(url: url)
        } catch {
            throw StoreError.badDatabaseURL(url)
        }
        // Debian's PostgreSQL ships a self-signed certificate that TLS "prefer" would reject, so a
        // loopback server without an explicit mode is reached in plain text; remote ones keep the default.
        let host = URL(string: url)?.host ?? ""
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        if loopback && !["tlsmode", "sslmode", "tls=", "ssl="].contains(where: url.contains) {
            config.coreConfiguration.tls = .disable
        }
        config.searchPath = searchPath
        let pool = EventLoopGroupConnectionPool(
            source: PostgresConnectionSource(sqlConfiguration: config),
            maxConnectionsPerEventLoop: 4,
            on: MultiThreadedEventLoopGroup.singleton)
        let db = Database(engine: .postgres, backend: .postgres(pool: PostgresPool(pool: pool), logger: logger))
        _ = try await db.read { try await $0.raw("SELECT 1 AS one").all() }
        return db
    }

    /// Opens the database a data folder names: `KILN_DATABASE_URL` if set, else `DIR/kiln.sqlite`.
    public static func open(dataDirectory: URL, databaseURL: String?) async throws -> Database {
        if let url = databaseURL, !url.isEmpty {
            return try await postgres(url: url)
        }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        // The folder holds password hashes, session tokens and the node's signing key: only its owner may enter it.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dataDirectory.path)
        return try await sqlite(path: dataDirectory.appendingPathComponent("kiln.sqlite").path)
    }

    /// Runs `body` with a connection that sees committed data; no transaction is opened.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let readers, _):
            let index = readerCursor.next() % readers.count
            return try await body(readers[index].sql())
        case .postgres(let pool, let logger):
            return try await pool.pool.database(logger: logger).sql().withSession(body)
        }
    }

    /// Runs `body` inside one transaction; it commits if `body` returns and rolls back if it throws.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let writer, _, _):
            return try await writeLock.withLock {
                let sql = writer.sql()
                try await sql.raw("BEGIN IMMEDIATE").run()
                do {
                    let result = try await body(sql)
                    try await sql.raw("COMMIT").run()
                    return result
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            }
        case .postgres(let pool, let logger):
            return try await pool.pool.database(logger: logger).sql().withSession { sql in
                try await sql.raw("BEGIN").run()
                do {
                    let result = try await body(sql)
                    try await sql.raw("COMMIT").run()
                    return result
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            }
        }
    }

    /// Like `write`, but on SQLite concurrent callers share one transaction (group commit).
    ///
    /// Each writer pays for BEGIN and COMMIT and for waiting on the lock; sharing them lets many
    /// small transactions (one submission each) commit together. `body` must throw its own errors
    /// (a daily limit, say) before it writes anything, because the statements of a body that throws
    /// stay in the shared transaction. Its result is delivered only after the COMMIT. If the shared
    /// transaction fails, it is rolled back and every body runs again in a transaction of its own.
    public func writeCoalesced<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard case .sqlite = backend else { return try await write(body) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = GroupCommitJob(
                run: { sql in
                    do {
                        let result = try await body(sql)
                        return { continuation.resume(returning: result) }
                    } catch let error as any CoalescedWriteError {
                        return { continuation.resume(throwing: error) }
                    }
                },
                fail: { continuation.resume(throwing: $0) })
            if groupCommit.enqueue(job) {
                Task { await self.drainGroupCommit() }
            }
        }
    }

    private func drainGroupCommit() async {
        while true {
            let jobs = groupCommit.take()
            if jobs.isEmpty { return }
            do {
                try await write { sql in
                    var completions: [@Sendable () -> Void] = []
                    for job in jobs { completions.append(try await job.run(sql)) }
                    return Completions(all: completions)
                }.all.forEach { $0() }
            } catch {
                for job in jobs {
                    do {
                        try await write { sql in Completions(all: [try await job.run(sql)]) }.all.forEach { $0() }
                    } catch {
                        job.fail(error)
                    }
                }
            }
        }
    }

    /// Inside `write`, serialises every transaction that takes the same key until it ends.
    ///
    /// SQLite writers are already serialised, so this only matters on PostgreSQL, where it is a
    /// transaction-scoped advisory lock.
    public func lock(_ sql: any SQLDatabase, key: Int64) async throws {
        if engine == .postgres {
            try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: key))").run()
        }
    }

    /// Closes every connection.
    public func close() async {
        switch backend {
        case .sqlite(let writer, let readers, let threadPools):
            for reader in readers where reader !== writer { try? await reader.close() }
            try? await writer.close()
            for pool in threadPools { try? await pool.shutdownGracefully() }
        case .postgres(let pool, _):
            try? await pool.pool.shutdownAsync()
        }
    }
}

/// AsyncKit's pool guards its state with its own locks but predates `Sendable`; this box says so once.
struct PostgresPool: @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<PostgresConnectionSource>
}

/// Completions to run once a shared transaction has committed.
private struct Completions: Sendable {
    let all: [@Sendable () -> Void]
}

/// An error a `writeCoalesced` body throws as its answer (before writing anything); any other error
/// is treated as a database failure and makes the shared transaction retry job by job.
public protocol CoalescedWriteError: Error {}
