// Submitting items (the database checks and the daily limit, atomically) and reviewing them.
import Foundation
import KilnLedger
import KilnStore
import SQLKit

/// Stores submissions: runs the duplicate checks, enforces daily limits and records every decision.
public final class SubmissionStore: Sendable {
    private let database: Database
    private let blobs: BlobStore
    private let ledger: LedgerStore
    private let now: @Sendable () -> Date

    /// Creates the store; decisions are recorded on `ledger`.
    public init(database: Database, blobs: BlobStore, ledger: LedgerStore, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.blobs = blobs
        self.ledger = ledger
        self.now = now
    }

    /// Checks and stores a batch of items from one contributor, all or nothing.
    ///
    /// Items that fail a check are stored as rejected with their reason. If the items that pass
    /// would take the contributor past the daily limit, nothing is stored.
    /// - Throws: `DataError.dailyLimit` (nothing stored), `.tooLarge`, `.badRequest` from the checks.
    public func submit(_ items: [IncomingItem], to datanet: Datanet, by contributor: User) async throws -> [Submission] {
        var checked = try items.map { try SubmissionValidator.check($0, datanet: datanet) }
        // Media bytes go to the blob store first: the row that names a blob is committed only after its bytes are durable.
        for item in checked {
            if let data = item.data { try blobs.put(data) }
        }
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
        let time = Int(now().timeIntervalSince1970 * 1000)
        let day = time.floorDivided(by: 86_400_000)
        let limit = datanet.rules.dailyLimit
        let passing = checked.filter { $0.rejection == nil }.count
        let items = checked
        return try await database.writeCoalesced { sql in
            try await self.database.lock(sql, key: Int64(datanet.id))
            if items.count == 1, items[0].rejection == nil {
                return [try await self.insertOne(items[0], datanet: datanet, contributor: contributor, time: time, day: day, sql: sql)]
            }
            let used = try await sql.raw("""
                SELECT COUNT(*) AS n FROM submissions WHERE contributor_id = \(bind: contributor.id)
                AND datanet_id = \(bind: datanet.id) AND day = \(bind: day) AND status <> 'rejected'
                """).first()!.decode(column: "n", as: Int.self)
            // Decided before any write, so a refused batch leaves nothing behind (group commit relies on it).
            if passing > 0 && used + passing > limit {
                throw DataError.dailyLimit(limit: limit, resetsAt: Date(timeIntervalSince1970: Double((day + 1) * 86_400_000) / 1000))
            }
            var stored: [Submission] = []
            for item in items {
                stored.append(try await self.insert(item, datanet: datanet, contributor: contributor, time: time, day: day, sql: sql))
            }
            return stored
        }
    }

    private func duplicateChecks(_ item: inout CheckedItem, datanet: Datanet, sql: any SQLDatabase, seen: Set<String>) async throws {
        let sha = item.sha256
        let exact = try await sql.raw("""
            SELECT id FROM submissions WHERE datanet_id = \(bind: datanet.id) AND sha256 = \(bind: sha) AND status <> 'rejected' LIMIT 1
            """).first()
        if let exact {
            item.fail("duplicate", code: "duplicate", "The same content is already in this Datanet (item \(try exact.decode(column: "id", as: Int.self))).")
            return
        }
        if seen.contains(sha) {
            item.fail("duplicate", code: "duplicate", "The same content appears earlier in this batch.")
            return
        }
        item.pass("duplicate", "No identical item in this Datanet.")
        guard let signature = item.minhash else { return }
        let keys = signature.bandKeys
        let candidates = try await sql.raw("""
            SELECT DISTINCT s.id, s.minhash FROM minhash_bands b JOIN submissions s ON s.id = b.submission_id
            WHERE b.datanet_id = \(bind: datanet.id) AND b.band_key IN (\(binds: keys)) AND s.status = 'accepted'
            """).all()
        var best: (id: Int, similarity: Double)?
        for row in candidates {
            guard let other = MinHash(hex: try row.decode(column: "minhash", as: String?.self) ?? "") else { continue }
            let similarity = signature.similarity(to: other)
            if similarity > (best?.similarity ?? -1) { best = (try row.decode(column: "id", as: Int.self), similarity) }
        }
        if let best, best.similarity >= 0.8 {
            item.fail("near_duplicate", code: "near_duplicate",
                      "The text is \(Int((best.similarity * 100).rounded()))% similar to accepted item \(best.id) (the limit is 80%).")
            return
        }
        item.pass("near_duplicate", "No accepted item is 80% similar.")
    }

    /// The common case, one item that passed its checks, in one statement: the insert itself checks the daily limit.
    private func insertOne(_ item: CheckedItem, datanet: Datanet, contributor: User, time: Int, day: Int, sql: any SQLDatabase) async throws -> Submission {
        let limit = datanet.rules.dailyLimit
        if let id = try await insertRow(item, status: .pending, datanet: datanet, contributor: contributor, time: time, day: day,
                                        underLimit: limit, sql: sql) {
            return submission(id, item, datanet: datanet, contributor: contributor, time: time)
        }
        // Nothing inserted: either the limit is used up (nothing written yet, so the refusal is clean) or a live copy exists.
        let used = try await sql.raw("""
            SELECT COUNT(*) AS n FROM submissions WHERE contributor_id = \(bind: contributor.id)
            AND datanet_id = \(bind: datanet.id) AND day = \(bind: day) AND status <> 'rejected'
            """).first()!.decode(column: "n", as: Int.self)
        if used >= limit {
            throw DataError.dailyLimit(limit: limit, resetsAt: Date(timeIntervalSince1970: Double((day + 1) * 86_400_000) / 1000))
        }
        return try await insert(item, datanet: datanet, contributor: contributor, time: time, day: day, sql: sql)
    }

    private func insert(_ item: CheckedItem, datanet: Datanet, contributor: User, time: Int, day: Int, sql: any SQLDatabase) async throws -> Submission {
        var item = item
        if item.rejection == nil, let id = try await insertRow(item, status: .pending, datanet: datanet, contributor: contributor, time: time,
                                                               day: day, sql: sql) {
            return submission(id, item, datanet: datanet, contributor: contributor, time: time)
        }
        if item.rejection == nil {
            // The live-hash index refused it: an identical item was committed after the duplicate check ran.
            if let index = item.checks.firstIndex(where: { $0.check == "duplicate" }) { item.checks.removeSubrange(index...) }
            item.fail("duplicate", code: "duplicate", "The same content is already in this Datanet.")
        }
        let id = try await insertRow(item, status: .rejected, datanet: datanet, contributor: contributor, time: time, day: day, sql: sql)!
        try await recordDecision(id, accepted: false, datanet: datanet, sha256: item.sha256, contributorId: contributor.id, stage: .auto,
                                 reasonCode: item.rejection?.code, curatorId: nil, sql: sql)
        return submission(id, item, datanet: datanet, contributor: contributor, time: time)
    }

    /// Inserts the row; `nil` when a live copy of the same content already exists.
    /// With `underLimit`, the row is inserted only if the contributor has fewer live items today than that.
    private func insertRow(_ item: CheckedItem, status: SubmissionStatus, datanet: Datanet, contributor: User, time: Int, day: Int,
                           underLimit: Int? = nil, sql: any SQLDatabase) async throws -> Int? {
        let stage: DecisionStage? = status == .pending ? nil : .auto
        let checksJSON = String(decoding: try JSONEncoder.sorted.encode(item.checks), as: UTF8.self)
        let blob = item.data == nil ? nil : item.sha256
        let row = try await sql.raw("""
            INSERT INTO submissions (datanet_id, contributor_id, status, stage, reason_code, reason, sha256, bytes, format, content,
                blob_sha256, file_name, width, height, seconds, chars, minhash, checks, day, created_at, decided_at)
            SELECT \(bind: datanet.id), \(bind: contributor.id), \(bind: status.rawValue), \(bind: stage?.rawValue),
                \(bind: item.rejection?.code), \(bind: item.rejection?.reason), \(bind: item.sha256), \(bind: item.bytes),
                \(bind: item.format), \(bind: item.content), \(bind: blob), \(bind: item.fileName), \(bind: item.width),
                \(bind: item.height), \(bind: item.seconds), \(bind: item.chars), \(bind: item.minhash?.hex), \(bind: checksJSON),
                \(bind: day), \(bind: time), \(bind: status == .rejected ? time : nil)
            WHERE \(bind: underLimit ?? Int.max) > (SELECT COUNT(*) FROM submissions WHERE contributor_id = \(bind: contributor.id)
                AND datanet_id = \(bind: datanet.id) AND day = \(bind: day) AND status <> 'rejected')
            ON CONFLICT (datanet_id, sha256) WHERE status <> 'rejected' DO NOTHING
            RETURNING id
            """).first()
        return try row?.decode(column: "id", as: Int.self)
    }

    /// The stored submission as the API returns it (its arrival event is written by the `submissions_arrival` trigger).
    private func submission(_ id: Int, _ item: CheckedItem, datanet: Datanet, contributor: User, time: Int) -> Submission {
        let status: SubmissionStatus = item.rejection == nil ? .pending : .rejected
        return Submission(id: id, datanet: datanet.slug, kind: datanet.kind, contributor: contributor.username, contributorId: contributor.id,
                          status: status, stage: item.rejection == nil ? nil : .auto, reasonCode: item.rejection?.code,
                          reason: item.rejection?.reason, sha256: item.sha256, bytes: item.bytes, format: item.format, content: item.content,
                          blobSHA256: item.data == nil ? nil : item.sha256, fileName: item.fileName, width: item.width, height: item.height,
                          seconds: item.seconds, chars: item.chars, checks: item.checks, createdAt: time,
                          decidedAt: status == .rejected ? time : nil)
    }

    /// Records an acceptance or rejection on the ledger, in the transaction that makes it.
    private func recordDecision(_ id: Int, accepted: Bool, datanet: Datanet, sha256: String, contributorId: Int, stage: DecisionStage,
                                reasonCode: String?, curatorId: Int?, sql: any SQLDatabase) async throws {
        var payload: [String: CanonicalJSON] = [
            "submission_id": CanonicalJSON(id), "datanet": .string(datanet.slug), "sha256": .string(sha256),
            "contributor_id": CanonicalJSON(contributorId), "stage": .string(stage.rawValue),
        ]
        if let curatorId { payload["curator_id"] = CanonicalJSON(curatorId) }
        if let reasonCode { payload["reason_code"] = .string(reasonCode) }
        try await ledger.append(kind: accepted ? LedgerEntry.Kind.submissionAccepted : LedgerEntry.Kind.submissionRejected,
                                payload: CanonicalJSON(payload), subject: "submission:\(id)", sql: sql)
    }

    /// A curator's decision on a pending item.
    public enum Decision: String, Sendable {
        case accept
        case reject
    }

    /// Accepts or rejects a pending item.
    /// - Throws: `.notFound`, `.forbidden` (not a curator of its Datanet), `.unprocessable` (a rejection
    ///   without a reason), `.conflict` (already decided).
    public func review(_ id: Int, decision: Decision, reason: String?, by reviewer: User, datanets: DatanetStore) async throws -> Submission {
        let current = try await get(id)
        let datanet = try await datanets.get(current.datanet)
        guard try await datanets.canCurate(reviewer, datanet) else {
            throw DataError.forbidden("Only curators of \(datanet.slug) can review its items.")
        }
        let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        let why = (trimmed?.isEmpty ?? true) ? nil : trimmed
        if decision == .reject && why == nil {
            throw DataError.unprocessable(code: "reason_required", message: "Say why the item is rejected; the contributor sees the reason.")
        }
        if let why, why.count > 2000 { throw DataError.invalid("A reason has at most 2000 characters.") }
        let time = Int(now().timeIntervalSince1970 * 1000)
        let status: SubmissionStatus = decision == .accept ? .accepted : .rejected
        try await database.write { sql in
            try await self.database.lock(sql, key: Int64(datanet.id))
            let row = try await sql.raw("SELECT status, minhash, sha256, contributor_id FROM submissions WHERE id = \(bind: id)").first()!
            guard try row.decode(column: "status", as: String.self) == "pending" else {
                throw DataError.conflict(code: "already_decided", message: "Item \(id) has already been decided.")
            }
            try await sql.raw("""
                UPDATE submissions SET status = \(bind: status.rawValue), stage = 'curator', reason_code = \(bind: decision == .reject ? "curator" : nil),
                reason = \(bind: why), decided_at = \(bind: time), decided_by = \(bind: reviewer.id) WHERE id = \(bind: id)
                """).run()
            try await sql.raw("""
                INSERT INTO submission_events (submission_id, from_status, to_status, stage, actor_id, reason, at)
                VALUES (\(bind: id), 'pending', \(bind: status.rawValue), 'curator', \(bind: reviewer.id), \(bind: why), \(bind: time))
                """).run()
            try await self.recordDecision(id, accepted: status == .accepted, datanet: datanet, sha256: try row.decode(column: "sha256", as: String.self),
                                          contributorId: try row.decode(column: "contributor_id", as: Int.self), stage: .curator,
                                          reasonCode: decision == .reject ? "curator" : nil, curatorId: reviewer.id, sql: sql)
            if status == .accepted, let signature = MinHash(hex: try row.decode(column: "minhash", as: String?.self) ?? "") {
                for key in signature.bandKeys {
                    try await sql.raw("""
                        INSERT INTO minhash_bands (datanet_id, band_key, submission_id) VALUES (\(bind: datanet.id), \(bind: key), \(bind: id))
                        """).run()
                }
            }
        }
        return try await get(id)
    }

    /// One submission.
    /// - Throws: `DataError.notFound`.
    public func get(_ id: Int) async throws -> Submission {
        let row = try await database.read { sql in
            try await sql.raw("\(unsafeRaw: Self.select) WHERE s.id = \(bind: id)").first()
        }
        guard let row else { throw DataError.notFound("There is no submission \(id).") }
        return try Self.submission(row)
    }

    /// A Datanet's pending items, oldest first.
    public func queue(_ datanet: Datanet, page: PageRequest) async throws -> Page<Submission> {
        let after = page.after ?? 0
        let rows = try await database.read { sql in
            try await sql.raw("""
                \(unsafeRaw: Self.select) WHERE s.datanet_id = \(bind: datanet.id) AND s.status = 'pending' AND s.id > \(bind: after)
                ORDER BY s.id LIMIT \(bind: page.limit + 1)
                """).all()
        }
        return try Self.page(rows, limit: page.limit)
    }

    /// A contributor's own items, newest first.
    public func mine(_ user: User, page: PageRequest) async throws -> Page<Submission> {
        let before = page.after ?? Int.max
        let rows = try await database.read { sql in
            try await sql.raw("""
                \(unsafeRaw: Self.select) WHERE s.contributor_id = \(bind: user.id) AND s.id < \(bind: before)
                ORDER BY s.id DESC LIMIT \(bind: page.limit + 1)
                """).all()
        }
        return try Self.page(rows, limit: page.limit)
    }

    /// Every state change of a submission, oldest first.
    public func events(_ id: Int) async throws -> [SubmissionEvent] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT e.from_status, e.to_status, e.stage, e.reason, e.at, u.username FROM submission_events e
                LEFT JOIN users u ON u.id = e.actor_id WHERE e.submission_id = \(bind: id) ORDER BY e.id
                """).all().map { row in
                SubmissionEvent(from: (try row.decode(column: "from_status", as: String?.self)).flatMap(SubmissionStatus.init(rawValue:)),
                                to: SubmissionStatus(rawValue: try row.decode(column: "to_status", as: String.self)) ?? .pending,
                                stage: try row.decode(column: "stage", as: String.self), actor: try row.decode(column: "username", as: String?.self),
                                reason: try row.decode(column: "reason", as: String?.self), at: try row.decode(column: "at", as: Int.self))
            }
        }
    }

    /// The bytes of a media submission.
    public func media(_ submission: Submission) throws -> Data? {
        guard let sha = submission.blobSHA256 else { return nil }
        return try blobs.get(sha)
    }

    static let select = """
        SELECT s.id, s.status, s.stage, s.reason_code, s.reason, s.sha256, s.bytes, s.format, s.content, s.blob_sha256,
            s.file_name, s.width, s.height, s.seconds, s.chars, s.checks, s.created_at, s.decided_at, s.contributor_id,
            u.username, d.slug, d.kind
        FROM submissions s JOIN users u ON u.id = s.contributor_id JOIN datanets d ON d.id = s.datanet_id
        """

    static func page(_ rows: [any SQLRow], limit: Int) throws -> Page<Submission> {
        let items = try rows.prefix(limit).map(submission)
        return Page(items: items, next: rows.count > limit ? items.last.map { String($0.id) } : nil)
    }

    static func submission(_ row: any SQLRow) throws -> Submission {
        let checks = (try? JSONDecoder().decode([CheckResult].self, from: Data(try row.decode(column: "checks", as: String.self).utf8))) ?? []
        return Submission(
            id: try row.decode(column: "id", as: Int.self), datanet: try row.decode(column: "slug", as: String.self),
            kind: DatanetKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .text,
            contributor: try row.decode(column: "username", as: String.self), contributorId: try row.decode(column: "contributor_id", as: Int.self),
            status: SubmissionStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            stage: (try row.decode(column: "stage", as: String?.self)).flatMap(DecisionStage.init(rawValue:)),
            reasonCode: try row.decode(column: "reason_code", as: String?.self), reason: try row.decode(column: "reason", as: String?.self),
            sha256: try row.decode(column: "sha256", as: String.self), bytes: try row.decode(column: "bytes", as: Int.self),
            format: try row.decode(column: "format", as: String.self), content: try row.decode(column: "content", as: String?.self),
            blobSHA256: try row.decode(column: "blob_sha256", as: String?.self), fileName: try row.decode(column: "file_name", as: String?.self),
            width: try row.decode(column: "width", as: Int?.self), height: try row.decode(column: "height", as: Int?.self),
            seconds: try row.decode(column: "seconds", as: Double?.self), chars: try row.decode(column: "chars", as: Int?.self),
            checks: checks, createdAt: try row.decode(column: "created_at", as: Int.self), decidedAt: try row.decode(column: "decided_at", as: Int?.self))
    }
}
