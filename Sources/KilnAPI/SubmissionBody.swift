// A submission, its checks and its history as the API writes them.

/// One automatic check's outcome: `{"check","ok","detail"}`.
public struct CheckBody: Codable, Sendable, Equatable {
    public var check: String
    public var ok: Bool
    public var detail: String

    /// A check result.
    public init(check: String, ok: Bool, detail: String) {
        self.check = check
        self.ok = ok
        self.detail = detail
    }
}

/// A submission. `stage`, `reason`, `reason_code` and `decided_at` are always written (null until decided);
/// the media facts, `content` and `content_url` only when they apply; `ledger_salt` only to the contributor.
public struct SubmissionBody: Codable, Sendable {
    public var id: Int
    public var datanet: String
    public var kind: String
    public var contributor: String
    /// `pending`, `accepted` or `rejected`.
    public var status: String
    /// `auto` or `curator`, once decided.
    public var stage: String?
    public var reason: String?
    public var reasonCode: String?
    public var sha256: String
    public var bytes: Int
    public var format: String
    public var fileName: String?
    public var width: Int?
    public var height: Int?
    public var seconds: Double?
    public var chars: Int?
    /// A text item's fields.
    public var content: JSONValue?
    /// Where a media item's bytes are served.
    public var contentURL: String?
    public var checks: [CheckBody]
    /// ISO 8601, UTC.
    public var createdAt: String
    public var decidedAt: String?
    /// Accepted by its own curator and not yet confirmed by another (absent from servers before it existed).
    public var selfAccepted: Bool?
    /// With the contributor's id, opens the `contributor_commitment` of the item's rejection entry.
    public var ledgerSalt: String?

    /// A submission.
    public init(id: Int, datanet: String, kind: String, contributor: String, status: String, stage: String?, reason: String?,
                reasonCode: String?, sha256: String, bytes: Int, format: String, fileName: String?, width: Int?, height: Int?,
                seconds: Double?, chars: Int?, content: JSONValue?, contentURL: String?, checks: [CheckBody], createdAt: String,
                decidedAt: String?, selfAccepted: Bool?, ledgerSalt: String?) {
        self.id = id
        self.datanet = datanet
        self.kind = kind
        self.contributor = contributor
        self.status = status
        self.stage = stage
        self.reason = reason
        self.reasonCode = reasonCode
        self.sha256 = sha256
        self.bytes = bytes
        self.format = format
        self.fileName = fileName
        self.width = width
        self.height = height
        self.seconds = seconds
        self.chars = chars
        self.content = content
        self.contentURL = contentURL
        self.checks = checks
        self.createdAt = createdAt
        self.decidedAt = decidedAt
        self.selfAccepted = selfAccepted
        self.ledgerSalt = ledgerSalt
    }

    enum CodingKeys: String, CodingKey {
        case id, datanet, kind, contributor, status, stage, reason, sha256, bytes, format, width, height, seconds, chars, content, checks
        case reasonCode = "reason_code"
        case fileName = "file_name"
        case contentURL = "content_url"
        case createdAt = "created_at"
        case decidedAt = "decided_at"
        case selfAccepted = "self_accepted"
        case ledgerSalt = "ledger_salt"
    }

    /// Writes the decision fields as null while undecided, and leaves out what does not apply.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(datanet, forKey: .datanet)
        try c.encode(kind, forKey: .kind)
        try c.encode(contributor, forKey: .contributor)
        try c.encode(status, forKey: .status)
        try c.encode(stage, forKey: .stage)
        try c.encode(reason, forKey: .reason)
        try c.encode(reasonCode, forKey: .reasonCode)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(format, forKey: .format)
        try c.encodeIfPresent(fileName, forKey: .fileName)
        try c.encodeIfPresent(width, forKey: .width)
        try c.encodeIfPresent(height, forKey: .height)
        try c.encodeIfPresent(seconds, forKey: .seconds)
        try c.encodeIfPresent(chars, forKey: .chars)
        try c.encodeIfPresent(content, forKey: .content)
        try c.encodeIfPresent(contentURL, forKey: .contentURL)
        try c.encode(checks, forKey: .checks)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(decidedAt, forKey: .decidedAt)
        try c.encodeIfPresent(selfAccepted, forKey: .selfAccepted)
        try c.encodeIfPresent(ledgerSalt, forKey: .ledgerSalt)
    }
}

/// One state change of a submission: `{"from"?,"to","stage","actor"?,"reason"?,"at"}`.
public struct EventBody: Codable, Sendable, Equatable {
    /// The status before; absent for the arrival.
    public var from: String?
    public var to: String
    public var stage: String
    /// The curator's username; absent for automatic changes.
    public var actor: String?
    public var reason: String?
    /// ISO 8601, UTC.
    public var at: String

    /// An event.
    public init(from: String?, to: String, stage: String, actor: String?, reason: String?, at: String) {
        self.from = from
        self.to = to
        self.stage = stage
        self.actor = actor
        self.reason = reason
        self.at = at
    }
}
