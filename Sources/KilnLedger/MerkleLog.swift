// An append-only, in-memory RFC 9162 Merkle log that answers roots and proofs for any past size quickly.
//
// The trick (as in Trillian's compact ranges): every Merkle Tree Hash the RFC's recursion asks for is of a
// range D[start ..< start + size] where start is a multiple of the largest power of two ≤ size. So the
// tree over any prefix splits into O(log n) complete, aligned power-of-two subtrees, whose hashes we keep
// from the moment they complete. A root or proof for any size ≤ count then costs O(log² n) hashes.
import Crypto
import Foundation

/// An append-only Merkle log over 32-byte leaf hashes with O(log² n) roots and proofs for every size.
///
/// Memory is about 64 bytes per leaf (each leaf hash plus, summed over levels, as many interior hashes).
/// It is a value type: copying and then appending to the copy duplicates the storage, so keep one
/// instance in one owner (an actor, say) and append to that.
public struct MerkleLog: Sendable {
    /// `levels[h]` holds the hashes of the complete subtrees of 2^h leaves, left to right, 32 bytes each,
    /// concatenated (one allocation per level instead of one per hash).
    private var levels: [[UInt8]] = [[]]

    /// The number of leaves appended.
    public private(set) var count = 0

    /// An empty log.
    public init() {}

    /// A log holding `leafHashes` in order.
    /// - Throws: `LedgerError.invalidHashLength` if a hash is not 32 bytes.
    public init(leafHashes: some Sequence<[UInt8]>) throws(LedgerError) {
        for hash in leafHashes { try append(leafHash: hash) }
    }

    // MARK: - Appending

    /// Appends one leaf hash (already SHA-256(0x00 ‖ input)); amortised O(1) hashes.
    /// - Throws: `LedgerError.invalidHashLength` if `leafHash` is not 32 bytes.
    public mutating func append(leafHash: [UInt8]) throws(LedgerError) {
        guard leafHash.count == 32 else { throw .invalidHashLength(leafHash.count) }
        levels[0] += leafHash
        count += 1
        // Each completed pair at level h completes one node at level h + 1, like carrying in a binary counter.
        var height = 0
        while nodeCount(at: height) % 2 == 0 {
            let last = nodeCount(at: height) - 1
            let parent = hashNodes(levels[height], last - 1, levels[height], last)
            if levels.count == height + 1 { levels.append([]) }
            levels[height + 1] += parent
            height += 1
        }
    }

    /// Appends a leaf input, hashing it as an RFC 6962 leaf first.
    public mutating func append(leafInput: some DataProtocol) {
        // leafHash always returns 32 bytes, so this append cannot fail.
        try? append(leafHash: MerkleTree.leafHash(leafInput))
    }

    // MARK: - Queries

    /// The leaf hash at `index`.
    /// - Throws: `LedgerError.indexOutOfRange` unless 0 ≤ index < count.
    public func leafHash(at index: Int) throws(LedgerError) -> [UInt8] {
        guard index >= 0, index < count else { throw .indexOutOfRange(index: index, size: count) }
        return node(height: 0, index: index)
    }

    /// The root of the current tree (SHA-256 of the empty string when empty).
    public var root: [UInt8] { subtreeHash(start: 0, size: count) }

    /// The root of the tree over the first `size` leaves (MTH(D[0:size]), RFC 9162 §2.1.1).
    /// - Throws: `LedgerError.sizeOutOfRange` unless 0 ≤ size ≤ count.
    public func root(size: Int) throws(LedgerError) -> [UInt8] {
        guard size >= 0, size <= count else { throw .sizeOutOfRange(size: size, count: count) }
        return subtreeHash(start: 0, size: size)
    }

    /// The audit path for leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
    /// - Throws: `.sizeOutOfRange` unless size ≤ count; `.indexOutOfRange` unless 0 ≤ index < size.
    public func inclusionProof(index: Int, size: Int) throws(LedgerError) -> [[UInt8]] {
        guard size >= 0, size <= count else { throw .sizeOutOfRange(size: size, count: count) }
        guard index >= 0, index < size else { throw .indexOutOfRange(index: index, size: size) }
        // PATH(m, D[start:start+n]) unrolled: walk down from the root, recording the sibling subtree at
        // each split; the RFC lists them leaf-first, so reverse at the end.
        var path: [[UInt8]] = []
        var start = 0
        var n = size
        var m = index
        while n > 1 {
            let k = MerkleTree.largestPowerOfTwo(below: n)
            if m < k {
                path.append(subtreeHash(start: start + k, size: n - k))
                n = k
            } else {
                path.append(subtreeHash(start: start, size: k))
                start += k
                m -= k
                n -= k
            }
        }
        return path.reversed()
    }

    /// The consistency proof between the trees of `first` and `second` leaves (RFC 9162 §2.1.4.1).
    ///
    /// Empty when first == second. RFC 9162 leaves first = 0 undefined (every tree extends the empty one),
    /// so it is an error here rather than an empty proof a verifier might misread.
    /// - Throws: `.sizeOutOfRange` unless second ≤ count; `.invalidConsistencyRange` unless 0 < first ≤ second.
    public func consistencyProof(first: Int, second: Int) throws(LedgerError) -> [[UInt8]] {
        guard second >= 0, second <= count else { throw .sizeOutOfRange(size: second, count: count) }
        guard first > 0, first <= second else { throw .invalidConsistencyRange(first: first, second: second) }
        // SUBPROOF(m, D[start:start+n], b) unrolled the same way as the inclusion path.
        var proof: [[UInt8]] = []
        var start = 0
        var n = second
        var m = first
        var isWholeFirstTree = true
        while m != n {
            let k = MerkleTree.largestPowerOfTwo(below: n)
            if m <= k {
                proof.append(subtreeHash(start: start + k, size: n - k))
                n = k
            } else {
                proof.append(subtreeHash(start: start, size: k))
                start += k
                m -= k
                n -= k
                isWholeFirstTree = false
            }
        }
        // SUBPROOF(m, D[m], false) = [MTH(D[m])]; with b still true the verifier already holds that root.
        if !isWholeFirstTree { proof.append(subtreeHash(start: start, size: m)) }
        return proof.reversed()
    }

    // MARK: - Internal

    private func nodeCount(at height: Int) -> Int {
        height < levels.count ? levels[height].count / 32 : 0
    }

    /// The stored hash of complete subtree `index` at `height`.
    private func node(height: Int, index: Int) -> [UInt8] {
        Array(levels[height][(index * 32)..<(index * 32 + 32)])
    }

    /// MTH(D[start ..< start + size]) for an aligned range inside the log: O(log size) hashes.
    private func subtreeHash(start: Int, size: Int) -> [UInt8] {
        if size == 0 { return Array(SHA256.hash(data: [UInt8]())) }
        if size & (size - 1) == 0 {
            // A complete subtree: stored, because the RFC's splits keep start a multiple of size.
            let height = size.trailingZeroBitCount
            return node(height: height, index: start >> height)
        }
        let k = MerkleTree.largestPowerOfTwo(below: size)
        return MerkleTree.nodeHash(subtreeHash(start: start, size: k), subtreeHash(start: start + k, size: size - k))
    }

    /// SHA-256(0x01 ‖ left ‖ right) read straight from level storage, without copying the children out.
    private func hashNodes(_ leftLevel: [UInt8], _ leftIndex: Int, _ rightLevel: [UInt8], _ rightIndex: Int) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: leftLevel[(leftIndex * 32)..<(leftIndex * 32 + 32)])
        hasher.update(data: rightLevel[(rightIndex * 32)..<(rightIndex * 32 + 32)])
        return Array(hasher.finalize())
    }
}
