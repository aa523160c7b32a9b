#!/usr/bin/env python3
"""Independent RFC 9162 section 2.1 reference (hashlib only) for the KilnLedger Swift tests.

Written from the RFC text, not from Kiln's Swift code: MTH (2.1.1), PATH (2.1.3.1), PROOF/SUBPROOF
(2.1.4.1) as the recursive definitions, plus the verification algorithms of 2.1.3.2 and 2.1.4.2.

Leaves follow the `kiln ledger dump-proofs` convention: the leaf *input* of leaf i is
SHA-256(b"leaf %d" % i) (standing in for an entry hash), and the tree hashes it as an RFC 6962 leaf.

Run `python3 merkle_reference.py` to print the literal vectors pasted into MerkleProofTests.swift.
"""
import hashlib
import sys


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """MTH over already-hashed leaves (RFC 9162 2.1.1, with the leaf hashing done by the caller)."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = largest_power_of_two_below(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """PATH(m, D[n]) (RFC 9162 2.1.3.1)."""
    n = len(leaves)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    """SUBPROOF(m, D[n], b) (RFC 9162 2.1.4.1)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m, leaves):
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return subproof(m, leaves, True)


def verify_inclusion(leaf, index, size, inclusion_path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in inclusion_path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, consistency_path):
    """RFC 9162 2.1.4.2 for 0 < first < second; first == second needs an empty path and equal roots."""
    if first <= 0 or first > second:
        return False
    if first == second:
        return not consistency_path and first_hash == second_hash
    if not consistency_path:
        return False
    consistency_path = list(consistency_path)
    if first & (first - 1) == 0:
        consistency_path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    if fn & 1:
        while fn & 1:
            fn >>= 1
            sn >>= 1
    fr = sr = consistency_path[0]
    for c in consistency_path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def leaves_for(n):
    return [leaf_hash(sha256(b"leaf %d" % i)) for i in range(n)]


INCLUSION_CASES = [(1, 0), (2, 0), (2, 1), (3, 2), (7, 0), (7, 3), (7, 6), (8, 5), (13, 9), (13, 12),
                   (300, 0), (300, 255), (300, 256), (300, 299)]
CONSISTENCY_CASES = [(1, 1), (1, 2), (1, 3), (2, 3), (3, 7), (4, 7), (6, 8), (7, 13), (8, 13),
                     (1, 300), (100, 300), (256, 300), (299, 300)]
ROOT_SIZES = [1, 2, 3, 7, 8, 13, 300]


def swift_list(hashes):
    return "[" + ", ".join('"%s"' % h.hex() for h in hashes) + "]"


def main():
    all_leaves = leaves_for(300)
    print("// roots: (size, root)")
    for n in ROOT_SIZES:
        print('(%d, "%s"),' % (n, mth(all_leaves[:n]).hex()))
    print("// inclusion: (index, size, path)")
    for n, i in INCLUSION_CASES:
        p = path(i, all_leaves[:n])
        assert verify_inclusion(all_leaves[i], i, n, p, mth(all_leaves[:n]))
        print("(%d, %d, %s)," % (i, n, swift_list(p)))
    print("// consistency: (first, second, proof)")
    for m, n in CONSISTENCY_CASES:
        c = proof(m, all_leaves[:n])
        assert verify_consistency(m, n, mth(all_leaves[:m]), mth(all_leaves[:n]), c)
        print("(%d, %d, %s)," % (m, n, swift_list(c)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
