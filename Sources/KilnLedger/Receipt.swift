// The JSON documents the ledger hands out: signed entries, proofs and receipts (issue 4, "Routes").
//
// Codable with the exact snake_case member names of the API, so the server encodes them and
// `kiln ledger verify-receipt` decodes them with no mapping layer in between.
import Foundation

/// An entry as served: the five entry fields plus its `hash` and `signature` (both lowercase hex).
public struct SignedEntry: Sendable, Equatable, Codable {
    /// The entry's `seq`.
    public let seq: Int
    /// The entry's `time` (Unix ms).
    public let time: Int
    /// The entry's `kind`.
    public let kind: String
    /// The entry's `payload` object.
    public let payload: CanonicalJSON
    /// The entry's `prev_hash`, hex.
    public let prevHash: String
    /// SHA-256 of the entry's JCS bytes, hex.
    public let hash: String
    /// Ed25519 over the 32 raw hash bytes, hex.
    public let signature: String

    /// The JSON member names of the format.
    enum CodingKeys: String, CodingKey {
        case seq, time, kind, payload
        case prevHash = "prev_hash"
        case hash, signature
    }

    /// The served form of `entry` with its signature (`hash` is computed).
    public init(entry: LedgerEntry, signature: [UInt8]) {
        seq = entry.seq
        time = entry.time
        kind = entry.kind
        payload = entry.payload
        prevHash = Hex.encode(entry.prevHash)
        hash = entry.hashHex
        self.signature = Hex.encode(signature)
    }

    /// The entry these fields describe (its hash is recomputed, not taken from `hash`).
    /// - Throws: `LedgerError.invalidEntryField` if a field is out of range or `prev_hash` is not 64 lowercase hex.
    public func entry() throws(LedgerError) -> LedgerEntry {
        let prev: [UInt8]
        do {
            prev = try Hex.decodeCanonical(prevHash, count: 32, field: "prev_hash")
        } catch {
            throw .invalidEntryField(field: "prev_hash", reason: "must be 64 lowercase hex digits")
        }
        return try LedgerEntry(seq: seq, time: time, kind: kind, payload: payload, prevHash: prev)
    }
}

/// The answer to `GET /api/ledger/proof/inclusion`: an RFC 9162 §2.1.3 audit path for one entry.
public struct InclusionProof: Sendable, Equatable, Codable {
    /// The entry's seq (its leaf index).
    public let seq: Int
    /// The tree size the proof is for.
    public let treeSize: Int
    /// The RFC 6962 leaf hash, SHA-256(0x00 ‖ entry hash), hex.
    public let leafHash: String
    /// Sibling hashes from the leaf up, hex.
    public let auditPath: [String]
    /// The root the path leads to, hex.
    public let root: String

    /// The JSON member names of the format.
    enum CodingKeys: String, CodingKey {
        case seq
        case treeSize = "tree_size"
        case leafHash = "leaf_hash"
        case auditPath = "audit_path"
        case root
    }

    /// A proof document from raw hashes.
    public init(seq: Int, treeSize: Int, leafHash: [UInt8], auditPath: [[UInt8]], root: [UInt8]) {
        self.seq = seq
        self.treeSize = treeSize
        self.leafHash = Hex.encode(leafHash)
        self.auditPath = auditPath.map { Hex.encode($0) }
        self.root = Hex.encode(root)
    }

    /// Builds the proof for entry `seq` at `treeSize` from a log of entry leaf hashes.
    /// - Throws: `LedgerError.indexOutOfRange` / `.sizeOutOfRange` from the log.
    public init(log: MerkleLog, seq: Int, treeSize: Int) throws(LedgerError) {
        let path = try log.inclusionProof(index: seq, size: treeSize)
        self.init(seq: seq, treeSize: treeSize, leafHash: try log.leafHash(at: seq), auditPath: path,
                  root: try log.root(size: treeSize))
    }
}

/// The answer to `GET /api/ledger/proof/consistency`: an RFC 9162 §2.1.4 proof between two tree sizes.
public struct ConsistencyProof: Sendable, Equatable, Codable {
    /// The earlier tree size.
    public let first: Int
    /// The later tree size.
    public let second: Int
    /// The proof's hashes, hex.
    public let proof: [String]
    /// The root at `first`, hex.
    public let firstRoot: String
    /// The root at `second`, hex.
    public let secondRoot: String

    /// The JSON member names of the format.
    enum CodingKeys: String, CodingKey {
        case first, second, proof
        case firstRoot = "first_root"
        case secondRoot = "second_root"
    }

    /// Builds the proof between `first` and `second` from a log.
    /// - Throws: `LedgerError.sizeOutOfRange` / `.invalidConsistencyRange` from the log.
    public init(log: MerkleLog, first: Int, second: Int) throws(LedgerError) {
        self.first = first
        self.second = second
        proof = try log.consistencyProof(first: first, second: second).map { Hex.encode($0) }
        firstRoot = Hex.encode(try log.root(size: first))
        secondRoot = Hex.encode(try log.root(size: second))
    }

    /// Whether the proof verifies (RFC 9162 §2.1.4.2) between its two roots; false for malformed hex.
    public func verify() -> Bool {
        guard let firstRootBytes = try? Hex.decodeCanonical(firstRoot, count: 32, field: "first_root"),
              let secondRootBytes = try? Hex.decodeCanonical(secondRoot, count: 32, field: "second_root") else {
            return false
        }
        var hashes: [[UInt8]] = []
        for item in proof {
            guard let bytes = try? Hex.decodeCanonical(item, count: 32, field: "proof") else { return false }
            hashes.append(bytes)
        }
        return MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRootBytes,
                                            secondRoot: secondRootBytes, proof: hashes)
    }
}

/// A contributor's receipt: an entry, its inclusion proof, the signed tree head it leads to, and the key.
public struct Receipt: Sendable, Equatable, Codable {
    /// The signed entry.
    public let entry: SignedEntry
    /// The entry's inclusion proof at `treeHead.treeSize`.
    public let inclusion: InclusionProof
    /// The signed tree head the proof's root must match.
    public let treeHead: SignedTreeHead
    /// The node's public key, hex; checked against the key the verifier trusts.
    public let publicKey: String

    /// The JSON member names of the format.
    enum CodingKeys: String, CodingKey {
        case entry, inclusion
        case treeHead = "tree_head"
        case publicKey = "public_key"
    }

    /// A receipt from its parts.
    public init(entry: SignedEntry, inclusion: InclusionProof, treeHead: SignedTreeHead, publicKey: [UInt8]) {
        self.entry = entry
        self.inclusion = inclusion
        self.treeHead = treeHead
        self.publicKey = Hex.encode(publicKey)
    }

    /// Reads a receipt file: strict JSON first (no duplicate keys, valid UTF-8), then the fields.
    /// - Throws: a JSON `LedgerError` for malformed text, `.invalidJSON` naming the decoding problem otherwise.
    public static func parse(_ bytes: some Collection<UInt8>) throws(LedgerError) -> Receipt {
        let data = Data(bytes)
        // The strict parser rejects inputs Foundation would silently accept (duplicate keys, bad UTF-8).
        _ = try CanonicalJSON.parse(data)
        do {
            return try JSONDecoder().decode(Receipt.self, from: data)
        } catch {
            throw .invalidJSON(offset: 0, reason: "not a receipt: \(error)")
        }
    }
}
