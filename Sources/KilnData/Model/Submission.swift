// One contributed item and the record of every check and decision it went through.
import Foundation

/// Where an item stands: waiting for a curator, counted, or refused.
public enum SubmissionStatus: String, Sendable, Codable {
    case pending
    case accepted
    case rejected
}

/// Who made the last decision: the automatic checks or a curator.
public enum DecisionStage: String, Sendable, Codable {
    case auto
    case curator
}

/// One automatic check's outcome, shown to the contributor so a rejection is never a mystery.
public struct CheckResult: Sendable, Equatable, Codable {
    /// The check's name: `size`, `format`, `decode`, `bounds`, `duplicate`, `near_duplicate`.
    public var check: String
    /// Whether the item passed it.
    public var ok: Bool
    /// What was found, in words.
    public var detail: String

    /// Creates a check result.
    public init(_ check: String, ok: Bool, _ detail: String) {
        self.check = check
        self.ok = ok
        self.detail = detail
    }
}

/// A submission as stored and as the API shows it.
public struct Submission: Sendable, Equatable {
    /// The database id.
    public var id: Int
    /// The Datanet's slug.
    public var datanet: String
    /// The Datanet's kind.
    public var kind: DatanetKind
    /// The contributor's username.
    public var contributor: String
    /// The contributor's id.
    public var contributorId: Int
    /// Pending, accepted or rejected.
    public var status: SubmissionStatus
    /// Who decided, once decided.
    public var stage: DecisionStage?
    /// A machine-readable reason for a rejection (`below_min_chars`, `duplicate`, `curator`, …).
    public var reasonCode: String?
    /// The reason in words.
    public var reason: String?
    /// SHA-256 of the normalised content (text) or of the bytes (media), lowercase hex.
    public var sha256: String
    /// The item's size in bytes.
    public var bytes: Int
    /// The sniffed format (`txt`, `png`, `wav`, …).
    public var format: String
    /// For text items, the normalised fields as canonical JSON.
    public var content: String?
    /// For media items, the blob holding the bytes.
    public var blobSHA256: String?
    /// The uploaded file's name, for display only.
    public var fileName: String?
    /// Image dimensions.
    public var width: Int?
    public var height: Int?
    /// Audio duration.
    public var seconds: Double?
    /// Text length in code points.
    public var chars: Int?
    /// Every automatic check run, in order.
    public var checks: [CheckResult]
    /// When it arrived and when it was decided, Unix milliseconds.
    public var createdAt: Int
    public var decidedAt: Int?
    /// Accepted by a curator who contributed it: in the Datanet, but on no leaderboard until another curator accepts it.
    public var selfAccepted: Bool = false
    /// The salt of the hash that commits the item's rejection entry to its contributor (shown to the contributor only).
    public var ledgerSalt: String?
}

/// One state change of a submission: who, when, why.
public struct SubmissionEvent: Sendable, Equatable {
    /// The status before, `nil` for the arrival.
    public var from: SubmissionStatus?
    /// The status after.
    public var to: SubmissionStatus
    /// Automatic checks or a curator.
    public var stage: String
    /// The curator's username, `nil` for automatic changes.
    public var actor: String?
    /// The reason given.
    public var reason: String?
    /// When, Unix milliseconds.
    public var at: Int
}

/// A page of a list and the cursor of the next page, if any.
public struct Page<Item: Sendable>: Sendable {
    /// The items on this page.
    public var items: [Item]
    /// Pass as `?cursor=` to get the next page; `nil` at the end.
    public var next: String?

    /// Creates a page.
    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

/// Validated `?limit=&cursor=` parameters.
public struct PageRequest: Sendable {
    /// How many items, 1...1000 (default 100).
    public var limit: Int
    /// The position after which to start, from an earlier page's `next`.
    public var after: Int?
    /// A keyset cursor that is not one number (leaderboards), checked by the list that reads it.
    public var token: String?

    /// The default page: the first 100.
    public static let first = PageRequest(limit: 100, after: nil)

    /// Creates a page request.
    public init(limit: Int, after: Int?) {
        self.limit = limit
        self.after = after
    }

    /// Parses the query parameters; with `keyset`, the cursor is kept as text for the list to read.
    /// - Throws: `DataError.badRequest` if the limit (or a numeric cursor) is not a number in range, or a keyset cursor is over 200 bytes.
    public init(limit: String?, cursor: String?, keyset: Bool = false) throws {
        self.limit = try RequestNumber.optional(limit, name: "limit", in: 1...1000) ?? 100
        let cursor = cursor.flatMap { $0.isEmpty ? nil : $0 }
        if keyset {
            guard (cursor?.utf8.count ?? 0) <= 200 else { throw DataError.badRequest(code: "invalid_cursor", message: "The cursor is not one this list gave.") }
            token = cursor
        } else {
            after = try RequestNumber.optional(cursor, name: "cursor")
        }
    }
}
