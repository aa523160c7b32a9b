// RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs: generation and verification.
//
// Generation here is the RFC's recursive definition transcribed literally over a list of leaf hashes
// (O(n) per proof); it is the reference that `MerkleLog`'s O(log² n) generation is tested against.
// Verification follows the RFC's iterative algorithms (§2.1.3.2, §2.1.4.2) step by step, so any CT
// client checks Kiln's proofs and Kiln checks anyone's.
import Crypto
import Foundation

extension MerkleTree {
    // MARK: - Generation (RFC 9162 §2.1.3.1 and §2.1.4.1)

    /// The audit path PATH(index, D[n]) for the leaf at `index` in the tree over all of `leafHashes`.
    ///
    /// The path lists sibling hashes from the leaf's level up to the root's children (RFC 9162 §2.1.3.1).
    /// - Throws: `LedgerError.indexOutOfRange` unless 0 ≤ index < leafHashes.count.
    public static func inclusionProof(index: Int, leafHashes: [[UInt8]]) throws(LedgerError) -> [[UInt8]] {
        guard index >= 0, index < leafHashes.count else {
            throw .indexOutOfRange(index: index, size: leafHashes.count)
        }
        return path(index, leafHashes[...])
    }

    /// The consistency proof PROOF(first, D[n]) between the first `first` leaves and all of `leafHashes`.
    ///
    /// RFC 9162 §2.1.4.1 defines it for 0 < first < n; for first == n it is the empty list
    /// (SUBPROOF(m, D[m], true)), as transparency-dev and Trillian also answer.
    /// - Throws: `LedgerError.invalidConsistencyRange` unless 0 < first ≤ leafHashes.count.
    public static func consistencyProof(first: Int, leafHashes: [[UInt8]]) throws(LedgerError) -> [[UInt8]] {
        guard first > 0, first <= leafHashes.count else {
            throw .invalidConsistencyRange(first: first, second: leafHashes.count)
        }
        return subproof(first, leafHashes[...], true)
    }

    /// PATH(m, D[n]): [] for one leaf; else recurse into the half holding m and append the other half's MTH.
    private static func path(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        let n = leaves.count
        guard n > 1 else { return [] }
        let k = largestPowerOfTwo(below: n)
        let start = leaves.startIndex
        if m < k {
            return path(m, leaves[start..<(start + k)]) + [root(leafHashes: Array(leaves[(start + k)...]))]
        }
        return path(m - k, leaves[(start + k)...]) + [root(leafHashes: Array(leaves[start..<(start + k)]))]
    }

    /// SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 writes it.
    private static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ b: Bool) -> [[UInt8]] {
        let n = leaves.count
        let start = leaves.startIndex
        if m == n { return b ? [] : [root(leafHashes: Array(leaves))] }
        let k = largestPowerOfTwo(below: n)
        if m <= k {
            return subproof(m, leaves[start..<(start + k)], b) + [root(leafHashes: Array(leaves[(start + k)...]))]
        }
        return subproof(m - k, leaves[(start + k)...], false) + [root(leafHashes: Array(leaves[start..<(start + k)]))]
    }

    /// The largest power of two strictly less than `n` (the RFC's k), for n > 1.
    static func largestPowerOfTwo(below n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }

    // MARK: - Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

    /// Whether `proof` shows that `leafHash` is leaf `index` of the tree of `treeSize` leaves with root `root`.
    ///
    /// `leafHash` is the RFC 6962 leaf hash (SHA-256(0x00 ‖ input)), not the raw input.
    public static func verifyInclusion(leafHash: [UInt8], index: Int, treeSize: Int, proof: [[UInt8]],
                                       root: [UInt8]) -> Bool {
        guard let computed = rootFromInclusionProof(leafHash: leafHash, index: index, treeSize: treeSize,
                                                    proof: proof) else { return false }
        return computed == root
    }

    /// The root that an inclusion proof implies, or `nil` if the proof has the wrong shape (RFC 9162 §2.1.3.2).
    public static func rootFromInclusionProof(leafHash: [UInt8], index: Int, treeSize: Int,
                                              proof: [[UInt8]]) -> [UInt8]? {
        // Step 1: the index must lie inside the tree.
        guard index >= 0, index < treeSize, leafHash.count == 32, proof.allSatisfy({ $0.count == 32 }) else {
            return nil
        }
        // Steps 2–3.
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        // Step 4.
        for p in proof {
            // 4a: a proof longer than the tree is deep is invalid.
            if sn == 0 { return nil }
            // 4b: fn is a right child, or the last node of its level (which has no right sibling).
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                // Climb past levels where this node was carried up unchanged as a lone last node.
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            // 4c.
            fn >>= 1
            sn >>= 1
        }
        // Step 5: the whole path must have been used to reach the root.
        return sn == 0 ? r : nil
    }

    /// Whether `proof` shows the tree of `second` leaves (root `secondRoot`) extends the tree of `first` leaves.
    ///
    /// Follows RFC 9162 §2.1.4.2 for 0 < first < second. For first == second the proof must be empty and the
    /// roots equal (the empty SUBPROOF of §2.1.4.1). first == 0 or first > second never verifies.
    public static func verifyConsistency(first: Int, second: Int, firstRoot: [UInt8], secondRoot: [UInt8],
                                         proof: [[UInt8]]) -> Bool {
        guard first > 0, first <= second, firstRoot.count == 32, secondRoot.count == 32,
              proof.allSatisfy({ $0.count == 32 }) else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        // Step 1: a non-trivial consistency proof is never empty.
        guard !proof.isEmpty else { return false }
        // Step 2: when the first tree is a complete subtree, its root is the proof's implicit first node.
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        // Step 3.
        var fn = first - 1
        var sn = second - 1
        // Step 4: skip the levels where the first tree's last node is a right child.
        if fn & 1 == 1 {
            while fn & 1 == 1 {
                fn >>= 1
                sn >>= 1
            }
        }
        // Step 5.
        var fr = path[0]
        var sr = path[0]
        // Step 6.
        for c in path.dropFirst() {
            // 6a.
            if sn == 0 { return false }
            // 6b.
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            // 6c.
            fn >>= 1
            sn >>= 1
        }
        // Step 7.
        return fr == firstRoot && sr == secondRoot && sn == 0
    }
}
