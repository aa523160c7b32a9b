// Offline chain and receipt verification: every kind of tampering from issue 4's acceptance list is caught.
import Foundation
import KilnLedger
import Testing

@Suite("Ledger verifier")
struct LedgerVerifierTests {
    typealias Stored = (canonicalBytes: [UInt8], hash: String?, signature: String)

    /// A signed chain of `count` entries as a database would store it, its Merkle log and latest tree head.
    struct Fixture {
        let signer: Ed25519Signer
        var stored: [Stored]
        let entries: [LedgerEntry]
        let log: MerkleLog
        let head: SignedTreeHead

        init(count: Int, signer: Ed25519Signer = Ed25519Signer()) throws {
            self.signer = signer
            var entries: [LedgerEntry] = []
            var log = MerkleLog()
            for seq in 0..<count {
                let payload: CanonicalJSON = ["submission_id": .number(Double(seq)), "item_sha256": "ab", "note": "ü\n\u{1}"]
                let entry = try entries.last.map {
                    try $0.next(time: 1_700_000_000_000 + seq, kind: LedgerEntry.Kind.submissionAccepted, payload: payload)
                } ?? LedgerEntry.genesis(time: 1_700_000_000_000, kind: LedgerEntry.Kind.datanetCreated, payload: payload)
                entries.append(entry)
                log.append(leafInput: entry.hash)
            }
            self.entries = entries
            self.log = log
            stored = try entries.map { ($0.canonicalBytes, $0.hashHex, Hex.encode(try $0.signature(by: signer))) }
            head = try SignedTreeHead.sign(treeSize: count, root: log.root, timestamp: 1_800_000_000_000, signer: signer)
        }

        func verify(_ entries: [Stored]? = nil, head: SignedTreeHead? = nil) -> ChainReport {
            LedgerVerifier.verifyChain(entries: entries ?? stored, publicKey: signer.publicKey, treeHead: head ?? self.head)
        }
    }

    @Test("An intact chain verifies with and without a tree head")
    func intact() throws {
        let fixture = try Fixture(count: 20)
        #expect(fixture.verify() == .valid(count: 20))
        #expect(LedgerVerifier.verifyChain(entries: fixture.stored, publicKey: fixture.signer.publicKey, treeHead: nil)
            == .valid(count: 20))
        #expect(LedgerVerifier.verifyChain(entries: fixture.stored.map { ($0.canonicalBytes, nil, $0.signature) },
                                           publicKey: fixture.signer.publicKey, treeHead: fixture.head) == .valid(count: 20))
        #expect(LedgerVerifier.verifyChain(entries: [], publicKey: fixture.signer.publicKey, treeHead: nil) == .valid(count: 0))
    }

    @Test("Flipping any single stored byte of an entry breaks the chain at exactly that entry")
    func everyByteFlip() throws {
        let fixture = try Fixture(count: 5)
        let target = 2
        for offset in fixture.stored[target].canonicalBytes.indices {
            for mask: UInt8 in [0x01, 0x20, 0x80] {
                var entries = fixture.stored
                entries[target].canonicalBytes[offset] ^= mask
                let report = fixture.verify(entries)
                #expect(report.firstBrokenSeq == target, "offset \(offset) mask \(mask): \(report.message)")
            }
        }
    }

    @Test("Swapping, deleting, re-signing and hash-column edits name the first bad seq")
    func structuralTampering() throws {
        let fixture = try Fixture(count: 8)
        var swapped = fixture.stored
        swapped.swapAt(3, 5)
        #expect(fixture.verify(swapped) == .broken(seq: 3, reason: .seqMismatch(expected: 3, found: 5)))

        var deleted = fixture.stored
        deleted.remove(at: 4)
        #expect(fixture.verify(deleted) == .broken(seq: 4, reason: .seqMismatch(expected: 4, found: 5)))

        #expect(fixture.verify(Array(fixture.stored.dropLast())) == .broken(seq: 7, reason: .missingEntry))

        let other = Ed25519Signer()
        var resigned = fixture.stored
        resigned[6].signature = Hex.encode(try fixture.entries[6].signature(by: other))
        #expect(fixture.verify(resigned) == .broken(seq: 6, reason: .badSignature))

        // Re-signing everything, tree head included, with another key fails at seq 0.
        let forged = try Fixture(count: 8, signer: other)
        #expect(LedgerVerifier.verifyChain(entries: forged.stored, publicKey: fixture.signer.publicKey,
                                           treeHead: forged.head) == .broken(seq: 0, reason: .badSignature))

        var hashColumn = fixture.stored
        hashColumn[1].hash = String(repeating: "1", count: 64)
        #expect(fixture.verify(hashColumn) == .broken(seq: 1, reason: .storedHashMismatch(
            stored: String(repeating: "1", count: 64), computed: fixture.entries[1].hashHex)))

        var badHex = fixture.stored
        badHex[2].signature = "not hex"
        #expect(fixture.verify(badHex) == .broken(seq: 2, reason: .badSignature))
    }

    @Test("A rewritten entry that is re-hashed and re-linked still fails on the old signature")
    func rewrittenEntry() throws {
        let fixture = try Fixture(count: 4)
        let original = fixture.entries[1]
        let rewritten = try LedgerEntry(seq: 1, time: original.time, kind: original.kind, payload: ["submission_id": 999],
                                        prevHash: original.prevHash)
        var entries = fixture.stored
        entries[1] = (rewritten.canonicalBytes, rewritten.hashHex, entries[1].signature)
        #expect(fixture.verify(entries) == .broken(seq: 1, reason: .badSignature))
    }

    @Test("Tree head problems: bad signature, wrong root, stale head")
    func treeHeadProblems() throws {
        let fixture = try Fixture(count: 6)
        let head = fixture.head
        let unsigned = SignedTreeHead(treeSize: head.treeSize, root: head.root, timestamp: head.timestamp + 1,
                                      signature: head.signature)
        #expect(fixture.verify(head: unsigned) == .badTreeHead(.badSignature))

        let wrongRoot = try SignedTreeHead.sign(treeSize: 6, root: [UInt8](repeating: 9, count: 32),
                                                timestamp: 1, signer: fixture.signer)
        #expect(fixture.verify(head: wrongRoot) == .badTreeHead(.rootMismatch(signed: wrongRoot.root, computed: head.root)))

        let stale = try SignedTreeHead.sign(treeSize: 4, root: fixture.log.root(size: 4), timestamp: 1, signer: fixture.signer)
        #expect(fixture.verify(head: stale) == .broken(seq: 4, reason: .notCoveredByTreeHead(treeSize: 4)))
        #expect(ChainReport.broken(seq: 4, reason: .missingEntry).message.hasPrefix("Entry 4 is broken"))
    }

    @Test("ChainVerifier streams entries with O(log n) state and agrees with verifyChain")
    func streaming() throws {
        let fixture = try Fixture(count: 37)
        var verifier = ChainVerifier(publicKey: fixture.signer.publicKey)
        for entry in fixture.stored { #expect(verifier.check(canonicalBytes: entry.canonicalBytes, hash: entry.hash, signature: entry.signature) == nil) }
        #expect(verifier.root == fixture.log.root)
        #expect(verifier.finish(treeHead: fixture.head) == .valid(count: 37))
    }

    // MARK: - Receipts

    static func receipt(_ fixture: Fixture, seq: Int) throws -> Receipt {
        let entry = fixture.entries[seq]
        return Receipt(entry: SignedEntry(entry: entry, signature: try entry.signature(by: fixture.signer)),
                       inclusion: try InclusionProof(log: fixture.log, seq: seq, treeSize: fixture.log.count),
                       treeHead: fixture.head, publicKey: fixture.signer.publicKey)
    }

    @Test("Receipts for every entry verify, also after a JSON round trip")
    func receiptsVerify() throws {
        let fixture = try Fixture(count: 13)
        for seq in 0..<13 {
            let receipt = try Self.receipt(fixture, seq: seq)
            #expect(LedgerVerifier.verifyReceipt(receipt, publicKey: fixture.signer.publicKey) == nil)
            let decoded = try Receipt.parse(Array(try JSONEncoder().encode(receipt)))
            #expect(decoded == receipt)
            #expect(LedgerVerifier.verifyReceipt(decoded, publicKey: fixture.signer.publicKey) == nil)
        }
        let json = try CanonicalJSON.parse(Array(try JSONEncoder().encode(try Self.receipt(fixture, seq: 0))))
        #expect(json.objectValue.map { Set($0.keys) } == ["entry", "inclusion", "tree_head", "public_key"])
        #expect(json["entry"]?.objectValue.map { Set($0.keys) }
            == ["seq", "time", "kind", "payload", "prev_hash", "hash", "signature"])
        #expect(json["inclusion"]?.objectValue.map { Set($0.keys) } == ["seq", "tree_size", "leaf_hash", "audit_path", "root"])
    }

    @Test("Each tampered receipt field is reported")
    func receiptTampering() throws {
        let fixture = try Fixture(count: 13)
        let key = fixture.signer.publicKey
        let good = try Self.receipt(fixture, seq: 9)
        let json = try JSONEncoder().encode(good)
        func mutated(_ edit: (inout [String: CanonicalJSON]) -> Void) throws -> Receipt {
            guard case .object(var members) = try CanonicalJSON.parse(Array(json)) else { throw LedgerError.nonFiniteNumber }
            edit(&members)
            return try Receipt.parse(CanonicalJSON.object(members).canonicalBytes)
        }
        func setting(_ section: String, _ field: String, _ value: CanonicalJSON) throws -> Receipt {
            try mutated { members in
                if case .object(var inner) = members[section] { inner[field] = value; members[section] = .object(inner) }
            }
        }
        let other = Ed25519Signer().publicKey
        #expect(LedgerVerifier.verifyReceipt(good, publicKey: other)
            == .publicKeyMismatch(receipt: Hex.encode(key), expected: Hex.encode(other)))
        #expect(LedgerVerifier.verifyReceipt(try setting("entry", "time", 5), publicKey: key)
            == .hashMismatch(stated: good.entry.hash, computed: try LedgerEntry(seq: 9, time: 5, kind: good.entry.kind,
                payload: good.entry.payload, prevHash: Hex.decode(good.entry.prevHash) ?? []).hashHex))
        let wrongSignature = String(repeating: "0", count: 128)
        #expect(LedgerVerifier.verifyReceipt(try setting("entry", "signature", .string(wrongSignature)), publicKey: key) == .badEntrySignature)
        #expect(LedgerVerifier.verifyReceipt(try setting("inclusion", "seq", 8), publicKey: key) == .seqMismatch(entry: 9, inclusion: 8))
        #expect(LedgerVerifier.verifyReceipt(try setting("inclusion", "leaf_hash", .string(good.entry.hash)), publicKey: key) == .leafHashMismatch)
        var path = good.inclusion.auditPath.map { CanonicalJSON.string($0) }
        path[1] = .string(String(repeating: "f", count: 64))
        #expect(LedgerVerifier.verifyReceipt(try setting("inclusion", "audit_path", .array(path)), publicKey: key) == .auditPathInvalid)
        #expect(LedgerVerifier.verifyReceipt(try setting("inclusion", "tree_size", 12), publicKey: key) == .auditPathInvalid)
        #expect(LedgerVerifier.verifyReceipt(try setting("tree_head", "tree_size", 12), publicKey: key) == .treeHeadMismatch)
        #expect(LedgerVerifier.verifyReceipt(try setting("tree_head", "timestamp", 1), publicKey: key) == .badTreeHeadSignature)
        #expect(LedgerVerifier.verifyReceipt(try setting("entry", "prev_hash", "00"), publicKey: key)
            == .invalidEntry(.invalidEntryField(field: "prev_hash", reason: "must be 64 lowercase hex digits")))
        #expect(throws: LedgerError.self) { try Receipt.parse(Array(#"{"entry":{}}"#.utf8)) }
        #expect(throws: LedgerError.duplicateKey("public_key", offset: 25)) {
            try Receipt.parse(Array(#"{"public_key":"aa","x":1,"public_key":"bb"}"#.utf8))
        }
    }
}
