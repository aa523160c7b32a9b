#!/usr/bin/env python3
"""Checks every Merkle proof Kiln produces against an independent RFC 9162 implementation (issue 4, acceptance 1).

Runs `kiln ledger dump-proofs --max 300` (binary from $KILN_BIN, default .build/debug/kiln) and, for every tree
size 1..300, every leaf index and every (first, second) pair, checks with the verifier below, written from the
RFC 9162 text (section 2.1) using hashlib only and importing nothing from Kiln:
  * the leaf is SHA-256(0x00 || SHA-256("leaf i")) and the roots are this file's own MTH (2.1.1);
  * each audit path verifies (2.1.3.2) and equals PATH(m, D[n]) (2.1.3.1);
  * each consistency proof verifies (2.1.4.2) and equals PROOF(m, D[n]) (2.1.4.1);
  * a proof with one flipped bit, or a dropped element, fails verification (so the verifier is not vacuous);
  * every (index, size) and (first, second) pair appears exactly once.
Prints `N passed, M failed` and exits non-zero on any failure. Usage:
    swift build --product kiln && python3 Tests/ledger/test_proofs_reference.py [--max 300]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- RFC 9162 section 2.1, from the RFC text ---------------------------------------------------------------

def sha256(data):
    return hashlib.sha256(data).digest()


def hash_leaf(data):
    return sha256(b"\x00" + data)


def hash_children(left, right):
    return sha256(b"\x01" + left + right)


def split_point(n):
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


class ReferenceTree:
    """MTH, PATH and PROOF over a fixed list of leaf hashes, memoising MTH of each range D[lo:hi]."""

    def __init__(self, leaf_hashes):
        self.leaves = leaf_hashes
        self.memo = {}

    def mth(self, lo, hi):
        if (lo, hi) not in self.memo:
            n = hi - lo
            if n == 0:
                value = sha256(b"")
            elif n == 1:
                value = self.leaves[lo]
            else:
                k = split_point(n)
                value = hash_children(self.mth(lo, lo + k), self.mth(lo + k, hi))
            self.memo[(lo, hi)] = value
        return self.memo[(lo, hi)]

    def path(self, m, lo, hi):
        n = hi - lo
        if n == 1:
            return []
        k = split_point(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split_point(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def proof(self, m, n):
        return self.subproof(m, 0, n, True)


def verify_inclusion(leaf_index, tree_size, leaf_hash, inclusion_path, root_hash):
    """RFC 9162 2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in inclusion_path:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            r = hash_children(p, r)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(first, second, first_hash, second_hash, consistency_path):
    """RFC 9162 2.1.4.2 for 0 < first < second; for first == second the proof is empty and the roots equal."""
    if not 0 < first <= second:
        return False
    if first == second:
        return len(consistency_path) == 0 and first_hash == second_hash
    if len(consistency_path) == 0:
        return False
    path = list(consistency_path)
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    if fn & 1 == 1:
        while fn & 1 == 1:
            fn >>= 1
            sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# ---- The test ----------------------------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.shown = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            return
        self.failed += 1
        if self.shown < 20:
            print("FAIL:", what)
            self.shown += 1


def flip(h):
    return bytes([h[0] ^ 1]) + h[1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=300, help="largest tree size (default 300)")
    args = parser.parse_args()
    binary = os.environ.get("KILN_BIN", os.path.join(REPO, ".build", "debug", "kiln"))
    if not os.path.exists(binary):
        print("0 passed, 1 failed")
        print("FAIL: %s not found; run `swift build --product kiln` or set KILN_BIN" % binary)
        return 1
    run = subprocess.run([binary, "ledger", "dump-proofs", "--max", str(args.max)], capture_output=True)
    results = Results()
    results.check(run.returncode == 0, "dump-proofs exited %d: %s" % (run.returncode, run.stderr.decode()[-500:]))

    tree = ReferenceTree([hash_leaf(sha256(b"leaf %d" % i)) for i in range(args.max)])
    seen_inclusion, seen_consistency = set(), set()
    for number, line in enumerate(run.stdout.splitlines()):
        try:
            item = json.loads(line)
        except ValueError as error:
            results.check(False, "line %d is not JSON: %s" % (number + 1, error))
            continue
        if item.get("type") == "inclusion":
            i, n = item["index"], item["size"]
            key = (i, n)
            results.check(key not in seen_inclusion and 0 <= i < n <= args.max, "inclusion %s repeated or out of range" % (key,))
            seen_inclusion.add(key)
            leaf, root = bytes.fromhex(item["leaf"]), bytes.fromhex(item["root"])
            path = [bytes.fromhex(h) for h in item["path"]]
            ok = (leaf == tree.leaves[i] and root == tree.mth(0, n) and path == tree.path(i, 0, n)
                  and verify_inclusion(i, n, leaf, path, root))
            # Tampering must be caught: a flipped bit in one element, or a missing element.
            if path:
                ok = ok and not verify_inclusion(i, n, leaf, [flip(path[0])] + path[1:], root)
                ok = ok and not verify_inclusion(i, n, leaf, path[:-1], root)
            ok = ok and not verify_inclusion(i, n, flip(leaf), path, root)
            results.check(ok, "inclusion index=%d size=%d" % key)
        elif item.get("type") == "consistency":
            m, n = item["first"], item["second"]
            key = (m, n)
            results.check(key not in seen_consistency and 0 < m <= n <= args.max,
                          "consistency %s repeated or out of range" % (key,))
            seen_consistency.add(key)
            first_root, second_root = bytes.fromhex(item["first_root"]), bytes.fromhex(item["second_root"])
            proof = [bytes.fromhex(h) for h in item["proof"]]
            ok = (first_root == tree.mth(0, m) and second_root == tree.mth(0, n) and proof == tree.proof(m, n)
                  and verify_consistency(m, n, first_root, second_root, proof))
            if proof:
                ok = ok and not verify_consistency(m, n, first_root, second_root, proof[:-1] + [flip(proof[-1])])
                ok = ok and not verify_consistency(m, n, first_root, second_root, proof[1:])
            ok = ok and not verify_consistency(m, n, flip(first_root), second_root, proof)
            results.check(ok, "consistency first=%d second=%d" % key)
        else:
            results.check(False, "line %d has an unknown type" % (number + 1))

    expected_inclusion = {(i, n) for n in range(1, args.max + 1) for i in range(n)}
    expected_consistency = {(m, n) for n in range(1, args.max + 1) for m in range(1, n + 1)}
    results.check(seen_inclusion == expected_inclusion,
                  "inclusion coverage: %d missing" % len(expected_inclusion - seen_inclusion))
    results.check(seen_consistency == expected_consistency,
                  "consistency coverage: %d missing" % len(expected_consistency - seen_consistency))
    print("%d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
