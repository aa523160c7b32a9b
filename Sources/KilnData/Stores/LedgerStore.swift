// The ledger on SQL: appends inside the caller's transaction, signed tree heads, proofs and receipts.
import Foundation
import KilnLedger
import KilnStore
import SQLKit
import Synchronization

/// One stored entry as verifiers read it: the exact stored bytes, the stored hash and the signature.
public struct StoredEntry: Sendable, Equatable {
    /// The sequence number.
    public var seq: Int
    /// The JCS bytes exactly as stored.
    public var bytes: [UInt8]
    /// The stored hash (hex).
    public var hash: String
    /// The stored Ed25519 signature (hex).
    public var signature: String
}

/// Appends signed, hash-chained entries and answers proofs over them.
///
/// Every append runs in the same transaction as the change it records (the caller's `sql`), takes
/// the ledger's advisory lock on PostgreSQL (SQLite writers are already serialised), and stores the
/// new signed tree head in that transaction too. The Merkle tree lives in memory as a `MerkleLog`,
/// rebuilt from the stored hashes on first use and re-checked against the database before each
/// append, so a rolled-back append or another server's append can never leave it wrong.
public final class LedgerStore: Sendable {
    private let database: Database
    /// The node's signing key.
    public let signer: Ed25519Signer
    private let now: @Sendable () -> Date
    private let log = Mutex(MerkleLog())

    /// The advisory lock key that serialises appends on PostgreSQL ("ledger" in ASCII).
    static let lockKey: Int64 = 0x6C65_6467_6572

    /// Creates the store over `database`, signing with `signer`.
    public init(database: Database, signer: Ed25519Signer, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.signer = signer
        self.now = now
    }

    /// Opens the node key in `directory`: loads it, or creates it only while the ledger is empty.
    /// - Throws: `LedgerError` when the key file is missing but entries exist (it is never silently
    ///   replaced), when it is unsafe or unreadable, or when it is not the key the ledger was signed with.
    public static func openKey(in directory: URL, database: Database) async throws -> Ed25519Signer {
        let url = directory.appendingPathComponent(NodeKey.fileName)
        let known = try await database.read { sql in
            try await sql.raw("SELECT public_key FROM ledger_keys ORDER BY created_at").all().map { try $0.decode(column: "public_key", as: String.self) }
        }
        let entries = try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM ledger_entries").first()!.decode(column: "n", as: Int.self)
        }
        let signer: Ed25519Signer
        if FileManager.default.fileExists(atPath: url.path) || entries > 0 || !known.isEmpty {
            signer = try NodeKey.load(at: url)
        } else {
            signer = try NodeKey.loadOrCreate(at: url)
        }
        if let first = known.first, first != signer.publicKeyHex {
            throw LedgerError.keyMismatch(path: url.path, expected: first, found: signer.publicKeyHex)
        }
        if known.isEmpty {
            let created = Int(Date().timeIntervalSince1970 * 1000)
            try await database.write { sql in
                try await sql.raw("INSERT INTO ledger_keys (public_key, created_at) VALUES (\(bind: signer.publicKeyHex), \(bind: created))").run()
            }
        }
        return signer
    }

    // MARK: - Appending

    /// Appends an entry about one subject (or none) inside the caller's write transaction.
    @discardableResult
    public func append(kind: String, payload: CanonicalJSON, subject: LedgerSubject?, sql: any SQLDatabase) async throws -> LedgerEntry {
        try await append(kind: kind, payload: payload, subjects: subject.map { [$0] } ?? [], sql: sql)
    }

    /// Appends an entry inside the caller's write transaction and stores the new signed tree head.
    /// - Parameters:
    ///   - subjects: what the entry is about, for lookups; the first is kept on the entry's row, the rest in `ledger_subjects`.
    @discardableResult
    public func append(kind: String, payload: CanonicalJSON, subjects: [LedgerSubject], sql: any SQLDatabase) async throws -> LedgerEntry {
        try await database.lock(sql, key: Self.lockKey)
        let last = try await sql.raw("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1").first()
        let count = try last.map { try $0.decode(column: "seq", as: Int.self) + 1 } ?? 0
        let lastHash = try last.map { try $0.decode(column: "hash", as: String.self) }
        try await syncForAppend(count: count, lastHash: lastHash, sql: sql)
        let time = Int(now().timeIntervalSince1970 * 1000)
        let prev = try lastHash.map { hex throws(LedgerError) in try Hex.decodeCanonical(hex, count: 32, field: "hash") } ?? LedgerEntry.genesisPrevHash
        let entry = try LedgerEntry(seq: count, time: time, kind: kind, payload: payload, prevHash: prev)
        let hash = entry.hash
        let signature = try entry.signature(by: signer)
        let bytes = String(decoding: entry.canonicalBytes, as: UTF8.self)
        try await sql.raw("""
            INSERT INTO ledger_entries (seq, entry, hash, signature, kind, subject, created_at)
            VALUES (\(bind: count), \(bind: bytes), \(bind: Hex.encode(hash)), \(bind: Hex.encode(signature)), \(bind: kind),
                    \(bind: subjects.first?.description), \(bind: time))
            """).run()
        for start in stride(from: 1, to: subjects.count, by: 200) {
            var query = SQLQueryString("INSERT INTO ledger_subjects (subject, seq) VALUES ")
            for (offset, subject) in subjects[start..<min(start + 200, subjects.count)].enumerated() {
                if offset > 0 { query.appendLiteral(", ") }
                query.appendInterpolation("(\(bind: subject.description), \(bind: count))" as SQLQueryString)
            }
            try await sql.raw(query).run()
        }
        let root = try log.withLock { log throws(LedgerError) -> [UInt8] in
            try log.append(leafHash: MerkleTree.leafHash(hash))
            return log.root
        }
        let head = try SignedTreeHead.sign(treeSize: count + 1, root: root, timestamp: time, signer: signer)
        try await sql.raw("""
            INSERT INTO ledger_heads (tree_size, root, timestamp, signature)
            VALUES (\(bind: head.treeSize), \(bind: head.root), \(bind: head.timestamp), \(bind: head.signature))
            """).run()
        return entry
    }

    /// Makes the in-memory tree equal the committed entries before an append (under the append lock).
    private func syncForAppend(count: Int, lastHash: String?, sql: any SQLDatabase) async throws {
        let expectedLeaf = try lastHash.map { hex throws(LedgerError) in MerkleTree.leafHash(try Hex.decodeCanonical(hex, count: 32, field: "hash")) }
        let state = log.withLock { log -> (count: Int, matches: Bool) in
            guard count > 0, log.count >= count, let expectedLeaf else { return (log.count, count == 0 && log.count == 0) }
            return (log.count, (try? log.leafHash(at: count - 1)) == expectedLeaf)
        }
        if state.count == count && state.matches { return }
        let prefixMatches = state.count == 0 ? true : try await leafMatches(state.count - 1, sql: sql)
        if state.count < count && prefixMatches {
            try await load(from: state.count, sql: sql)
            return
        }
        // The log holds a leaf the database does not (a rolled-back append): rebuild it from the database.
        log.withLock { $0 = MerkleLog() }
        try await load(from: 0, sql: sql)
    }

    private func leafMatches(_ seq: Int, sql: any SQLDatabase) async throws -> Bool {
        guard let row = try await sql.raw("SELECT hash FROM ledger_entries WHERE seq = \(bind: seq)").first() else { return false }
        let leaf = MerkleTree.leafHash(try Hex.decodeCanonical(try row.decode(column: "hash", as: String.self), count: 32, field: "hash"))
        return log.withLock { (try? $0.leafHash(at: seq)) == leaf }
    }

    /// Appends the committed hashes from `start` on to the in-memory tree, page by page.
    private func load(from start: Int, sql: any SQLDatabase) async throws {
        var next = start
        while true {
            let rows = try await sql.raw("""
                SELECT seq, hash FROM ledger_entries WHERE seq >= \(bind: next) ORDER BY seq LIMIT 10000
                """).all()
            if rows.isEmpty { return }
            var leaves: [(Int, [UInt8])] = []
            for row in rows {
                let hash = try Hex.decodeCanonical(try row.decode(column: "hash", as: String.self), count: 32, field: "hash")
                leaves.append((try row.decode(column: "seq", as: Int.self), MerkleTree.leafHash(hash)))
            }
            try log.withLock { log throws(LedgerError) in
                for (seq, leaf) in leaves where seq == log.count { try log.append(leafHash: leaf) }
            }
            next = (leaves.last?.0 ?? next) + 1
        }
    }

    /// Brings the in-memory tree up to the committed entries for reading, and returns the committed count.
    private func syncForRead() async throws -> Int {
        try await database.read { sql in
            // MAX(seq) walks the primary key's index; COUNT(*) would scan a million rows.
            let last = try await sql.raw("SELECT MAX(seq) AS n FROM ledger_entries").first()!.decode(column: "n", as: Int?.self)
            let count = last.map { $0 + 1 } ?? 0
            let have = self.log.withLock { $0.count }
            if have < count { try await self.load(from: have, sql: sql) }
            return count
        }
    }

    // MARK: - Reading

    /// The public key, hex.
    public var publicKeyHex: String { signer.publicKeyHex }

    /// The latest signed tree head, or `nil` for an empty ledger.
    public func head() async throws -> SignedTreeHead? {
        try await database.read { sql in
            try await sql.raw("SELECT tree_size, root, timestamp, signature FROM ledger_heads ORDER BY tree_size DESC LIMIT 1").first()
                .map(Self.head)
        }
    }

    /// The signed tree head stored for `treeSize`.
    public func head(treeSize: Int) async throws -> SignedTreeHead? {
        try await database.read { sql in
            try await sql.raw("SELECT tree_size, root, timestamp, signature FROM ledger_heads WHERE tree_size = \(bind: treeSize)").first()
                .map(Self.head)
        }
    }

    /// Entries from `seq` on, as the API lists them.
    public func entries(from seq: Int, limit: Int) async throws -> [SignedEntry] {
        try await stored(from: seq, limit: limit).map { stored in
            let entry = try LedgerEntry(canonicalBytes: stored.bytes)
            return SignedEntry(entry: entry, signature: try Hex.decodeCanonical(stored.signature, count: 64, field: "signature"))
        }
    }

    /// Stored entries exactly as they are in the database, for verification.
    public func stored(from seq: Int, limit: Int) async throws -> [StoredEntry] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT seq, entry, hash, signature FROM ledger_entries WHERE seq >= \(bind: seq) ORDER BY seq LIMIT \(bind: limit)
                """).all().map(Self.stored)
        }
    }

    /// The entries about `subject`, oldest first.
    public func entries(about subject: LedgerSubject) async throws -> [StoredEntry] {
        let key = subject.description
        return try await database.read { sql in
            try await sql.raw("""
                SELECT seq, entry, hash, signature FROM ledger_entries WHERE subject = \(bind: key)
                UNION SELECT e.seq, e.entry, e.hash, e.signature FROM ledger_subjects x JOIN ledger_entries e ON e.seq = x.seq
                WHERE x.subject = \(bind: key) ORDER BY seq
                """).all().map(Self.stored)
        }
    }

    /// An RFC 9162 inclusion proof of entry `seq` in the tree of `treeSize` entries (default: the whole ledger).
    /// - Throws: `DataError.badRequest` when the numbers are out of range.
    public func inclusion(seq: Int, treeSize: Int?) async throws -> InclusionProof {
        let count = try await syncForRead()
        let size = treeSize ?? count
        guard size <= count, seq >= 0, seq < size else {
            throw DataError.badRequest(code: "invalid_proof_range", message: "seq must be below tree_size, and tree_size at most \(count).")
        }
        return try log.withLock { log throws(LedgerError) in try InclusionProof(log: log, seq: seq, treeSize: size) }
    }

    /// An RFC 9162 consistency proof between two tree sizes.
    /// - Throws: `DataError.badRequest` when the sizes are out of range.
    public func consistency(first: Int, second: Int) async throws -> ConsistencyProof {
        let count = try await syncForRead()
        guard first >= 1, first <= second, second <= count else {
            throw DataError.badRequest(code: "invalid_proof_range", message: "Need 1 ≤ first ≤ second ≤ \(count).")
        }
        return try log.withLock { log throws(LedgerError) in try ConsistencyProof(log: log, first: first, second: second) }
    }

    /// A receipt for the latest entry about `subject`: the entry, its inclusion proof in the latest tree head, and the key.
    /// - Throws: `DataError.notFound` when nothing about `subject` is on the ledger.
    public func receipt(about subject: LedgerSubject) async throws -> Receipt {
        guard let stored = try await entries(about: subject).last else {
            throw DataError.notFound("Nothing about \(subject) is on the ledger yet.")
        }
        guard let head = try await head() else { throw DataError.notFound("The ledger is empty.") }
        let entry = try LedgerEntry(canonicalBytes: stored.bytes)
        let signed = SignedEntry(entry: entry, signature: try Hex.decodeCanonical(stored.signature, count: 64, field: "signature"))
        let proof = try await inclusion(seq: stored.seq, treeSize: head.treeSize)
        return Receipt(entry: signed, inclusion: proof, treeHead: head, publicKey: signer.publicKey)
    }

    static func head(_ row: any SQLRow) throws -> SignedTreeHead {
        SignedTreeHead(treeSize: try row.decode(column: "tree_size", as: Int.self), root: try row.decode(column: "root", as: String.self),
                       timestamp: try row.decode(column: "timestamp", as: Int.self), signature: try row.decode(column: "signature", as: String.self))
    }

    static func stored(_ row: any SQLRow) throws -> StoredEntry {
        StoredEntry(seq: try row.decode(column: "seq", as: Int.self), bytes: Array(try row.decode(column: "entry", as: String.self).utf8),
                    hash: try row.decode(column: "hash", as: String.self), signature: try row.decode(column: "signature", as: String.self))
    }

    // MARK: - Explorer reads (web pages)

    /// Usernames for user ids found in payloads, so pages can say "bob" where the ledger, by design, says 7.
    public func usernames(ids: Set<Int>) async throws -> [Int: String] {
        guard !ids.isEmpty else { return [:] }
        let list: [any Encodable & Sendable] = ids.sorted()
        return try await database.read { sql in
            var names: [Int: String] = [:]
            for row in try await sql.raw("SELECT id, username FROM users WHERE id IN (\(binds: list))").all() {
                names[try row.decode(column: "id", as: Int.self)] = try row.decode(column: "username", as: String.self)
            }
            return names
        }
    }
}
