// Everything a Kiln node holds, opened from one data folder.
import Foundation
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
    /// The data folder.
    public let dataDirectory: URL

    /// Wires the stores over an opened, migrated database.
    public init(database: Database, blobs: BlobStore, dataDirectory: URL, now: @escaping @Sendable () -> Date = Date.init,
                bcryptCost: UInt8 = 10) {
        self.database = database
        self.blobs = blobs
        self.dataDirectory = dataDirectory
        accounts = AccountStore(database: database, now: now, bcryptCost: bcryptCost)
        datanets = DatanetStore(database: database, now: now)
        submissions = SubmissionStore(database: database, blobs: blobs, now: now)
        leaderboards = LeaderboardStore(database: database)
        versions = VersionStore(database: database, now: now)
    }

    /// Opens a data folder: `DIR/kiln.sqlite` (or `databaseURL`, PostgreSQL) and `DIR/blobs/`, migrated.
    public static func open(dataDirectory: URL, databaseURL: String? = ProcessInfo.processInfo.environment["KILN_DATABASE_URL"],
                            bcryptCost: UInt8 = 10) async throws -> KilnServices {
        let database = try await Database.open(dataDirectory: dataDirectory, databaseURL: databaseURL)
        do {
            try await Migrator.migrate(database)
        } catch {
            await database.close()
            throw error
        }
        let blobs = try BlobStore(root: dataDirectory.appendingPathComponent("blobs"))
        return KilnServices(database: database, blobs: blobs, dataDirectory: dataDirectory, bcryptCost: bcryptCost)
    }

    /// Closes the database.
    public func close() async {
        await database.close()
    }
}
