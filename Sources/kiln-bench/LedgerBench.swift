// Ledger appends per second and inclusion-proof time at a million entries, each beside a baseline.
import ArgumentParser
import Foundation
import KilnData
import KilnLedger
import KilnStore

/// `kiln-bench ledger`.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Ledger appends/s (vs plain inserts) and inclusion-proof time at N entries (vs naive recomputation).")

    @Option(help: "Appends to time, each in its own transaction.")
    var appends = 3000

    @Option(help: "Entries in the tree for the proof timing.")
    var entries = 1_000_000

    @Option(help: "Entries written through the store (batched) before timing proofs over HTTP-less store calls.")
    var stored = 100_000

    func validate() throws {
        guard appends > 0, entries > 1, stored > 1 else { throw ValidationError("All counts must be positive.") }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let services = try await KilnServices.open(dataDirectory: folder, databaseURL: nil, bcryptCost: 4)

        // 1. Appends, one transaction each, against the same rows written without hashing, signing or tree heads.
        let ledger = services.ledger
        let appendStart = DispatchTime.now().uptimeNanoseconds
        for index in 0..<appends {
            try await services.database.write { sql in
                try await ledger.append(kind: "submission.accepted", payload: Self.payload(index), subject: .submission(index), sql: sql)
            }
        }
        let appendRate = Double(appends) / seconds(since: appendStart)
        try await services.database.write { sql in
            try await sql.raw("CREATE TABLE plain_rows (seq INTEGER PRIMARY KEY, entry TEXT, subject TEXT, created_at INTEGER)").run()
        }
        let plainStart = DispatchTime.now().uptimeNanoseconds
        for index in 0..<appends {
            let text = String(decoding: Self.payload(index).canonicalBytes, as: UTF8.self)
            try await services.database.write { sql in
                try await sql.raw("""
                    INSERT INTO plain_rows (seq, entry, subject, created_at) VALUES (\(bind: index), \(bind: text), \(bind: "submission:\(index)"), 0)
                    """).run()
            }
        }
        let plainRate = Double(appends) / seconds(since: plainStart)

        // 2. Proofs at `entries` leaves: the server's MerkleLog against recomputing the RFC's recursion from all leaves.
        var log = MerkleLog()
        var leaves: [[UInt8]] = []
        leaves.reserveCapacity(entries)
        let buildStart = DispatchTime.now().uptimeNanoseconds
        for index in 0..<entries {
            let leaf = MerkleTree.leafHash(Array("entry \(index)".utf8))
            leaves.append(leaf)
            try log.append(leafHash: leaf)
        }
        let buildSeconds = seconds(since: buildStart)
        var generator = SystemRandomNumberGenerator()
        let probes = (0..<1000).map { _ in Int.random(in: 0..<entries, using: &generator) }
        let proofStart = DispatchTime.now().uptimeNanoseconds
        var pathLength = 0
        for index in probes { pathLength += try log.inclusionProof(index: index, size: entries).count }
        let proofMicros = seconds(since: proofStart) / Double(probes.count) * 1e6
        let naiveStart = DispatchTime.now().uptimeNanoseconds
        let naiveProbes = probes.prefix(3)
        for index in naiveProbes { _ = try MerkleTree.inclusionProof(index: index, leafHashes: leaves) }
        let naiveMicros = seconds(since: naiveStart) / Double(naiveProbes.count) * 1e6

        // 3. The store's own proof call (database round trip included) after writing `stored` entries in batches.
        var written = appends
        while written < stored {
            let batch = min(5000, stored - written)
            let base = written
            try await services.database.write { sql in
                for offset in 0..<batch {
                    try await ledger.append(kind: "submission.accepted", payload: Self.payload(base + offset), subject: nil, sql: sql)
                }
            }
            written += batch
        }
        let storeStart = DispatchTime.now().uptimeNanoseconds
        for index in probes.prefix(200) { _ = try await ledger.inclusion(seq: index % written, treeSize: written) }
        let storeMicros = seconds(since: storeStart) / 200 * 1e6
        await services.close()

        print("| measurement | Kiln | baseline | ratio |")
        print("|---|---|---|---|")
        print("| appends/s, one transaction each (SQLite) | \(fixed(appendRate, 0)) | \(fixed(plainRate, 0)) plain inserts/s | \(fixed(appendRate / plainRate, 2))× |")
        print("| inclusion proof at \(entries) entries, µs (in-memory MerkleLog) | \(fixed(proofMicros, 2)) | \(fixed(naiveMicros, 0)) naive RFC recursion | \(fixed(naiveMicros / proofMicros, 0))× faster |")
        print("| inclusion proof via LedgerStore at \(written) entries, µs (with the database round trip) | \(fixed(storeMicros, 1)) | | |")
        print("")
        print("Building the \(entries)-leaf MerkleLog (as a server does at start from stored hashes) took \(fixed(buildSeconds, 2)) s; mean audit path \(pathLength / probes.count) hashes.")
    }

    static func payload(_ index: Int) -> CanonicalJSON {
        ["submission_id": CanonicalJSON(index), "datanet": "bench", "sha256": .string(String(repeating: "ab", count: 32)),
         "contributor_id": 7, "stage": "curator"]
    }

    func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
