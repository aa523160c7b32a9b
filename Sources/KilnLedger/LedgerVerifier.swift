// Offline verification: re-walk a chain from its stored bytes, or check a receipt, with no database.
//
// Everything here trusts only the node's public key: hashes are recomputed from the stored bytes themselves
// (issue 4: "`kiln ledger verify` hashes the stored bytes themselves"), never taken from a column.
import Crypto
import Foundation

/// Why an entry breaks the chain.
public enum ChainBreak: Equatable, Sendable {
    /// The stored bytes do not parse as an entry (the `LedgerError` says why; `.notCanonical` included).
    case invalidEntry(LedgerError)
    /// The entry's seq is not the next number.
    case seqMismatch(expected: Int, found: Int)
    /// The entry's prev_hash is not the previous entry's hash.
    case prevHashMismatch(expected: String, found: String)
    /// The stored hash column disagrees with SHA-256 of the stored bytes.
    case storedHashMismatch(stored: String, computed: String)
    /// The signature is malformed or does not verify under the node key.
    case badSignature
    /// The tree head covers more entries than exist: this seq and those after it are missing.
    case missingEntry
    /// This entry and those after it are not covered by the (latest) signed tree head.
    case notCoveredByTreeHead(treeSize: Int)

    /// A sentence for people.
    public var message: String {
        switch self {
        case .invalidEntry(let error): error.message
        case .seqMismatch(let expected, let found): "expected seq \(expected) but found seq \(found)"
        case .prevHashMismatch(let expected, let found): "prev_hash is \(found) but the previous entry hashes to \(expected)"
        case .storedHashMismatch(let stored, let computed): "stored hash \(stored) but the stored bytes hash to \(computed)"
        case .badSignature: "the signature does not verify under the node key"
        case .missingEntry: "the signed tree head covers this entry but it is missing"
        case .notCoveredByTreeHead(let treeSize): "the signed tree head covers only \(treeSize) entries"
        }
    }
}

/// Why a signed tree head fails against an otherwise intact chain.
public enum TreeHeadProblem: Equatable, Sendable {
    /// The head's signature (or its hex) is invalid under the node key.
    case badSignature
    /// The head's root is not the Merkle root of the entries' hashes.
    case rootMismatch(signed: String, computed: String)

    /// A sentence for people.
    public var message: String {
        switch self {
        case .badSignature: "the signed tree head's signature does not verify under the node key"
        case .rootMismatch(let signed, let computed): "the signed tree head's root is \(signed) but the entries give \(computed)"
        }
    }
}

/// The outcome of walking a chain.
public enum ChainReport: Equatable, Sendable {
    /// All `count` entries (and the tree head, if given) verify.
    case valid(count: Int)
    /// Entry `seq` is the first that fails, for `reason`.
    case broken(seq: Int, reason: ChainBreak)
    /// Every entry verifies but the signed tree head does not.
    case badTreeHead(TreeHeadProblem)

    /// Whether the chain verified.
    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }

    /// The first broken seq, if an entry broke.
    public var firstBrokenSeq: Int? {
        if case .broken(let seq, _) = self { return seq }
        return nil
    }

    /// A sentence for people, naming the first broken entry.
    public var message: String {
        switch self {
        case .valid(let count): "OK: \(count) entries verified."
        case .broken(let seq, let reason): "Entry \(seq) is broken: \(reason.message)."
        case .badTreeHead(let problem): "The entries verify, but \(problem.message)."
        }
    }
}

/// Checks entries one at a time, so a caller can stream a million-entry chain from a database page by page.
///
/// Feed entries in seq order with `check(canonicalBytes:hash:signature:)`; after the first break further
/// entries are ignored. Memory is O(log n): only the Merkle frontier is kept.
public struct ChainVerifier: Sendable {
    private let publicKey: [UInt8]
    /// The number of entries that verified so far.
    public private(set) var count = 0
    /// The first break found, if any.
    public private(set) var firstBreak: (seq: Int, reason: ChainBreak)?
    private var previousHash = LedgerEntry.genesisPrevHash
    /// Roots of the complete subtrees of the leaves so far, largest first (a binary-counter frontier).
    private var frontier: [(size: Int, hash: [UInt8])] = []

    /// A verifier trusting `publicKey` (32 bytes).
    public init(publicKey: [UInt8]) {
        self.publicKey = publicKey
    }

    /// Checks the next entry (seq `count`); returns the break if this entry breaks the chain.
    /// - Parameters:
    ///   - canonicalBytes: the stored entry bytes, exactly as stored.
    ///   - hash: the stored hash column in hex; `nil` if the store keeps none.
    ///   - signature: the stored Ed25519 signature in hex.
    @discardableResult
    public mutating func check(canonicalBytes: [UInt8], hash storedHash: String?, signature: String) -> ChainBreak? {
        guard firstBreak == nil else { return nil }
        let seq = count
        if let reason = Self.problem(seq: seq, canonicalBytes: canonicalBytes, storedHash: storedHash,
                                     signature: signature, previousHash: previousHash, publicKey: publicKey) {
            firstBreak = (seq, reason)
            return reason
        }
        let hash = Array(SHA256.hash(data: canonicalBytes))
        previousHash = hash
        count += 1
        appendLeaf(MerkleTree.leafHash(hash))
        return nil
    }

    /// The report once all entries are fed, checking `treeHead` (the latest) if given.
    public func finish(treeHead: SignedTreeHead?) -> ChainReport {
        if let firstBreak { return .broken(seq: firstBreak.seq, reason: firstBreak.reason) }
        guard let treeHead else { return .valid(count: count) }
        // The head's signature first: an unsigned claim about the size must not be reported as missing entries.
        guard treeHead.verify(publicKey: publicKey) else { return .badTreeHead(.badSignature) }
        if treeHead.treeSize > count { return .broken(seq: count, reason: .missingEntry) }
        if treeHead.treeSize < count {
            return .broken(seq: treeHead.treeSize, reason: .notCoveredByTreeHead(treeSize: treeHead.treeSize))
        }
        let computed = Hex.encode(root)
        guard computed == treeHead.root else { return .badTreeHead(.rootMismatch(signed: treeHead.root, computed: computed)) }
        return .valid(count: count)
    }

    /// The RFC 6962 root over the entries verified so far.
    public var root: [UInt8] {
        // MTH splits at the largest power of two, so the root folds the frontier from the right.
        guard var result = frontier.last?.hash else { return Array(SHA256.hash(data: [UInt8]())) }
        for node in frontier.dropLast().reversed() { result = MerkleTree.nodeHash(node.hash, result) }
        return result
    }

    private mutating func appendLeaf(_ leafHash: [UInt8]) {
        frontier.append((1, leafHash))
        while frontier.count >= 2, frontier[frontier.count - 1].size == frontier[frontier.count - 2].size {
            let right = frontier.removeLast()
            let left = frontier.removeLast()
            frontier.append((left.size * 2, MerkleTree.nodeHash(left.hash, right.hash)))
        }
    }

    /// Everything one entry must satisfy on its own and against its predecessor.
    private static func problem(seq: Int, canonicalBytes: [UInt8], storedHash: String?, signature: String,
                                previousHash: [UInt8], publicKey: [UInt8]) -> ChainBreak? {
        let entry: LedgerEntry
        do {
            entry = try LedgerEntry(canonicalBytes: canonicalBytes)
        } catch {
            return .invalidEntry(error)
        }
        guard entry.seq == seq else { return .seqMismatch(expected: seq, found: entry.seq) }
        guard entry.prevHash == previousHash else {
            return .prevHashMismatch(expected: Hex.encode(previousHash), found: Hex.encode(entry.prevHash))
        }
        let hash = Array(SHA256.hash(data: canonicalBytes))
        if let storedHash, storedHash != Hex.encode(hash) {
            return .storedHashMismatch(stored: storedHash, computed: Hex.encode(hash))
        }
        guard let signatureBytes = try? Hex.decodeCanonical(signature, count: 64, field: "signature"),
              Ed25519.verify(signature: signatureBytes, message: hash, publicKey: publicKey) else {
            return .badSignature
        }
        return nil
    }
}

/// Why a receipt does not verify.
public enum ReceiptProblem: Equatable, Sendable {
    /// The receipt names a different public key than the one trusted.
    case publicKeyMismatch(receipt: String, expected: String)
    /// The entry fields are invalid (the `LedgerError` says which).
    case invalidEntry(LedgerError)
    /// The entry's JCS bytes do not hash to the receipt's `hash`.
    case hashMismatch(stated: String, computed: String)
    /// The entry signature does not verify.
    case badEntrySignature
    /// The inclusion proof is for a different seq than the entry.
    case seqMismatch(entry: Int, inclusion: Int)
    /// `leaf_hash` is not the RFC 6962 leaf hash of the entry hash.
    case leafHashMismatch
    /// The audit path does not lead from the leaf to the stated root (or has malformed hex).
    case auditPathInvalid
    /// The proof's root or tree size differs from the tree head's.
    case treeHeadMismatch
    /// The tree head's signature does not verify.
    case badTreeHeadSignature

    /// A sentence for people.
    public var message: String {
        switch self {
        case .publicKeyMismatch(let receipt, let expected): "the receipt is signed by key \(receipt), not the expected \(expected)"
        case .invalidEntry(let error): "the entry is invalid: \(error.message)"
        case .hashMismatch(let stated, let computed): "the entry hashes to \(computed), not the stated \(stated)"
        case .badEntrySignature: "the entry's signature does not verify"
        case .seqMismatch(let entry, let inclusion): "the proof is for seq \(inclusion), not the entry's seq \(entry)"
        case .leafHashMismatch: "leaf_hash is not SHA-256(0x00 ‖ entry hash)"
        case .auditPathInvalid: "the audit path does not lead to the stated root"
        case .treeHeadMismatch: "the proof's root and tree size do not match the signed tree head"
        case .badTreeHeadSignature: "the tree head's signature does not verify"
        }
    }
}

/// Offline chain and receipt verification.
public enum LedgerVerifier {
    /// Re-walks entries seq 0…n−1 from their stored bytes, then checks the Merkle root against `treeHead`.
    ///
    /// Each entry must be canonical, continue the seq numbering, link `prev_hash` to its predecessor, match
    /// its stored hash (when given), and carry a valid Ed25519 signature over its 32 raw hash bytes.
    public static func verifyChain(entries: [(canonicalBytes: [UInt8], hash: String?, signature: String)],
                                   publicKey: [UInt8], treeHead: SignedTreeHead?) -> ChainReport {
        var verifier = ChainVerifier(publicKey: publicKey)
        for entry in entries {
            if verifier.check(canonicalBytes: entry.canonicalBytes, hash: entry.hash, signature: entry.signature) != nil {
                break
            }
        }
        return verifier.finish(treeHead: treeHead)
    }

    /// Checks a receipt against the trusted `publicKey`; `nil` means it verifies.
    public static func verifyReceipt(_ receipt: Receipt, publicKey: [UInt8]) -> ReceiptProblem? {
        let expectedKey = Hex.encode(publicKey)
        guard receipt.publicKey.lowercased() == expectedKey else {
            return .publicKeyMismatch(receipt: receipt.publicKey, expected: expectedKey)
        }
        let entry: LedgerEntry
        do {
            entry = try receipt.entry.entry()
        } catch {
            return .invalidEntry(error)
        }
        let hash = entry.hash
        guard Hex.encode(hash) == receipt.entry.hash else {
            return .hashMismatch(stated: receipt.entry.hash, computed: Hex.encode(hash))
        }
        guard let signature = try? Hex.decodeCanonical(receipt.entry.signature, count: 64, field: "signature"),
              Ed25519.verify(signature: signature, message: hash, publicKey: publicKey) else {
            return .badEntrySignature
        }
        let inclusion = receipt.inclusion
        guard inclusion.seq == entry.seq else { return .seqMismatch(entry: entry.seq, inclusion: inclusion.seq) }
        let leafHash = MerkleTree.leafHash(hash)
        guard inclusion.leafHash == Hex.encode(leafHash) else { return .leafHashMismatch }
        var path: [[UInt8]] = []
        for item in inclusion.auditPath {
            guard let bytes = try? Hex.decodeCanonical(item, count: 32, field: "audit_path") else { return .auditPathInvalid }
            path.append(bytes)
        }
        guard let root = try? Hex.decodeCanonical(inclusion.root, count: 32, field: "root"),
              MerkleTree.verifyInclusion(leafHash: leafHash, index: inclusion.seq, treeSize: inclusion.treeSize,
                                         proof: path, root: root) else { return .auditPathInvalid }
        guard inclusion.root == receipt.treeHead.root, inclusion.treeSize == receipt.treeHead.treeSize else {
            return .treeHeadMismatch
        }
        guard receipt.treeHead.verify(publicKey: publicKey) else { return .badTreeHeadSignature }
        return nil
    }
}
