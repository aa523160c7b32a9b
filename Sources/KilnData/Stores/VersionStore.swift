// Freezing accepted items into immutable, Merkle-rooted dataset versions.
import Crypto
import Foundation
import KilnLedger
import KilnStore
import SQLKit

/// Train or validation.
public enum Split: String, Sendable, Codable {
    case train
    case validation

    /// The split an item with this hash falls in: the first 8 bytes of the hash, mod 10 000, below
    /// `percent` × 100 is validation. Depends only on the item, so a re-publish never reshuffles it.
    public static func of(sha256: String, validationPercent: Int) -> Split {
        let bucket = UInt64(sha256.prefix(16), radix: 16).map { $0 % 10_000 } ?? 0
        return bucket < UInt64(min(max(validationPercent, 0), 100) * 100) ? .validation : .train
    }
}

/// One item in a version's manifest.
public struct VersionItem: Sendable, Equatable {
    /// Its place in the manifest, from 0.
    public var position: Int
    /// The submission id.
    public var id: Int
    /// The item's SHA-256 (the Merkle leaf input is these 32 bytes).
    public var sha256: String
    /// Train or validation.
    public var split: Split
    /// Who contributed it.
    public var contributor: String
    /// Its format and size.
    public var format: String
    public var bytes: Int
}

/// A version's item with what an export writes of it.
public struct ExportItem: Sendable {
    /// Its manifest entry.
    public var item: VersionItem
    /// The canonical JSON of a text item's fields.
    public var content: String?
    /// Whether its bytes are a file (image or audio).
    public var hasFile: Bool
}

/// A published version.
public struct DatasetVersion: Sendable, Equatable {
    /// The Datanet's slug.
    public var datanet: String
    /// 1, 2, 3, … per Datanet.
    public var number: Int
    /// RFC 6962 root over the items' SHA-256 digests in manifest order, lowercase hex.
    public var merkleRoot: String
    /// Counts.
    public var count: Int
    public var trainCount: Int
    public var validationCount: Int
    public var bytes: Int
    /// Who published it and when (Unix milliseconds).
    public var createdBy: String
    public var createdAt: Int
}

/// Publishes and reads dataset versions.
public final class VersionStore: Sendable {
    private let database: Database
    private let ledger: LedgerStore
    private let now: @Sendable () -> Date

    /// Creates the store; publications are recorded on `ledger`.
    public init(database: Database, ledger: LedgerStore, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.ledger = ledger
        self.now = now
    }

    /// Freezes every accepted item of `datanet` into the next version.
    /// The caller has checked that `user` curates `datanet` (the server's `Authorization`).
    /// - Throws: `.unprocessable` when nothing is accepted yet.
    public func publish(_ datanet: Datanet, by user: User) async throws -> (DatasetVersion, [VersionItem]) {
        let time = Int(now().timeIntervalSince1970 * 1000)
        let number = try await database.write { sql -> Int in
            try await self.database.lock(sql, key: Int64(datanet.id))
            // The manifest order is fixed: by acceptance time, then id.
            let rows = try await sql.raw("""
                SELECT s.id, s.sha256, s.bytes FROM submissions s
                WHERE s.datanet_id = \(bind: datanet.id) AND s.status = 'accepted' ORDER BY s.decided_at, s.id
                """).all()
            guard !rows.isEmpty else {
                throw DataError.unprocessable(code: "nothing_accepted", message: "\(datanet.slug) has no accepted items to publish yet.")
            }
            var leaves: [[UInt8]] = []
            var items: [(id: Int, sha: String, split: Split)] = []
            var validation = 0
            var bytes = 0
            for row in rows {
                let sha = try row.decode(column: "sha256", as: String.self)
                let split = Split.of(sha256: sha, validationPercent: datanet.rules.validationPercent)
                if split == .validation { validation += 1 }
                bytes += try row.decode(column: "bytes", as: Int.self)
                leaves.append(Hex.decode(sha) ?? [])
                items.append((try row.decode(column: "id", as: Int.self), sha, split))
            }
            let root = Hex.encode(MerkleTree.root(leaves: leaves))
            let last = try await sql.raw("SELECT MAX(number) AS n FROM versions WHERE datanet_id = \(bind: datanet.id)").first()
            let number = (try last?.decode(column: "n", as: Int?.self) ?? 0) + 1
            let versionRow = try await sql.raw("""
                INSERT INTO versions (datanet_id, number, merkle_root, item_count, train_count, validation_count, bytes, created_by, created_at)
                VALUES (\(bind: datanet.id), \(bind: number), \(bind: root), \(bind: items.count), \(bind: items.count - validation),
                        \(bind: validation), \(bind: bytes), \(bind: user.id), \(bind: time))
                RETURNING id
                """).first()
            let versionId = try versionRow!.decode(column: "id", as: Int.self)
            // Multi-row inserts keep publishing a large Datanet to a few statements.
            for start in stride(from: 0, to: items.count, by: 200) {
                let chunk = items[start..<min(start + 200, items.count)]
                var query = SQLQueryString("INSERT INTO version_items (version_id, position, submission_id, sha256, split) VALUES ")
                for (offset, item) in chunk.enumerated() {
                    if offset > 0 { query.appendLiteral(", ") }
                    query.appendInterpolation("(\(bind: versionId), \(bind: start + offset), \(bind: item.id), \(bind: item.sha), \(bind: item.split.rawValue))" as SQLQueryString)
                }
                try await sql.raw(query).run()
            }
            try await self.ledger.append(kind: LedgerEntry.Kind.versionPublished, payload: [
                "datanet": .string(datanet.slug), "version": CanonicalJSON(number), "merkle_root": .string(root),
                "count": CanonicalJSON(items.count), "train_count": CanonicalJSON(items.count - validation),
                "validation_count": CanonicalJSON(validation), "publisher_id": CanonicalJSON(user.id),
            ], subject: .version(datanet.slug, number), sql: sql)
            return number
        }
        return try await version(datanet, number: number)
    }

    /// Every version of a Datanet, newest first.
    public func list(_ datanet: Datanet) async throws -> [DatasetVersion] {
        try await database.read { sql in
            try await sql.raw("\(unsafeRaw: Self.select) WHERE v.datanet_id = \(bind: datanet.id) ORDER BY v.number DESC").all()
                .map { try Self.version($0, slug: datanet.slug) }
        }
    }

    /// One version and its manifest.
    /// - Throws: `DataError.notFound`.
    public func version(_ datanet: Datanet, number: Int) async throws -> (DatasetVersion, [VersionItem]) {
        try await database.read { sql in
            guard let row = try await sql.raw("\(unsafeRaw: Self.select) WHERE v.datanet_id = \(bind: datanet.id) AND v.number = \(bind: number)").first() else {
                throw DataError.notFound("\(datanet.slug) has no version \(number).")
            }
            let versionId = try row.decode(column: "id", as: Int.self)
            let items = try await sql.raw("""
                SELECT i.position, i.submission_id, i.sha256, i.split, s.format, s.bytes, u.username
                FROM version_items i JOIN submissions s ON s.id = i.submission_id JOIN users u ON u.id = s.contributor_id
                WHERE i.version_id = \(bind: versionId) ORDER BY i.position
                """).all().map(Self.item)
            return (try Self.version(row, slug: datanet.slug), items)
        }
    }

    /// A version without its manifest.
    /// - Throws: `DataError.notFound`.
    public func header(_ datanet: Datanet, number: Int) async throws -> DatasetVersion {
        let row = try await database.read { sql in
            try await sql.raw("\(unsafeRaw: Self.select) WHERE v.datanet_id = \(bind: datanet.id) AND v.number = \(bind: number)").first()
        }
        guard let row else { throw DataError.notFound("\(datanet.slug) has no version \(number).") }
        return try Self.version(row, slug: datanet.slug)
    }

    /// Up to `limit` items of a version with their stored content, in manifest order from `position` on, in one query,
    /// so an export reads a page at a time however large the version.
    public func exportItems(_ datanet: Datanet, number: Int, from position: Int, limit: Int) async throws -> [ExportItem] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT i.position, i.submission_id, i.sha256, i.split, s.format, s.bytes, s.content, s.blob_sha256, u.username
                FROM versions v JOIN version_items i ON i.version_id = v.id JOIN submissions s ON s.id = i.submission_id
                JOIN users u ON u.id = s.contributor_id
                WHERE v.datanet_id = \(bind: datanet.id) AND v.number = \(bind: number) AND i.position >= \(bind: position)
                ORDER BY i.position LIMIT \(bind: limit)
                """).all().map { row in
                ExportItem(item: try Self.item(row), content: try row.decode(column: "content", as: String?.self),
                           hasFile: try row.decode(column: "blob_sha256", as: String?.self) != nil)
            }
        }
    }

    static func item(_ row: any SQLRow) throws -> VersionItem {
        VersionItem(position: try row.decode(column: "position", as: Int.self), id: try row.decode(column: "submission_id", as: Int.self),
                    sha256: try row.decode(column: "sha256", as: String.self),
                    split: Split(rawValue: try row.decode(column: "split", as: String.self)) ?? .train,
                    contributor: try row.decode(column: "username", as: String.self),
                    format: try row.decode(column: "format", as: String.self), bytes: try row.decode(column: "bytes", as: Int.self))
    }

    static let select = """
        SELECT v.id, v.number, v.merkle_root, v.item_count, v.train_count, v.validation_count, v.bytes, v.created_at, u.username
        FROM versions v JOIN users u ON u.id = v.created_by
        """

    static func version(_ row: any SQLRow, slug: String) throws -> DatasetVersion {
        DatasetVersion(datanet: slug, number: try row.decode(column: "number", as: Int.self),
                       merkleRoot: try row.decode(column: "merkle_root", as: String.self), count: try row.decode(column: "item_count", as: Int.self),
                       trainCount: try row.decode(column: "train_count", as: Int.self),
                       validationCount: try row.decode(column: "validation_count", as: Int.self), bytes: try row.decode(column: "bytes", as: Int.self),
                       createdBy: try row.decode(column: "username", as: String.self), createdAt: try row.decode(column: "created_at", as: Int.self))
    }
}
