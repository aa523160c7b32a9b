// The API's JSON shapes (defined once in KilnAPI) made from the data layer's values.
import Foundation
import KilnAPI
import KilnData

extension UserBody {
    /// A user as the API shows it.
    init(_ user: User) {
        self.init(id: user.id, username: user.username, isAdmin: user.isAdmin, createdAt: ISO8601.string(milliseconds: user.createdAt))
    }
}

extension DatanetBody {
    /// A Datanet, with its counts and curators when a summary is given.
    init(_ datanet: Datanet, summary: DatanetSummary? = nil) {
        self.init(id: datanet.id, slug: datanet.slug, title: datanet.title, description: datanet.description, kind: datanet.kind.rawValue,
                  schema: datanet.schema.rawValue, license: datanet.license, rules: datanet.rules.body,
                  createdAt: ISO8601.string(milliseconds: datanet.createdAt),
                  counts: summary.map { Counts(accepted: $0.accepted, pending: $0.pending, rejected: $0.rejected,
                                               contributors: $0.contributors, versions: $0.versions) },
                  curators: summary?.curators)
        isPrivate = datanet.isPrivate
    }
}

extension SubmissionBody {
    /// The submission as `viewer` may see it: the ledger salt only for its contributor.
    init(_ submission: Submission, viewer: User? = nil) {
        self.init(id: submission.id, datanet: submission.datanet, kind: submission.kind.rawValue, contributor: submission.contributor,
                  status: submission.status.rawValue, stage: submission.stage?.rawValue, reason: submission.reason,
                  reasonCode: submission.reasonCode, sha256: submission.sha256, bytes: submission.bytes, format: submission.format,
                  fileName: submission.fileName, width: submission.width, height: submission.height, seconds: submission.seconds,
                  chars: submission.chars, content: submission.content.map { JSONValue(parsing: $0) ?? .string($0) },
                  contentURL: submission.blobSHA256 == nil ? nil : "/api/submissions/\(submission.id)/content",
                  checks: submission.checks.map { CheckBody(check: $0.check, ok: $0.ok, detail: $0.detail) },
                  createdAt: ISO8601.string(milliseconds: submission.createdAt),
                  decidedAt: submission.decidedAt.map { ISO8601.string(milliseconds: $0) }, selfAccepted: submission.selfAccepted,
                  ledgerSalt: viewer?.id == submission.contributorId ? submission.ledgerSalt : nil)
    }
}

extension EventBody {
    /// A state change.
    init(_ event: SubmissionEvent) {
        self.init(from: event.from?.rawValue, to: event.to.rawValue, stage: event.stage, actor: event.actor, reason: event.reason,
                  at: ISO8601.string(milliseconds: event.at))
    }
}

extension StandingBody {
    /// A leaderboard row.
    init(_ standing: Standing) {
        self.init(rank: standing.rank, username: standing.username, accepted: standing.accepted, acceptedBytes: standing.acceptedBytes)
    }
}

extension VersionBody {
    /// A version, with its manifest when `items` is given.
    init(_ version: DatasetVersion, items: [VersionItem]?) {
        self.init(datanet: version.datanet, version: version.number, merkleRoot: version.merkleRoot, count: version.count,
                  trainCount: version.trainCount, validationCount: version.validationCount, bytes: version.bytes,
                  createdBy: version.createdBy, createdAt: ISO8601.string(milliseconds: version.createdAt),
                  exportURL: "/api/datanets/\(version.datanet)/versions/\(version.number)/export.jsonl",
                  items: items?.map {
                      Item(position: $0.position, id: $0.id, sha256: $0.sha256, split: $0.split.rawValue, contributor: $0.contributor,
                           format: $0.format, bytes: $0.bytes)
                  })
    }
}
