// Rejections cost a node a bounded amount: one ledger entry a request, a daily cap, no kept bytes, a quota, collected orphans.
import Crypto
import Foundation
import KilnData
import KilnLedger
import KilnStore
import Testing

@Suite("Bounded rejections, quotas and orphaned blobs")
struct BoundedRejectionTests {
    @Test("One request's automatic rejections make one ledger entry; the daily cap refuses the rest with resets_at",
          arguments: TestEngine.available)
    func oneEntryPerRequestAndDailyCap(engine: TestEngine) async throws {
        let noon = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21 14:13:20 UTC; the next UTC day starts at 1_790_035_200
        try await withServices(engine, now: { noon }, limits: UploadLimits(maxAutoRejectionsPerDay: 200)) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let original = try await services.submissions.submit([plain("The one original note about oven spring.")], to: datanet, by: bob)[0]
            let before = try await services.ledger.head()?.treeSize ?? 0
            // 150 copies of a live item: every one is a duplicate.
            let copies = Array(repeating: plain("The one original note about oven spring."), count: 150)
            let stored = try await services.submissions.submit(copies, to: datanet, by: bob)
            #expect(stored.count == 150 && stored.allSatisfy { $0.status == .rejected && $0.reasonCode == "duplicate" })
            let entries = try await services.ledger.entries(from: before, limit: 10)
            #expect(entries.count == 1)
            #expect(entries[0].kind == "submissions.rejected")
            guard case .array(let items)? = entries[0].payload["items"] else {
                Issue.record("no items in \(entries[0].payload)")
                return
            }
            #expect(items.count == 150)
            #expect(items.first == ["submission_id": CanonicalJSON(stored[0].id), "sha256": .string(original.sha256), "reason_code": "duplicate"])
            // Each rejected item's receipt is that one entry.
            let receipt = try await services.ledger.receipt(about: .submission(stored[149].id))
            #expect(receipt.entry.seq == entries[0].seq)
            // 150 + 60 > 200: refused whole, nothing stored, nothing on the ledger.
            await #expect(throws: DataError.rejectionLimit(limit: 200, resetsAt: Date(timeIntervalSince1970: 1_790_035_200))) {
                try await services.submissions.submit(Array(repeating: plain("tiny"), count: 60), to: datanet, by: bob)
            }
            #expect(try await services.ledger.head()?.treeSize == before + 1)
            // Items that pass are not held back by the rejection count; 50 more rejections still fit.
            _ = try await services.submissions.submit(Array(repeating: plain("tiny"), count: 50), to: datanet, by: bob)
            #expect(DataError.rejectionLimit(limit: 1, resetsAt: noon).status == 429)
        }
    }

    @Test("A rejection entry commits to its contributor by hash and never names them", arguments: TestEngine.available)
    func rejectionsCommitToContributor(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let short = try await services.submissions.submit([plain("tiny")], to: datanet, by: bob)[0]
            let item = try await services.submissions.submit([plain("A note the curator turns down politely.")], to: datanet, by: bob)[0]
            _ = try await services.submissions.review(item.id, decision: .reject, reason: "Off topic", by: curator)
            for id in [short.id, item.id] {
                let submission = try await services.submissions.get(id)
                let salt = try #require(submission.ledgerSalt)
                let entry = try await services.ledger.receipt(about: .submission(id)).entry
                let expected = SHA256.hash(data: Array("kiln-contributor-v1:\(salt):\(bob.id)".utf8)).map { String(format: "%02x", $0) }.joined()
                #expect(entry.payload["contributor_commitment"]?.stringValue == expected)
                #expect(entry.payload["contributor_id"] == nil)
            }
        }
    }

    @Test("Rejected media bytes are not kept; orphaned blobs are collected after the grace period", arguments: TestEngine.available)
    func mediaBytesAndOrphans(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let photos = try await services.datanets.create(CreateDatanetRequest(
                slug: "photos", title: "Photos", description: "", kind: .image, schema: .plain,
                rules: DatanetRules(formats: ["png"], maxItemBytes: 100_000, dailyLimit: 100, minPixels: 64)), by: curator)
            let small = Data(MediaFixtures.png(width: 4, height: 4))
            let good = Data(MediaFixtures.png(width: 16, height: 16))
            let rejected = try await services.submissions.submit([.media(small, fileName: "small.png")], to: photos, by: bob)[0]
            let kept = try await services.submissions.submit([.media(good, fileName: "good.png")], to: photos, by: bob)[0]
            #expect(rejected.status == .rejected && rejected.blobSHA256 == nil)
            #expect(!services.blobs.contains(BlobStore.hash(small)))
            #expect(kept.status == .pending && services.blobs.contains(BlobStore.hash(good)))
            // A blob whose row never committed (a crash between the two).
            let orphan = Data(MediaFixtures.png(width: 20, height: 20))
            let orphanSHA = try services.blobs.put(orphan)
            #expect(try await services.collectOrphanedBlobs(grace: 3600) == BlobStore.Sweep(blobs: 0, bytes: 0))
            #expect(try await services.collectOrphanedBlobs(grace: -1) == BlobStore.Sweep(blobs: 1, bytes: orphan.count))
            #expect(!services.blobs.contains(orphanSHA))
            #expect(services.blobs.contains(BlobStore.hash(good)))
        }
    }

    @Test("The per-user storage quota refuses what would pass it, and a rejection frees its bytes", arguments: TestEngine.available)
    func storageQuota(engine: TestEngine) async throws {
        try await withServices(engine, limits: UploadLimits(userQuotaBytes: 1024)) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            // Each stored item is {"text":"…"}: 11 bytes of JSON around 390 characters = 401 bytes.
            func note(_ letter: Character) -> IncomingItem { plain(String(repeating: letter, count: 380) + " note text") }
            let first = try await services.submissions.submit([note("a")], to: datanet, by: bob)[0]
            _ = try await services.submissions.submit([note("b")], to: datanet, by: bob)
            #expect(first.bytes == 401)
            await #expect(throws: DataError.quotaExceeded(quota: 1024, used: 802, adding: 401)) {
                try await services.submissions.submit([note("c")], to: datanet, by: bob)
            }
            _ = try await services.submissions.review(first.id, decision: .reject, reason: "Repetitive", by: curator)
            let third = try await services.submissions.submit([note("c")], to: datanet, by: bob)[0]
            #expect(third.status == .pending)
        }
    }
}
