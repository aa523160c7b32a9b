// The SQL of submissions: rows, counts, events and standings. No policy lives here: `SubmissionService` decides.
import Foundation
import KilnStore
import SQLKit

/// What a contributor has used today in one Datanet, and of their storage, read in one statement.
struct UsageToday: Sendable {
    /// Pending and accepted items submitted today (the daily limit).
    var live: Int
    /// Items the automatic checks rejected today (the rejection limit).
    var autoRejected: Int
    /// Bytes of the contributor's live items in every Datanet (the storage quota).
    var storedBytes: Int
}

/// A checked item as one row to insert.
struct NewSubmission: Sendable {
    var item: CheckedItem
    var status: SubmissionStatus
    var datanetId: Int
    var contributorId: Int
    var day: Int
    var time: Int
    var salt: String
}

/// Runs the statements that read and write submissions and the counters kept beside them.
struct SubmissionRepository: Sendable {
    /// The live items a contributor submitted to a Datanet on a day: the one place the daily limit is counted.
    private static func liveToday(contributorId: Int, datanetId: Int, day: Int) -> SQLQueryString {
        """
        (SELECT COUNT(*) FROM submissions WHERE contributor_id = \(bind: contributorId) AND datanet_id = \(bind: datanetId)
            AND day = \(bind: day) AND status <> 'rejected')
        """
    }

    /// Today's usage of a contributor in a Datanet: the daily limit, the rejection cap and the quota, in one statement.
    func usage(contributorId: Int, datanetId: Int, day: Int, sql: any SQLDatabase) async throws -> UsageToday {
        let row = try await sql.raw("""
            SELECT \(Self.liveToday(contributorId: contributorId, datanetId: datanetId, day: day)) AS live,
                (SELECT COUNT(*) FROM submissions WHERE contributor_id = \(bind: contributorId) AND datanet_id = \(bind: datanetId)
                    AND day = \(bind: day) AND status = 'rejected' AND stage = 'auto') AS auto_rejected,
                (SELECT stored_bytes FROM users WHERE id = \(bind: contributorId)) AS stored_bytes
            """).first()!
        return UsageToday(live: try row.decode(column: "live", as: Int.self), autoRejected: try row.decode(column: "auto_rejected", as: Int.self),
                          storedBytes: try row.decode(column: "stored_bytes", as: Int?.self) ?? 0)
    }

    /// The id of a live item with this content in the Datanet, if any.
    func liveCopy(datanetId: Int, sha256: String, sql: any SQLDatabase) async throws -> Int? {
        try await sql.raw("""
            SELECT id FROM submissions WHERE datanet_id = \(bind: datanetId) AND sha256 = \(bind: sha256) AND status <> 'rejected' LIMIT 1
            """).first()?.decode(column: "id", as: Int.self)
    }

    /// Accepted items sharing a MinHash band with `keys`, with their signatures.
    func nearDuplicateCandidates(datanetId: Int, keys: [Int64], sql: any SQLDatabase) async throws -> [(id: Int, minhash: String?)] {
        try await sql.raw("""
            SELECT DISTINCT s.id, s.minhash FROM minhash_bands b JOIN submissions s ON s.id = b.submission_id
            WHERE b.datanet_id = \(bind: datanetId) AND b.band_key IN (\(binds: keys)) AND s.status = 'accepted'
            """).all().map { (try $0.decode(column: "id", as: Int.self), try $0.decode(column: "minhash", as: String?.self)) }
    }

    /// Inserts the row; `nil` when a live copy of the same content already exists.
    /// With `within`, the row goes in only while the contributor is under the daily limit and the quota stays kept;
    /// the counters of Datanets and users move by trigger (migration 5).
    func insert(_ new: NewSubmission, within limits: (daily: Int, quotaBytes: Int)? = nil, sql: any SQLDatabase) async throws -> Int? {
        let item = new.item
        let rejected = new.status == .rejected
        let checksJSON = String(decoding: try JSONEncoder.sorted.encode(item.checks), as: UTF8.self)
        // A rejected item's bytes are not kept, so its row names no blob.
        let blob = item.data == nil || rejected ? nil : item.sha256
        let row = try await sql.raw("""
            INSERT INTO submissions (datanet_id, contributor_id, status, stage, reason_code, reason, sha256, bytes, format, content,
                blob_sha256, file_name, width, height, seconds, chars, minhash, checks, day, created_at, decided_at, ledger_salt)
            SELECT \(bind: new.datanetId), \(bind: new.contributorId), \(bind: new.status.rawValue), \(bind: rejected ? "auto" : nil),
                \(bind: item.rejection?.code), \(bind: item.rejection?.reason), \(bind: item.sha256), \(bind: item.bytes),
                \(bind: item.format), \(bind: item.content), \(bind: blob), \(bind: item.fileName), \(bind: item.width),
                \(bind: item.height), \(bind: item.seconds), \(bind: item.chars), \(bind: item.minhash?.hex), \(bind: checksJSON),
                \(bind: new.day), \(bind: new.time), \(bind: rejected ? new.time : nil), \(bind: new.salt)
            WHERE \(limits.map { limits in
                """
                \(bind: limits.daily) > \(Self.liveToday(contributorId: new.contributorId, datanetId: new.datanetId, day: new.day))
                AND (SELECT stored_bytes FROM users WHERE id = \(bind: new.contributorId)) + \(bind: item.bytes) <= \(bind: limits.quotaBytes)
                """ as SQLQueryString
            } ?? "1 = 1")
            ON CONFLICT (datanet_id, sha256) WHERE status <> 'rejected' DO NOTHING
            RETURNING id
            """).first()
        return try row?.decode(column: "id", as: Int.self)
    }

    /// The fields a decision needs, read under the Datanet's lock.
    func decisionRow(_ id: Int, sql: any SQLDatabase) async throws -> (status: String, selfAccepted: Bool, minhash: String?, sha256: String,
                                                                      contributorId: Int, bytes: Int, salt: String?)? {
        guard let row = try await sql.raw("""
            SELECT status, self_accepted, minhash, sha256, contributor_id, bytes, ledger_salt FROM submissions WHERE id = \(bind: id)
            """).first() else { return nil }
        return (try row.decode(column: "status", as: String.self), try row.decode(column: "self_accepted", as: Int.self) != 0,
                try row.decode(column: "minhash", as: String?.self), try row.decode(column: "sha256", as: String.self),
                try row.decode(column: "contributor_id", as: Int.self), try row.decode(column: "bytes", as: Int.self),
                try row.decode(column: "ledger_salt", as: String?.self))
    }

    /// Records a curator's decision on the row and in its event history.
    func decide(_ id: Int, from: SubmissionStatus, to status: SubmissionStatus, reason: String?, selfAccepted: Bool, salt: String,
                curatorId: Int, time: Int, sql: any SQLDatabase) async throws {
        try await sql.raw("""
            UPDATE submissions SET status = \(bind: status.rawValue), stage = 'curator', reason_code = \(bind: status == .rejected ? "curator" : nil),
            reason = \(bind: reason), decided_at = \(bind: time), decided_by = \(bind: curatorId), self_accepted = \(bind: selfAccepted ? 1 : 0),
            ledger_salt = \(bind: salt) WHERE id = \(bind: id)
            """).run()
        try await sql.raw("""
            INSERT INTO submission_events (submission_id, from_status, to_status, stage, actor_id, reason, at)
            VALUES (\(bind: id), \(bind: from.rawValue), \(bind: status.rawValue), 'curator', \(bind: curatorId), \(bind: reason), \(bind: time))
            """).run()
    }

    /// Files an accepted item's MinHash bands, so later near-duplicates of it are found.
    func addBands(_ keys: [Int64], submissionId: Int, datanetId: Int, sql: any SQLDatabase) async throws {
        guard !keys.isEmpty else { return }
        var query = SQLQueryString("INSERT INTO minhash_bands (datanet_id, band_key, submission_id) VALUES ")
        for (index, key) in keys.enumerated() {
            if index > 0 { query.appendLiteral(", ") }
            query.appendInterpolation("(\(bind: datanetId), \(bind: key), \(bind: submissionId))" as SQLQueryString)
        }
        try await sql.raw(query).run()
    }

    /// Counts one accepted item on its Datanet's leaderboard and on the node's (datanet 0).
    func countStanding(datanetId: Int, contributorId: Int, bytes: Int, sql: any SQLDatabase) async throws {
        for board in [datanetId, 0] {
            try await sql.raw("""
                INSERT INTO standings (datanet_id, user_id, username, accepted, accepted_bytes)
                SELECT \(bind: board), id, username, 1, \(bind: bytes) FROM users WHERE id = \(bind: contributorId)
                ON CONFLICT (datanet_id, user_id) DO UPDATE SET accepted = standings.accepted + 1,
                    accepted_bytes = standings.accepted_bytes + excluded.accepted_bytes
                """).run()
        }
    }

    /// Clears the self-acceptance flag once another curator has accepted the item.
    func confirm(_ id: Int, curatorId: Int, time: Int, sql: any SQLDatabase) async throws {
        try await sql.raw("UPDATE submissions SET self_accepted = 0 WHERE id = \(bind: id)").run()
        try await sql.raw("""
            INSERT INTO submission_events (submission_id, from_status, to_status, stage, actor_id, reason, at)
            VALUES (\(bind: id), 'accepted', 'accepted', 'curator', \(bind: curatorId), 'Confirmed by a second curator', \(bind: time))
            """).run()
    }

    // MARK: - Reading

    /// One submission, or `nil`.
    func get(_ id: Int, sql: any SQLDatabase) async throws -> Submission? {
        try await sql.raw("\(unsafeRaw: Self.select) WHERE s.id = \(bind: id)").first().map(Self.submission)
    }

    /// A Datanet's pending items after `after`, oldest first, one more than `limit` to tell whether a next page exists.
    func pending(datanetId: Int, after: Int, limit: Int, sql: any SQLDatabase) async throws -> [Submission] {
        try await sql.raw("""
            \(unsafeRaw: Self.select) WHERE s.datanet_id = \(bind: datanetId) AND s.status = 'pending' AND s.id > \(bind: after)
            ORDER BY s.id LIMIT \(bind: limit + 1)
            """).all().map(Self.submission)
    }

    /// A contributor's items before `before`, newest first, one more than `limit`.
    func byContributor(_ userId: Int, before: Int, limit: Int, sql: any SQLDatabase) async throws -> [Submission] {
        try await sql.raw("""
            \(unsafeRaw: Self.select) WHERE s.contributor_id = \(bind: userId) AND s.id < \(bind: before)
            ORDER BY s.id DESC LIMIT \(bind: limit + 1)
            """).all().map(Self.submission)
    }

    /// Every state change of a submission, oldest first.
    func events(_ id: Int, sql: any SQLDatabase) async throws -> [SubmissionEvent] {
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

    /// Every blob a row names, for the collector of orphaned blobs.
    func namedBlobs(sql: any SQLDatabase) async throws -> Set<String> {
        Set(try await sql.raw("SELECT DISTINCT blob_sha256 FROM submissions WHERE blob_sha256 IS NOT NULL").all()
            .map { try $0.decode(column: "blob_sha256", as: String.self) })
    }

    static let select = """
        SELECT s.id, s.status, s.stage, s.reason_code, s.reason, s.sha256, s.bytes, s.format, s.content, s.blob_sha256,
            s.file_name, s.width, s.height, s.seconds, s.chars, s.checks, s.created_at, s.decided_at, s.contributor_id,
            s.self_accepted, s.ledger_salt, u.username, d.slug, d.kind
        FROM submissions s JOIN users u ON u.id = s.contributor_id JOIN datanets d ON d.id = s.datanet_id
        """

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
            checks: checks, createdAt: try row.decode(column: "created_at", as: Int.self), decidedAt: try row.decode(column: "decided_at", as: Int?.self),
            selfAccepted: try row.decode(column: "self_accepted", as: Int.self) != 0, ledgerSalt: try row.decode(column: "ledger_salt", as: String?.self))
    }
}
