// The signed tree head: the node's signed statement "the log had tree_size entries with this root".
//
// Modelled on RFC 9162 §4.10 (SignedTreeHead) but with a JSON signing input instead of TLS encoding:
// the signature is Ed25519 over the JCS bytes of {"root","timestamp","tree_size"} (issue 4, "Formats").
import Foundation

/// A signed tree head: `{"tree_size","root","timestamp","signature"}`, root and signature in lowercase hex.
public struct SignedTreeHead: Sendable, Equatable, Codable {
    /// The number of entries the tree covers.
    public let treeSize: Int
    /// The RFC 6962 Merkle root over the first `treeSize` entry hashes, lowercase hex.
    public let root: String
    /// When the head was signed, in Unix milliseconds.
    public let timestamp: Int
    /// Ed25519 over `signingMessage`, lowercase hex (64 bytes).
    public let signature: String

    /// The JSON member names of the format.
    enum CodingKeys: String, CodingKey {
        case treeSize = "tree_size"
        case root
        case timestamp
        case signature
    }

    /// A tree head from its stored fields (no checks; call `verify(publicKey:)`).
    public init(treeSize: Int, root: String, timestamp: Int, signature: String) {
        self.treeSize = treeSize
        self.root = root
        self.timestamp = timestamp
        self.signature = signature
    }

    /// The bytes that are signed: JCS of `{"root": hex, "timestamp": ms, "tree_size": n}`.
    public static func signingMessage(treeSize: Int, root: String, timestamp: Int) -> [UInt8] {
        CanonicalJSON.object([
            "root": .string(root),
            "timestamp": .number(Double(timestamp)),
            "tree_size": .number(Double(treeSize)),
        ]).canonicalBytes
    }

    /// This head's signing message.
    public var signingMessage: [UInt8] {
        Self.signingMessage(treeSize: treeSize, root: root, timestamp: timestamp)
    }

    /// Signs a tree head for `treeSize` entries with Merkle root `root` (32 bytes) at `timestamp` ms.
    /// - Throws: `LedgerError.invalidHashLength` for a root that is not 32 bytes,
    ///   `.invalidEntryField` for a negative or unsafe size or timestamp, or what the signer throws.
    public static func sign(treeSize: Int, root: [UInt8], timestamp: Int, signer: some LedgerSigner) throws -> SignedTreeHead {
        guard root.count == 32 else { throw LedgerError.invalidHashLength(root.count) }
        let maxSafe = Int(CanonicalJSON.maxSafeInteger)
        guard (0...maxSafe).contains(treeSize) else {
            throw LedgerError.invalidEntryField(field: "tree_size", reason: "must be in 0…2^53−1")
        }
        guard (0...maxSafe).contains(timestamp) else {
            throw LedgerError.invalidEntryField(field: "timestamp", reason: "must be in 0…2^53−1")
        }
        let rootHex = Hex.encode(root)
        let signature = try signer.sign(signingMessage(treeSize: treeSize, root: rootHex, timestamp: timestamp))
        return SignedTreeHead(treeSize: treeSize, root: rootHex, timestamp: timestamp, signature: Hex.encode(signature))
    }

    /// The root as 32 bytes, or `nil` unless it is 64 lowercase hex digits.
    public var rootBytes: [UInt8]? {
        try? Hex.decodeCanonical(root, count: 32, field: "root")
    }

    /// Whether the signature is valid for this head under `publicKey` (32 bytes).
    ///
    /// The root must be 64 lowercase hex digits and the signature 128, so each head has one accepted spelling.
    public func verify(publicKey: [UInt8]) -> Bool {
        let maxSafe = Int(CanonicalJSON.maxSafeInteger)
        guard rootBytes != nil, (0...maxSafe).contains(treeSize), (0...maxSafe).contains(timestamp),
              let signatureBytes = try? Hex.decodeCanonical(signature, count: 64, field: "signature") else {
            return false
        }
        return Ed25519.verify(signature: signatureBytes, message: signingMessage, publicKey: publicKey)
    }
}
