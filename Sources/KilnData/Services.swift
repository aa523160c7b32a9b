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
    /// Submissions and reviews.
    public let submissions: SubmissionStore
    /// Rankings.
    public let leaderboards: LeaderboardStore
    /// Dataset versions.
    public let versions: VersionStore
    /// The signed, hash-chained ledger.
    public let ledger: LedgerStore
    /// The data folder.
    public let dataDirectory: URL
    /// The node's caps on request bodies and items.
    public let limits: UploadLimits

    /// Wires the stores over an opened, migrated database.
    /// - Parameter signer: the node's ledger key (tests pass a fresh one; `open` loads the data folder's).
    public init(database: Database, blobs: BlobStore, dataDirectory: URL, signer: Ed25519Signer = Ed25519Signer(),
                limits: UploadLimits = UploadLimits(), now: @escaping @Sendable () -> Date = Date.init, bcryptCost: UInt8 = 10) {
        self.limits = limits
        self.database = database
        self.blobs = blobs
        self.dataDirectory = dataDirectory
        ledger = LedgerStore(database: database, signer: signer, now: now)
        accounts = AccountStore(database: database, now: now, bcryptCost: bcryptCost)
        datanets = DatanetStore(database: database, ledger: ledger, limits: limits, now: now)
        submissions = SubmissionStore(database: database, blobs: blobs, ledger: ledger, now: now)
        leaderboards = LeaderboardStore(database: database)
        versions = VersionStore(database: database, ledger: ledger, now: now)
    }

    /// Opens a data folder: `DIR/kiln.sqlite` (or `databaseURL`, PostgreSQL) and `DIR/blobs/`, migrated.
    public static func open(dataDirectory: URL, databaseURL: String? = ProcessInfo.processInfo.environment["KILN_DATABASE_URL"],
                            limits: UploadLimits = UploadLimits(), bcryptCost: UInt8 = 10) async throws -> KilnServices {
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
            return KilnServices(database: database, blobs: blobs, dataDirectory: dataDirectory, signer: signer, limits: limits, bcryptCost: bcryptCost)
        } catch {
            await database.close()
            throw error
        }
    }

    /// Closes the database.
    public func close() async {
        await accounts.shutdown()
        await database.close()
    }
}
