// The policy of reviewing: who may decide, what a self-acceptance counts for, and what the ledger records; and the reads.
import Foundation
import KilnLedger
import KilnStore
import SQLKit

extension SubmissionService {
    /// A curator's decision on a pending item.
    public enum Decision: String, Sendable {
        case accept
        case reject
    }

    /// Accepts or rejects a pending item, or confirms another curator's acceptance of their own item.
    ///
    /// A curator who accepts their own item puts it in the Datanet but not on any leaderboard; it counts once
    /// another curator accepts it too.
    /// The caller has checked that `reviewer` curates the item's Datanet (the server's `Authorization`).
    /// - Throws: `.notFound`, `.unprocessable` (a rejection without a reason), `.conflict` (already decided).
    public func review(_ id: Int, decision: Decision, reason: String?, by reviewer: User) async throws -> Submission {
        let current = try await get(id)
        let datanet = try await datanets.get(current.datanet)
        let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        let why = (trimmed?.isEmpty ?? true) ? nil : trimmed
        if decision == .reject && why == nil {
            throw DataError.unprocessable(code: "reason_required", message: "Say why the item is rejected; the contributor sees the reason.")
        }
        if let why, why.count > 2000 { throw DataError.invalid("A reason has at most 2000 characters.") }
        let time = Int(now().timeIntervalSince1970 * 1000)
        try await database.write { sql in
            try await self.database.lock(sql, key: Int64(datanet.id))
            guard let row = try await self.repository.decisionRow(id, sql: sql) else { throw DataError.notFound("There is no submission \(id).") }
            let ownItem = row.contributorId == reviewer.id
            if row.status == SubmissionStatus.accepted.rawValue, row.selfAccepted, decision == .accept, !ownItem {
                try await self.repository.confirm(id, curatorId: reviewer.id, time: time, sql: sql)
                try await self.repository.countStanding(datanetId: datanet.id, contributorId: row.contributorId, bytes: row.bytes, sql: sql)
                try await self.recordAcceptance(id, datanet: datanet, sha256: row.sha256, contributorId: row.contributorId, curatorId: reviewer.id,
                                                selfAccepted: false, sql: sql)
                return
            }
            guard row.status == SubmissionStatus.pending.rawValue else {
                throw DataError.conflict(code: "already_decided", message: "Item \(id) has already been decided.")
            }
            let status: SubmissionStatus = decision == .accept ? .accepted : .rejected
            let selfAccepted = status == .accepted && ownItem
            let salt = row.salt ?? Self.newSalt()
            try await self.repository.decide(id, from: .pending, to: status, reason: why, selfAccepted: selfAccepted, salt: salt,
                                             curatorId: reviewer.id, time: time, sql: sql)
            // The status change moves the Datanet's counts and frees a rejected item's bytes from the quota (by trigger).
            if status == .rejected {
                try await self.ledger.append(kind: LedgerEntry.Kind.submissionRejected, payload: [
                    "submission_id": CanonicalJSON(id), "datanet": .string(datanet.slug), "sha256": .string(row.sha256),
                    "contributor_commitment": .string(Self.commitment(contributorId: row.contributorId, salt: salt)),
                    "stage": .string(DecisionStage.curator.rawValue), "curator_id": CanonicalJSON(reviewer.id), "reason_code": "curator",
                ], subject: .submission(id), sql: sql)
                return
            }
            if let signature = MinHash(hex: row.minhash ?? "") {
                try await self.repository.addBands(signature.bandKeys, submissionId: id, datanetId: datanet.id, sql: sql)
            }
            if !selfAccepted {
                try await self.repository.countStanding(datanetId: datanet.id, contributorId: row.contributorId, bytes: row.bytes, sql: sql)
            }
            try await self.recordAcceptance(id, datanet: datanet, sha256: row.sha256, contributorId: row.contributorId, curatorId: reviewer.id,
                                            selfAccepted: selfAccepted, sql: sql)
        }
        return try await get(id)
    }

    /// An acceptance names its contributor (credit is the point of the ledger); a self-acceptance says so.
    private func recordAcceptance(_ id: Int, datanet: Datanet, sha256: String, contributorId: Int, curatorId: Int, selfAccepted: Bool,
                                  sql: any SQLDatabase) async throws {
        var payload: [String: CanonicalJSON] = [
            "submission_id": CanonicalJSON(id), "datanet": .string(datanet.slug), "sha256": .string(sha256),
            "contributor_id": CanonicalJSON(contributorId), "stage": .string(DecisionStage.curator.rawValue), "curator_id": CanonicalJSON(curatorId),
        ]
        if selfAccepted { payload["self_accepted"] = true }
        try await ledger.append(kind: LedgerEntry.Kind.submissionAccepted, payload: CanonicalJSON(payload), subject: .submission(id), sql: sql)
    }

    /// A fresh random salt for a contributor commitment, 32 hex digits.
    static func newSalt() -> String {
        Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
    }

    // MARK: - Reading

    /// One submission.
    /// - Throws: `DataError.notFound`.
    public func get(_ id: Int) async throws -> Submission {
        guard let submission = try await database.read({ sql in try await self.repository.get(id, sql: sql) }) else {
            throw DataError.notFound("There is no submission \(id).")
        }
        return submission
    }

    /// A Datanet's pending items, oldest first.
    public func queue(_ datanet: Datanet, page: PageRequest) async throws -> Page<Submission> {
        let rows = try await database.read { sql in
            try await self.repository.pending(datanetId: datanet.id, after: page.after ?? 0, limit: page.limit, sql: sql)
        }
        return Self.page(rows, limit: page.limit)
    }

    /// A contributor's own items, newest first.
    public func mine(_ user: User, page: PageRequest) async throws -> Page<Submission> {
        let rows = try await database.read { sql in
            try await self.repository.byContributor(user.id, before: page.after ?? Int.max, limit: page.limit, sql: sql)
        }
        return Self.page(rows, limit: page.limit)
    }

    /// Every state change of a submission, oldest first.
    public func events(_ id: Int) async throws -> [SubmissionEvent] {
        try await database.read { sql in try await self.repository.events(id, sql: sql) }
    }

    /// Where a media submission's bytes are on disk, to be streamed.
    public func mediaFile(_ submission: Submission) throws -> URL? {
        guard let sha = submission.blobSHA256 else { return nil }
        return try blobs.url(for: sha)
    }

    static func page(_ rows: [Submission], limit: Int) -> Page<Submission> {
        let items = Array(rows.prefix(limit))
        return Page(items: items, next: rows.count > limit ? items.last.map { String($0.id) } : nil)
    }
}
