// Everything a Kiln node holds, opened from one data folder.
import Foundation
import KilnLedger
import KilnStore

/// The stores of one Kiln node over one database and one blob folder.
public final class KilnServices: Sendable {
    /// The SQL database.
    public let database: Database
    /// The content-addressed blob folder.
    public let blobs: BlobStore
    /// Accounts and tokens.
    public let accounts: AccountStore
    /// Datanets and curators.
    public let datanets: DatanetStore
    /// Submitting and reviewing items.
    public let submissions: SubmissionService
    /// Rankings.
    public let leaderboards: LeaderboardStore
    /// Dataset versions.
    public let versions: VersionStore
    /// The signed, hash-chained ledger.
    public let ledger: LedgerStore
    /// Training jobs.
    public let jobs: JobStore
    /// Chat conversations, per user.
    public let conversations: ConversationStore
    /// Knowledge bases, their documents, chunks and uses.
    public let knowledge: KnowledgeStore
    /// The data folder.
    public let dataDirectory: URL
    /// The node's caps on request bodies and items.
    public let limits: UploadLimits
    private let now: @Sendable () -> Date

    /// Wires the stores over an opened, migrated database.
    /// - Parameter signer: the node's ledger key (tests pass a fresh one; `open` loads the data folder's).
    public init(database: Database, blobs: BlobStore, dataDirectory: URL, signer: Ed25519Signer = Ed25519Signer(),
                limits: UploadLimits = UploadLimits(), now: @escaping @Sendable () -> Date = Date.init, bcryptCost: UInt8 = 10,
                apiTokenLifetime: TimeInterval = 90 * 24 * 3600) {
        self.limits = limits
        self.now = now
        self.database = database
        self.blobs = blobs
        self.dataDirectory = dataDirectory
        ledger = LedgerStore(database: database, signer: signer, now: now)
        accounts = AccountStore(database: database, now: now, bcryptCost: bcryptCost, apiTokenLifetime: apiTokenLifetime)
        datanets = DatanetStore(database: database, ledger: ledger, limits: limits, now: now)
        submissions = SubmissionService(database: database, blobs: blobs, ledger: ledger, datanets: datanets, limits: limits, now: now)
        leaderboards = LeaderboardStore(database: database)
        versions = VersionStore(database: database, ledger: ledger, now: now)
        jobs = JobStore(database: database, ledger: ledger, now: now)
        conversations = ConversationStore(database: database, now: now)
        knowledge = KnowledgeStore(database: database, now: now)
    }

    /// Opens a data folder: `DIR/kiln.sqlite` (or `databaseURL`, PostgreSQL) and `DIR/blobs/`, migrated.
    public static func open(dataDirectory: URL, databaseURL: String? = ProcessInfo.processInfo.environment["KILN_DATABASE_URL"],
                            limits: UploadLimits = UploadLimits(), bcryptCost: UInt8 = 10,
                            apiTokenLifetime: TimeInterval = 90 * 24 * 3600) async throws -> KilnServices {
        let database = try await Database.open(dataDirectory: dataDirectory, databaseURL: databaseURL)
        do {
            try await Migrator.migrate(database)
        } catch {
            await database.close()
            throw error
        }
        do {
            let blobs = try BlobStore(root: dataDirectory.appendingPathComponent("blobs"))
            let signer = try await LedgerStore.openKey(in: dataDirectory, database: database)
            return KilnServices(database: database, blobs: blobs, dataDirectory: dataDirectory, signer: signer, limits: limits, bcryptCost: bcryptCost,
                                apiTokenLifetime: apiTokenLifetime)
        } catch {
            await database.close()
            throw error
        }
    }

    /// Deletes blobs no submission names (left by a failed transaction or a crash) that are older than `grace`.
    public func collectOrphanedBlobs(grace: TimeInterval = 3600) async throws -> BlobStore.Sweep {
        // Read before the cutoff is taken: a blob written after the read is younger than the cutoff and kept.
        let named = try await database.read { sql in try await self.submissions.repository.namedBlobs(sql: sql) }
        return try blobs.sweep(keeping: named, writtenBefore: now().addingTimeInterval(-grace))
    }

    /// Closes the database.
    public func close() async {
        await accounts.shutdown()
        await database.close()
    }
}
