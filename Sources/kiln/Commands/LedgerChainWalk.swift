// Re-walking a whole ledger page by page, from a data folder or a server, for `kiln ledger verify`.
//
// The walk trusts nothing but the public key it is given: every hash is recomputed from the entry bytes
// (the stored JCS text for a data folder, the served JSON re-canonicalised for a server), and the Merkle
// root is rebuilt from those hashes and compared with the latest signed tree head (issue 4, "What to build").
import Foundation
import KilnData
import KilnLedger

/// One entry as a source hands it over: the bytes to hash, or why its row could not be read at all.
enum ChainItem: Sendable {
    /// The entry's bytes as the source holds them, its stated hash (if any) and its signature, hex.
    case entry(bytes: [UInt8], hash: String?, signature: String)
    /// The next row exists but cannot be read (a damaged row, or a server that fails on it).
    case unreadable(reason: String)
}

/// Where the entries and the latest signed tree head come from: a data folder's database or a server's API.
protocol LedgerChainSource: Sendable {
    /// Up to `limit` entries from seq `from` on, in seq order; fewer, or none, at the end of the ledger.
    /// - Throws: only when the source as a whole cannot be read (a damaged row comes back as `.unreadable`).
    func page(from seq: Int, limit: Int) async throws -> [ChainItem]
    /// The latest signed tree head; `nil` when none is stored (an empty ledger, or deleted heads).
    func latestHead() async throws -> SignedTreeHead?
}

/// The verdict of a walk.
enum ChainVerdict: Equatable, Sendable {
    /// Every entry and the latest tree head verify.
    case intact(count: Int, root: String, head: SignedTreeHead?)
    /// Entry `seq` is the first that fails.
    case broken(seq: Int, reason: String)
    /// Every entry verifies, but the latest tree head (covering `treeSize` entries) does not.
    case badTreeHead(treeSize: Int, reason: String)
}

/// The walk itself: pages through a source with `ChainVerifier`, then checks the latest tree head.
enum ChainWalk {
    /// Entries per page; the API's maximum, and small enough that a page of a big ledger stays a few MB.
    static let pageSize = 1000

    /// Verifies the whole ledger `source` holds against `publicKey`.
    ///
    /// The tree head is read after the entries, and the walk then goes on up to its size: appends and
    /// heads commit together, so a live node that appends meanwhile is never reported as missing entries.
    /// - Parameter progress: called after each page with the number of entries it verified and their bytes.
    /// - Throws: what the source throws when it cannot be read at all.
    static func verify(_ source: some LedgerChainSource, publicKey: [UInt8],
                       progress: (_ entries: Int, _ bytes: Int) -> Void) async throws -> ChainVerdict {
        var verifier = ChainVerifier(publicKey: publicKey)
        if let verdict = try await walk(&verifier, source, upTo: nil, progress: progress) { return verdict }
        let head = try await source.latestHead()
        if let head, head.treeSize > verifier.count {
            if let verdict = try await walk(&verifier, source, upTo: head.treeSize, progress: progress) { return verdict }
        }
        guard let head else {
            // Without a head the Merkle check would silently be skipped; entries must always have one.
            if verifier.count == 0 { return .intact(count: 0, root: Hex.encode(verifier.root), head: nil) }
            return .broken(seq: 0, reason: "no signed tree head is stored, so nothing vouches for these \(verifier.count) entries")
        }
        switch verifier.finish(treeHead: head) {
        case .valid(let count):
            return .intact(count: count, root: Hex.encode(verifier.root), head: head)
        case .broken(let seq, let reason):
            return .broken(seq: seq, reason: sentence(reason.message))
        case .badTreeHead(let problem):
            return .badTreeHead(treeSize: head.treeSize, reason: sentence(problem.message))
        }
    }

    /// Feeds pages to `verifier` until the source ends (or `limit` entries are checked); returns the first break.
    private static func walk(_ verifier: inout ChainVerifier, _ source: some LedgerChainSource, upTo limit: Int?,
                             progress: (Int, Int) -> Void) async throws -> ChainVerdict? {
        while limit.map({ verifier.count < $0 }) ?? true {
            let want = min(pageSize, limit.map { $0 - verifier.count } ?? pageSize)
            let items = try await source.page(from: verifier.count, limit: want)
            let start = verifier.count
            var bytes = 0
            defer { progress(verifier.count - start, bytes) }
            for item in items {
                switch item {
                case .unreadable(let reason):
                    return .broken(seq: verifier.count, reason: reason)
                case .entry(let entryBytes, let hash, let signature):
                    if let problem = verifier.check(canonicalBytes: entryBytes, hash: hash, signature: signature) {
                        return .broken(seq: verifier.firstBreak?.seq ?? verifier.count, reason: sentence(problem.message))
                    }
                    bytes += entryBytes.count
                }
            }
            if items.count < want { return nil }
        }
        return nil
    }

    /// A library sentence as a clause after "BROKEN at seq K: " (no trailing full stop).
    static func sentence(_ text: String) -> String {
        text.hasSuffix(".") ? String(text.dropLast()) : text
    }
}

// MARK: - Sources

/// A data folder's ledger, read through `LedgerStore` exactly as stored.
struct StoreChainSource: LedgerChainSource {
    /// The store over the opened (unmigrated, never written) database.
    let ledger: LedgerStore

    /// Stored rows from `seq` on; a page that fails is re-read row by row so the damaged row gets its seq.
    func page(from seq: Int, limit: Int) async throws -> [ChainItem] {
        do {
            return try await ledger.stored(from: seq, limit: limit).map(Self.item)
        } catch {
            // One damaged row fails the whole page; re-read row by row to name the first bad seq.
            var items: [ChainItem] = []
            var next = seq
            while items.count < limit {
                do {
                    guard let row = try await ledger.stored(from: next, limit: 1).first else { break }
                    items.append(Self.item(row))
                    next = row.seq + 1
                } catch {
                    items.append(.unreadable(reason: "the stored row cannot be read (\(describe(error)))"))
                    break
                }
            }
            return items
        }
    }

    /// The stored head with the largest tree size.
    func latestHead() async throws -> SignedTreeHead? {
        try await ledger.head()
    }

    /// A stored row as the walk sees it: the exact bytes, the stored hash column and the signature.
    private static func item(_ row: StoredEntry) -> ChainItem {
        .entry(bytes: row.bytes, hash: row.hash, signature: row.signature)
    }
}

/// A server's ledger over `GET /api/ledger/entries` and `/api/ledger/head`.
struct ServerChainSource: LedgerChainSource {
    /// The client bound to the server.
    let client: APIClient

    /// One API page from `seq` on; a page the server fails on (5xx) is re-fetched one entry at a time.
    func page(from seq: Int, limit: Int) async throws -> [ChainItem] {
        do {
            return try await fetch(from: seq, limit: limit)
        } catch let error as ClientError where limit > 1 && Self.isServerFailure(error) {
            // A server that cannot serve one damaged entry fails the page; ask one by one to find it.
            var items: [ChainItem] = []
            for next in seq..<(seq + limit) {
                do {
                    let one = try await fetch(from: next, limit: 1)
                    items += one
                    if one.isEmpty { break }
                } catch let error as ClientError where Self.isServerFailure(error) {
                    items.append(.unreadable(reason: "the server cannot serve this entry (\(error.message))"))
                    break
                }
            }
            return items
        }
    }

    /// `GET /api/ledger/head`; its 404 means an empty ledger.
    func latestHead() async throws -> SignedTreeHead? {
        let path = "/api/ledger/head"
        do {
            return try await client.get(path, as: SignedTreeHead.self)
        } catch ClientError.server(status: 404, _, _, _) {
            return nil
        }
    }

    /// One page, parsed strictly; each item's `hash` and `signature` are split off and the rest re-canonicalised.
    private func fetch(from seq: Int, limit: Int) async throws -> [ChainItem] {
        let path = "/api/ledger/entries?from=\(seq)&limit=\(limit)"
        let data = try await client.getData(path)
        let page: CanonicalJSON
        do {
            page = try CanonicalJSON.parse(data)
        } catch {
            throw ClientError.invalidResponse(path: path, reason: error.message)
        }
        guard let items = page["items"]?.arrayValue else {
            throw ClientError.invalidResponse(path: path, reason: "no \"items\" array")
        }
        return items.map(Self.item)
    }

    /// An entry as served: the entry fields plus `hash` and `signature`.
    private static func item(_ json: CanonicalJSON) -> ChainItem {
        guard var members = json.objectValue else { return .unreadable(reason: "the server sent an item that is not a JSON object") }
        guard let signature = members.removeValue(forKey: "signature")?.stringValue else {
            return .unreadable(reason: "the server sent an entry without a signature")
        }
        let hash = members.removeValue(forKey: "hash")
        guard hash == nil || hash?.stringValue != nil else { return .unreadable(reason: "the server sent a hash that is not a string") }
        return .entry(bytes: CanonicalJSON.object(members).canonicalBytes, hash: hash?.stringValue, signature: signature)
    }

    /// Whether the server itself failed (5xx), as it does on a row it cannot parse, rather than being unreachable.
    private static func isServerFailure(_ error: ClientError) -> Bool {
        if case .server(let status, _, _, _) = error { return status >= 500 }
        return false
    }
}

/// A readable sentence for any error the ledger commands can meet.
func describe(_ error: any Error) -> String {
    switch error {
    case let error as ClientError: error.message
    case let error as LedgerError: ChainWalk.sentence(error.message)
    case let error as LedgerCommandError: error.message
    case let error as DataError: error.message
    default: String(describing: error)
    }
}
