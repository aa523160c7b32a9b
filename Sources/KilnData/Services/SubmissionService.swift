// The policy of submitting: checks, duplicate detection, limits and quotas, and what the ledger records.
import Crypto
import Foundation
import KilnLedger
import KilnStore
import SQLKit

/// Decides what happens to submitted items and to curators' reviews; `SubmissionRepository` runs the SQL.
public final class SubmissionService: Sendable {
    let database: Database
    let blobs: BlobStore
    let ledger: LedgerStore
    let datanets: DatanetStore
    let limits: UploadLimits
    let repository = SubmissionRepository()
    let now: @Sendable () -> Date

    /// Creates the service; decisions are recorded on `ledger`, curators are looked up in `datanets`.
    public init(database: Database, blobs: BlobStore, ledger: LedgerStore, datanets: DatanetStore, limits: UploadLimits = UploadLimits(),
                now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.blobs = blobs
        self.ledger = ledger
        self.datanets = datanets
        self.limits = limits
        self.now = now
    }

    /// Checks and stores a batch of items from one contributor, all or nothing.
    ///
    /// Items that fail a check are stored as rejected with their reason, without their bytes, and the
    /// request's rejections go on the ledger as one entry. Nothing is stored when the items that pass would
    /// take the contributor past the Datanet's daily limit or the node's storage quota, or the rejected ones
    /// past the node's daily cap on automatic rejections.
    /// - Throws: `DataError.dailyLimit`, `.rejectionLimit`, `.quotaExceeded` (nothing stored), `.tooLarge`, `.badRequest`.
    public func submit(_ items: [IncomingItem], to datanet: Datanet, by contributor: User) async throws -> [Submission] {
        var checked = try items.map { try SubmissionValidator.check($0, datanet: datanet) }
        // The duplicate checks only read committed items, so they run on a reader, outside the writer.
        // A copy committed in between is still caught: the unique index turns the insert into a duplicate.
        checked = try await database.read { [checked] sql in
            var seen = Set<String>()
            var out = checked
            for index in out.indices where out[index].rejection == nil {
                try await self.duplicateChecks(&out[index], datanet: datanet, sql: sql, seen: seen)
                if out[index].rejection == nil { seen.insert(out[index].sha256) }
            }
            return out
        }
        // Bytes go to the blob store before the row that names them commits; a rejected item's bytes are never written.
        for item in checked where item.rejection == nil {
            if let data = item.data { try blobs.put(data) }
        }
        let time = Int(now().timeIntervalSince1970 * 1000)
        let day = time.floorDivided(by: 86_400_000)
        let salt = Self.newSalt()
        let batch = checked
        return try await database.writeCoalesced { sql in
            try await self.database.lock(sql, key: Int64(datanet.id))
            // The common case, one item that passed its checks, is one statement that checks the limits as it inserts.
            if batch.count == 1, batch[0].rejection == nil {
                let row = NewSubmission(item: batch[0], status: .pending, datanetId: datanet.id, contributorId: contributor.id, day: day,
                                        time: time, salt: salt)
                if let id = try await self.repository.insert(row, within: (datanet.rules.dailyLimit, self.limits.userQuotaBytes), sql: sql) {
                    return [self.submission(id, row, datanet: datanet, contributor: contributor)]
                }
                // Nothing was written: a limit is spent (refused cleanly below) or a copy was committed since the check.
            }
            try await self.checkLimits(batch, datanet: datanet, contributor: contributor, day: day, sql: sql)
            var stored: [Submission] = []
            for item in batch {
                stored.append(try await self.insert(item, datanet: datanet, contributor: contributor, day: day, time: time, salt: salt, sql: sql))
            }
            let rejected = stored.filter { $0.status == .rejected }
            try await self.recordAutomaticRejections(rejected, datanet: datanet, contributorId: contributor.id, salt: salt, sql: sql)
            return stored
        }
    }

    /// Refuses the batch before anything is written (group commit relies on it) if it breaks a limit.
    private func checkLimits(_ items: [CheckedItem], datanet: Datanet, contributor: User, day: Int, sql: any SQLDatabase) async throws {
        let passing = items.filter { $0.rejection == nil }
        let rejections = items.count - passing.count
        let usage = try await repository.usage(contributorId: contributor.id, datanetId: datanet.id, day: day, sql: sql)
        let resets = Date(timeIntervalSince1970: Double((day + 1) * 86_400_000) / 1000)
        let limit = datanet.rules.dailyLimit
        if !passing.isEmpty && usage.live + passing.count > limit {
            throw DataError.dailyLimit(limit: limit, resetsAt: resets)
        }
        if rejections > 0 && usage.autoRejected + rejections > limits.maxAutoRejectionsPerDay {
            throw DataError.rejectionLimit(limit: limits.maxAutoRejectionsPerDay, resetsAt: resets)
        }
        let adding = passing.reduce(0) { $0 + $1.bytes }
        if adding > 0 && usage.storedBytes + adding > limits.userQuotaBytes {
            throw DataError.quotaExceeded(quota: limits.userQuotaBytes, used: usage.storedBytes, adding: adding)
        }
    }

    private func insert(_ item: CheckedItem, datanet: Datanet, contributor: User, day: Int, time: Int, salt: String,
                        sql: any SQLDatabase) async throws -> Submission {
        var row = NewSubmission(item: item, status: item.rejection == nil ? .pending : .rejected, datanetId: datanet.id,
                                contributorId: contributor.id, day: day, time: time, salt: salt)
        if let id = try await repository.insert(row, sql: sql) {
            return submission(id, row, datanet: datanet, contributor: contributor)
        }
        // The live-hash index refused it: an identical item was committed after the duplicate check ran.
        if let index = row.item.checks.firstIndex(where: { $0.check == "duplicate" }) { row.item.checks.removeSubrange(index...) }
        row.item.fail("duplicate", code: "duplicate", "The same content is already in this Datanet.")
        row.status = .rejected
        let id = try await repository.insert(row, sql: sql)!
        return submission(id, row, datanet: datanet, contributor: contributor)
    }

    private func duplicateChecks(_ item: inout CheckedItem, datanet: Datanet, sql: any SQLDatabase, seen: Set<String>) async throws {
        if let existing = try await repository.liveCopy(datanetId: datanet.id, sha256: item.sha256, sql: sql) {
            item.fail("duplicate", code: "duplicate", "The same content is already in this Datanet (item \(existing)).")
            return
        }
        if seen.contains(item.sha256) {
            item.fail("duplicate", code: "duplicate", "The same content appears earlier in this batch.")
            return
        }
        item.pass("duplicate", "No identical item in this Datanet.")
        guard let signature = item.minhash else { return }
        var best: (id: Int, similarity: Double)?
        for candidate in try await repository.nearDuplicateCandidates(datanetId: datanet.id, keys: signature.bandKeys, sql: sql) {
            guard let other = MinHash(hex: candidate.minhash ?? "") else { continue }
            let similarity = signature.similarity(to: other)
            if similarity > (best?.similarity ?? -1) { best = (candidate.id, similarity) }
        }
        if let best, best.similarity >= 0.8 {
            item.fail("near_duplicate", code: "near_duplicate",
                      "The text is \(Int((best.similarity * 100).rounded()))% similar to accepted item \(best.id) (the limit is 80%).")
            return
        }
        item.pass("near_duplicate", "No accepted item is 80% similar.")
    }

    /// One ledger entry for every automatic rejection of a request: item ids, hashes and reason codes, and a
    /// commitment to the contributor in place of their id.
    private func recordAutomaticRejections(_ rejected: [Submission], datanet: Datanet, contributorId: Int, salt: String,
                                           sql: any SQLDatabase) async throws {
        guard !rejected.isEmpty else { return }
        let items: [CanonicalJSON] = rejected.map {
            ["submission_id": CanonicalJSON($0.id), "sha256": .string($0.sha256), "reason_code": .string($0.reasonCode ?? "rejected")]
        }
        let payload: CanonicalJSON = [
            "datanet": .string(datanet.slug), "stage": .string(DecisionStage.auto.rawValue), "items": .array(items),
            "contributor_commitment": .string(Self.commitment(contributorId: contributorId, salt: salt)),
        ]
        try await ledger.append(kind: LedgerEntry.Kind.submissionsRejected, payload: payload, subjects: rejected.map { .submission($0.id) }, sql: sql)
    }

    /// The hash a rejection entry carries instead of the contributor's id; the contributor, who can read the salt, can prove it.
    public static func commitment(contributorId: Int, salt: String) -> String {
        Hex.encode(SHA256.hash(data: Array("kiln-contributor-v1:\(salt):\(contributorId)".utf8)))
    }

    /// The stored submission as the API returns it (its arrival event is written by the `submissions_arrival` trigger).
    private func submission(_ id: Int, _ row: NewSubmission, datanet: Datanet, contributor: User) -> Submission {
        let item = row.item
        let rejected = row.status == .rejected
        return Submission(id: id, datanet: datanet.slug, kind: datanet.kind, contributor: contributor.username, contributorId: contributor.id,
                          status: row.status, stage: rejected ? .auto : nil, reasonCode: item.rejection?.code, reason: item.rejection?.reason,
                          sha256: item.sha256, bytes: item.bytes, format: item.format, content: item.content,
                          blobSHA256: item.data == nil || rejected ? nil : item.sha256, fileName: item.fileName, width: item.width,
                          height: item.height, seconds: item.seconds, chars: item.chars, checks: item.checks, createdAt: row.time,
                          decidedAt: rejected ? row.time : nil, ledgerSalt: row.salt)
    }
}
