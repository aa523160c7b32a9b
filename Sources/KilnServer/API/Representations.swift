// The JSON shapes of the API, spelled as clients read them (snake_case keys).
import Foundation
import KilnAPI
import KilnData

/// A user as the API shows it.
struct UserJSON: Encodable {
    var id: Int
    var username: String
    var is_admin: Bool
    var created_at: String

    init(_ user: User) {
        id = user.id
        username = user.username
        is_admin = user.isAdmin
        created_at = ISO8601.string(milliseconds: user.createdAt)
    }
}

/// A Datanet as the API shows it, with counts when known.
struct DatanetJSON: Encodable {
    var id: Int
    var slug: String
    var title: String
    var description: String
    var kind: String
    var schema: String
    var license: String
    var rules: RulesBody
    var created_at: String
    var counts: Counts?
    var curators: [String]?

    struct Counts: Encodable {
        var accepted: Int
        var pending: Int
        var rejected: Int
        var contributors: Int
        var versions: Int
    }

    init(_ datanet: Datanet, summary: DatanetSummary? = nil) {
        id = datanet.id
        slug = datanet.slug
        title = datanet.title
        description = datanet.description
        kind = datanet.kind.rawValue
        schema = datanet.schema.rawValue
        license = datanet.license
        rules = datanet.rules.body
        created_at = ISO8601.string(milliseconds: datanet.createdAt)
        if let summary {
            counts = Counts(accepted: summary.accepted, pending: summary.pending, rejected: summary.rejected,
                            contributors: summary.contributors, versions: summary.versions)
            curators = summary.curators
        }
    }
}

/// A submission as the API shows it.
struct SubmissionJSON: Encodable {
    var id: Int
    var datanet: String
    var kind: String
    var contributor: String
    var status: String
    var stage: Nullable<String>
    var reason: Nullable<String>
    var reason_code: Nullable<String>
    var sha256: String
    var bytes: Int
    var format: String
    var file_name: String?
    var width: Int?
    var height: Int?
    var seconds: Double?
    var chars: Int?
    var content: JSONValue?
    var content_url: String?
    var checks: [CheckResult]
    var created_at: String
    var decided_at: Nullable<String>
    var self_accepted: Bool
    /// Shown to the contributor only: with their user id it opens the `contributor_commitment` of a rejection entry.
    var ledger_salt: String?

    /// The submission as `viewer` may see it.
    init(_ submission: Submission, viewer: User? = nil) {
        id = submission.id
        datanet = submission.datanet
        kind = submission.kind.rawValue
        contributor = submission.contributor
        status = submission.status.rawValue
        stage = Nullable(submission.stage?.rawValue)
        reason = Nullable(submission.reason)
        reason_code = Nullable(submission.reasonCode)
        sha256 = submission.sha256
        bytes = submission.bytes
        format = submission.format
        file_name = submission.fileName
        width = submission.width
        height = submission.height
        seconds = submission.seconds
        chars = submission.chars
        content = submission.content.map { JSONValue(parsing: $0) ?? .string($0) }
        content_url = submission.blobSHA256 == nil ? nil : "/api/submissions/\(submission.id)/content"
        checks = submission.checks
        created_at = ISO8601.string(milliseconds: submission.createdAt)
        decided_at = Nullable(submission.decidedAt.map { ISO8601.string(milliseconds: $0) })
        self_accepted = submission.selfAccepted
        ledger_salt = viewer?.id == submission.contributorId ? submission.ledgerSalt : nil
    }
}

/// A state change as the API shows it.
struct EventJSON: Encodable {
    var from: String?
    var to: String
    var stage: String
    var actor: String?
    var reason: String?
    var at: String

    init(_ event: SubmissionEvent) {
        from = event.from?.rawValue
        to = event.to.rawValue
        stage = event.stage
        actor = event.actor
        reason = event.reason
        at = ISO8601.string(milliseconds: event.at)
    }
}

/// A leaderboard row.
struct StandingJSON: Encodable {
    var rank: Int
    var username: String
    var accepted: Int
    var accepted_bytes: Int

    init(_ standing: Standing) {
        rank = standing.rank
        username = standing.username
        accepted = standing.accepted
        accepted_bytes = standing.acceptedBytes
    }
}

/// A version, with its manifest when asked for one.
struct VersionJSON: Encodable {
    var datanet: String
    var version: Int
    var merkle_root: String
    var count: Int
    var train_count: Int
    var validation_count: Int
    var bytes: Int
    var created_by: String
    var created_at: String
    var export_url: String
    var items: [Item]?

    struct Item: Encodable {
        var position: Int
        var id: Int
        var sha256: String
        var split: String
        var contributor: String
        var format: String
        var bytes: Int
    }

    init(_ version: DatasetVersion, items: [VersionItem]?) {
        datanet = version.datanet
        self.version = version.number
        merkle_root = version.merkleRoot
        count = version.count
        train_count = version.trainCount
        validation_count = version.validationCount
        bytes = version.bytes
        created_by = version.createdBy
        created_at = ISO8601.string(milliseconds: version.createdAt)
        export_url = "/api/datanets/\(version.datanet)/versions/\(version.number)/export.jsonl"
        self.items = items?.map {
            Item(position: $0.position, id: $0.id, sha256: $0.sha256, split: $0.split.rawValue, contributor: $0.contributor,
                 format: $0.format, bytes: $0.bytes)
        }
    }
}

/// A page of a list: `{"items":[…],"next":cursor|null}`.
struct PageJSON<Item: Encodable>: Encodable {
    var items: [Item]
    var next: String?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        // `next` is always present, as null at the end, so clients can test it without a key check.
        try c.encode(next, forKey: .next)
    }

    enum CodingKeys: String, CodingKey { case items, next }
}

/// A value that is written as `null` when absent instead of being left out, for keys clients always expect.
struct Nullable<Value: Encodable>: Encodable {
    var value: Value?

    init(_ value: Value?) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}
