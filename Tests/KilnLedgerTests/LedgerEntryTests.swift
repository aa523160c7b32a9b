// Entry and tree-head formats against bytes, hashes and signatures computed in Python.
//
// Expected values: `python3 reference/jcs_vectors.py entries` (rfc8785 0.1.4 for JCS, hashlib for SHA-256,
// cryptography 48.0.0 / OpenSSL for Ed25519 with the RFC 8032 TEST 1 key).
import Foundation
import KilnLedger
import Testing

@Suite("Ledger entries and signed tree heads")
struct LedgerEntryTests {
    /// RFC 8032 §7.1 TEST 1 secret key.
    static let testSeed = Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60") ?? []

    static let entry0Bytes = #"{"kind":"datanet.created","payload":{"datanet_id":"dn_1","name":"Café ☃","owner":"acct_7","weights":[0.5,1e-7,3]},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":0,"time":1767225600000}"#
    static let entry0Hash = "2d33c3469bbb38ce5eef0cb0d0c8ae2e0d251271ae84ea0656d5cd9d8116bbcf"
    static let entry0Signature = "5b177529615e949948ce16810c42d582c295daeca9f851572dae4444abc00745035b94d6e91e5568ce7aa181b6268297617997da82e200bf95dc4b265071cb0f"
    static let entry1Bytes = #"{"kind":"submission.accepted","payload":{"contributor":"acct_9","item_sha256":"abababababababababababababababababababababababababababababababab","submission_id":42},"prev_hash":"2d33c3469bbb38ce5eef0cb0d0c8ae2e0d251271ae84ea0656d5cd9d8116bbcf","seq":1,"time":1767225600123}"#
    static let entry1Hash = "4657d5f24c77a29182fa3f9dd931af98ea915b4ba80016fa5688da7c00ac3e0c"
    static let entry1Signature = "752a87c868cf1a104ebd9cf78fb1c618210b04f2720d1ff97554f49e4c5946474469bfe255994e1db48c68f23974417d1593122fee5c46c9fefb7c8df9957a0c"
    static let root2 = "446c2da7fa06340f237afb1d583dc7b38f8189db0adcf735378e4ff9a1c962e8"
    static let headMessage = #"{"root":"446c2da7fa06340f237afb1d583dc7b38f8189db0adcf735378e4ff9a1c962e8","timestamp":1767225601000,"tree_size":2}"#
    static let headSignature = "19024eb0cd43854c0232d3527f48f196603b3382762e27da18cf159a4335b1188ba39be86d50a7afd94fd496d0a53da851bff297f052215daa8427502fbdc909"

    static func entry0() throws -> LedgerEntry {
        try LedgerEntry.genesis(time: 1_767_225_600_000, kind: LedgerEntry.Kind.datanetCreated,
                                payload: ["datanet_id": "dn_1", "name": "Café ☃", "owner": "acct_7", "weights": [0.5, 1e-7, 3]])
    }

    @Test("Built entries serialise, hash and sign exactly as Python computes")
    func entriesMatchPython() throws {
        let signer = try Ed25519Signer(seed: Self.testSeed)
        let first = try Self.entry0()
        #expect(String(decoding: first.canonicalBytes, as: UTF8.self) == Self.entry0Bytes)
        #expect(first.hashHex == Self.entry0Hash)
        #expect(Hex.encode(try first.signature(by: signer)) == Self.entry0Signature)
        let second = try first.next(time: 1_767_225_600_123, kind: LedgerEntry.Kind.submissionAccepted,
                                    payload: ["item_sha256": .string(String(repeating: "ab", count: 32)),
                                              "contributor": "acct_9", "submission_id": 42])
        #expect(String(decoding: second.canonicalBytes, as: UTF8.self) == Self.entry1Bytes)
        #expect(second.hashHex == Self.entry1Hash)
        #expect(Hex.encode(try second.signature(by: signer)) == Self.entry1Signature)
        #expect(Hex.encode(LedgerEntry.genesisPrevHash) == String(repeating: "0", count: 64))
    }

    @Test("init(canonicalBytes:) round-trips the Python bytes")
    func parsesStoredBytes() throws {
        let parsed = try LedgerEntry(canonicalBytes: Array(Self.entry0Bytes.utf8))
        #expect(parsed == (try Self.entry0()))
        #expect(parsed.canonicalBytes == Array(Self.entry0Bytes.utf8))
    }

    /// Stored bytes that must be refused, and why.
    static let badEntries: [(String, String, LedgerError)] = [
        ("whitespace", #"{"kind":"k", "payload":{},"prev_hash":"\#(zeros)","seq":3,"time":1}"#, .notCanonical(seq: 3)),
        ("unsorted", #"{"payload":{},"kind":"k","prev_hash":"\#(zeros)","seq":3,"time":1}"#, .notCanonical(seq: 3)),
        ("non-canonical number", #"{"kind":"k","payload":{"x":1.0},"prev_hash":"\#(zeros)","seq":3,"time":1}"#, .notCanonical(seq: 3)),
        ("escaped slash", #"{"kind":"a\/b","payload":{},"prev_hash":"\#(zeros)","seq":3,"time":1}"#, .notCanonical(seq: 3)),
        ("extra field", #"{"extra":1,"kind":"k","payload":{},"prev_hash":"\#(zeros)","seq":3,"time":1}"#, .unexpectedEntryField("extra")),
        ("missing time", #"{"kind":"k","payload":{},"prev_hash":"\#(zeros)","seq":3}"#, .invalidEntryField(field: "time", reason: "missing or not an integer")),
        ("fractional seq", #"{"kind":"k","payload":{},"prev_hash":"\#(zeros)","seq":1.5,"time":1}"#, .invalidEntryField(field: "seq", reason: "missing or not an integer")),
        ("negative seq", #"{"kind":"k","payload":{},"prev_hash":"\#(zeros)","seq":-1,"time":1}"#, .invalidEntryField(field: "seq", reason: "must be in 0…2^53−1")),
        ("array payload", #"{"kind":"k","payload":[],"prev_hash":"\#(zeros)","seq":3,"time":1}"#, .invalidEntryField(field: "payload", reason: "must be an object")),
        ("uppercase hex", #"{"kind":"k","payload":{},"prev_hash":"\#(String(repeating: "A", count: 64))","seq":3,"time":1}"#, .invalidEntryField(field: "prev_hash", reason: "must be 64 lowercase hex digits")),
        ("short hash", #"{"kind":"k","payload":{},"prev_hash":"00","seq":3,"time":1}"#, .invalidEntryField(field: "prev_hash", reason: "must be 64 lowercase hex digits")),
        ("empty kind", #"{"kind":"","payload":{},"prev_hash":"\#(zeros)","seq":3,"time":1}"#, .invalidEntryField(field: "kind", reason: "must not be empty")),
        ("not an object", #"[1]"#, .invalidEntryField(field: "entry", reason: "must be a JSON object")),
        ("trailing newline", #"{"kind":"k","payload":{},"prev_hash":"\#(zeros)","seq":3,"time":1}"# + "\n", .notCanonical(seq: 3)),
    ]
    static let zeros = String(repeating: "0", count: 64)

    @Test("init(canonicalBytes:) refuses non-canonical bytes and wrong field sets", arguments: badEntries)
    func refusesBadEntries(name: String, text: String, expected: LedgerError) {
        #expect(throws: expected, "\(name)") { try LedgerEntry(canonicalBytes: Array(text.utf8)) }
    }

    @Test("The memberwise init validates")
    func memberwiseValidation() {
        #expect(throws: LedgerError.invalidEntryField(field: "payload", reason: "must be an object")) {
            try LedgerEntry(seq: 0, time: 0, kind: "k", payload: "x", prevHash: LedgerEntry.genesisPrevHash)
        }
        #expect(throws: LedgerError.invalidEntryField(field: "prev_hash", reason: "must be 32 bytes, not 3")) {
            try LedgerEntry(seq: 0, time: 0, kind: "k", payload: [:], prevHash: [1, 2, 3])
        }
        #expect(throws: LedgerError.self) {
            try LedgerEntry(seq: 0, time: 0, kind: "k", payload: ["x": .number(.nan)], prevHash: LedgerEntry.genesisPrevHash)
        }
        #expect(LedgerEntry.Kind.all.count == 8 && LedgerEntry.Kind.all.contains("reward.split") && LedgerEntry.Kind.all.contains("submissions.rejected"))
    }

    // MARK: - Signed tree heads

    @Test("Tree head signing message and signature match Python; verify accepts it and rejects changes")
    func treeHeadMatchesPython() throws {
        let signer = try Ed25519Signer(seed: Self.testSeed)
        let log = try MerkleLog(leafHashes: [Self.entry0Hash, Self.entry1Hash].map { MerkleTree.leafHash(Hex.decode($0) ?? []) })
        #expect(Hex.encode(log.root) == Self.root2)
        let head = try SignedTreeHead.sign(treeSize: 2, root: log.root, timestamp: 1_767_225_601_000, signer: signer)
        #expect(String(decoding: head.signingMessage, as: UTF8.self) == Self.headMessage)
        #expect(head.signature == Self.headSignature)
        #expect(head.verify(publicKey: signer.publicKey))
        #expect(!head.verify(publicKey: Ed25519Signer().publicKey))
        let changes = [
            SignedTreeHead(treeSize: 3, root: head.root, timestamp: head.timestamp, signature: head.signature),
            SignedTreeHead(treeSize: 2, root: head.root, timestamp: head.timestamp + 1, signature: head.signature),
            SignedTreeHead(treeSize: 2, root: head.root.uppercased(), timestamp: head.timestamp, signature: head.signature),
            SignedTreeHead(treeSize: 2, root: head.root, timestamp: head.timestamp, signature: "00" + head.signature.dropFirst(2)),
            SignedTreeHead(treeSize: 2, root: head.root, timestamp: head.timestamp, signature: "zz"),
        ]
        for changed in changes { #expect(!changed.verify(publicKey: signer.publicKey)) }
    }

    @Test("Tree head JSON uses tree_size, root, timestamp, signature")
    func treeHeadJSON() throws {
        let head = SignedTreeHead(treeSize: 2, root: Self.root2, timestamp: 1_767_225_601_000, signature: Self.headSignature)
        let data = try JSONEncoder().encode(head)
        let json = try CanonicalJSON.parse(data)
        #expect(json.objectValue.map { Set($0.keys) } == ["tree_size", "root", "timestamp", "signature"])
        #expect(json["tree_size"]?.intValue == 2)
        #expect(try JSONDecoder().decode(SignedTreeHead.self, from: data) == head)
    }
}
