// RFC 6962 / RFC 9162 Merkle tree hashing, used for dataset versions and (later) the ledger.
import Crypto
import Foundation

/// Merkle Tree Hash as Certificate Transparency defines it (RFC 9162 §2.1.1).
///
/// Leaves are hashed as `SHA-256(0x00 ‖ input)` and interior nodes as `SHA-256(0x01 ‖ left ‖ right)`;
/// the split point is the largest power of two smaller than the number of leaves, so any
/// independent CT verifier computes the same root.
public enum MerkleTree {
    /// The hash of one leaf input.
    public static func leafHash(_ input: some DataProtocol) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: input)
        return Array(hasher.finalize())
    }

    /// The hash of an interior node.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root over leaf inputs in order; an empty tree's root is SHA-256 of the empty string.
    public static func root(leaves: [[UInt8]]) -> [UInt8] {
        root(leafHashes: leaves.map { leafHash($0) })
    }

    /// The root over already-hashed leaves.
    public static func root(leafHashes: [[UInt8]]) -> [UInt8] {
        guard !leafHashes.isEmpty else { return Array(SHA256.hash(data: [UInt8]())) }
        // Pairing adjacent nodes level by level and carrying an odd last node up unchanged gives
        // exactly the RFC's recursive split at the largest power of two below n.
        var level = leafHashes
        while level.count > 1 {
            var next: [[UInt8]] = []
            next.reserveCapacity((level.count + 1) / 2)
            var index = 0
            while index + 1 < level.count {
                next.append(nodeHash(level[index], level[index + 1]))
                index += 2
            }
            if index < level.count { next.append(level[index]) }
            level = next
        }
        return level[0]
    }
}
