// The ledger as the stores write it, on both SQL engines: one entry per event, a chain that verifies, proofs that hold.
import Foundation
import KilnData
import KilnLedger
import KilnStore
import Testing

@Suite("Ledger store")
struct LedgerStoreTests {
    /// Every stored entry, verified with the offline verifier against the latest tree head.
    func verify(_ services: KilnServices) async throws -> ChainReport {
        let stored = try await services.ledger.stored(from: 0, limit: 100_000)
        return LedgerVerifier.verifyChain(entries: stored.map { ($0.bytes, $0.hash, $0.signature) },
                                          publicKey: services.ledger.signer.publicKey, treeHead: try await services.ledger.head())
    }

    @Test("Each Datanet event appends one entry of its kind, and the chain verifies", arguments: TestEngine.available)
    func eventsAppendEntries(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let short = try await services.submissions.submit([plain("tiny")], to: datanet, by: bob)[0]
            let good = try await services.submissions.submit([plain("A good note about scoring patterns.")], to: datanet, by: bob)[0]
            let other = try await services.submissions.submit([plain("A second note about banneton care.")], to: datanet, by: bob)[0]
            _ = try await services.submissions.review(good.id, decision: .accept, reason: nil, by: curator)
            _ = try await services.submissions.review(other.id, decision: .reject, reason: "Off topic", by: curator)
            _ = try await services.versions.publish(datanet, by: curator)
            let entries = try await services.ledger.entries(from: 0, limit: 100)
            #expect(entries.map(\.kind) == ["datanet.created", "submissions.rejected", "submission.accepted", "submission.rejected", "version.published"])
            #expect(entries.map(\.seq) == [0, 1, 2, 3, 4])
            #expect(entries[1].payload["items"] == .array([["submission_id": CanonicalJSON(short.id), "sha256": .string(short.sha256),
                                                             "reason_code": "below_min_chars"]]))
            #expect(entries[1].payload["stage"]?.stringValue == "auto")
            #expect(entries[1].payload["contributor_id"] == nil)
            #expect(entries[2].payload["sha256"]?.stringValue == good.sha256)
            #expect(entries[3].payload["reason_code"]?.stringValue == "curator")
            #expect(try await verify(services) == .valid(count: 5))
            #expect(try await services.ledger.head()?.treeSize == 5)
        }
    }

    @Test("50 concurrent acceptances leave a gapless chain with one entry each", arguments: TestEngine.available)
    func concurrentAppends(engine: TestEngine) async throws {
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            let bob = try await services.accounts.register(username: "bob", password: "correct horse battery")
            let datanet = try await makeTextDatanet(services, curator: curator)
            let items = try await services.submissions.submit((0..<50).map { plain("Concurrent note number \($0) about dough.") },
                                                              to: datanet, by: bob)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for item in items {
                    group.addTask {
                        _ = try await services.submissions.review(item.id, decision: .accept, reason: nil, by: curator)
                    }
                }
                try await group.waitForAll()
            }
            let entries = try await services.ledger.entries(from: 0, limit: 1000)
            #expect(entries.map(\.seq) == Array(0..<51))
            let accepted = entries.filter { $0.kind == "submission.accepted" }.compactMap { $0.payload["submission_id"]?.intValue }
            #expect(accepted.sorted() == items.map(\.id).sorted())
            #expect(try await verify(services) == .valid(count: 51))
        }
    }

    @Test("A rolled-back append leaves no trace in the chain or the proofs", arguments: TestEngine.available)
    func rollbackKeepsTreeRight(engine: TestEngine) async throws {
        struct Boom: Error {}
        try await withServices(engine) { services in
            let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
            _ = try await makeTextDatanet(services, curator: curator)
            await #expect(throws: Boom.self) {
                try await services.database.write { sql in
                    try await services.ledger.append(kind: "datanet.created", payload: ["slug": "ghost"], subject: nil, sql: sql)
                    throw Boom()
                }
            }
            _ = try await makeTextDatanet(services, curator: curator, slug: "second")
            #expect(try await verify(services) == .valid(count: 2))
            let head = try #require(try await services.ledger.head())
            let proof = try await services.ledger.inclusion(seq: 1, treeSize: 2)
            #expect(proof.root == head.root)
            let entry = try await services.ledger.entries(from: 1, limit: 1)[0]
            #expect(entry.payload["slug"]?.stringValue == "second")
        }
    }

    @Test("The node key is created once, and a lost or swapped key is refused")
    func nodeKey() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var services = try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)
        let key = services.ledger.publicKeyHex
        let curator = try await services.accounts.register(username: "curator", password: "correct horse battery")
        _ = try await makeTextDatanet(services, curator: curator)
        await services.close()
        services = try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)
        #expect(services.ledger.publicKeyHex == key)
        await services.close()
        let keyFile = folder.appendingPathComponent(NodeKey.fileName)
        let original = try Data(contentsOf: keyFile)
        try FileManager.default.removeItem(at: keyFile)
        await #expect(throws: LedgerError.keyFileMissing(path: keyFile.path)) {
            try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)
        }
        #expect(!FileManager.default.fileExists(atPath: keyFile.path))
        _ = try NodeKey.loadOrCreate(at: keyFile)
        await #expect(throws: LedgerError.self) {
            try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)
        }
        try FileManager.default.removeItem(at: keyFile)
        #expect(FileManager.default.createFile(atPath: keyFile.path, contents: original, attributes: [.posixPermissions: 0o600]))
        let restored = try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)
        #expect(restored.ledger.publicKeyHex == key)
        await restored.close()
    }
}
