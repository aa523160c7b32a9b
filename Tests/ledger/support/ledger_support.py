"""Shared helpers for the ledger end-to-end tests: API calls, the CLI, and an independent chain check.

Lives in a subfolder so that scripts/test (which runs Tests/ledger/*.py) does not run it as a test.
The chain check below is written from issue 4's formats alone (RFC 8785 for our ASCII/integer entries is
json.dumps with sorted keys and no whitespace; RFC 6962 leaves and nodes), not from the Swift code.
"""
import hashlib, json, os, subprocess, sys

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "system"))
from kiln_server import ARTIFACTS, KILN, KilnServer, Results, free_port  # noqa: E402,F401

PASSWORD = "correct horse battery"
ZERO_HASH = "0" * 64


# MARK: - CLI

def kiln(*args, token=None, timeout=300, stdin=None):
    """Runs the kiln binary; returns the CompletedProcess (stdout and stderr as text)."""
    env = dict(os.environ)
    env.pop("KILN_TOKEN", None)
    env.pop("KILN_DATABASE_URL", None)  # these tests read SQLite data folders
    if token:
        env["KILN_TOKEN"] = token
    return subprocess.run([KILN, *args], env=env, capture_output=True, text=True, timeout=timeout, input=stdin)


def expect_ok(p, what):
    assert p.returncode == 0, f"{what}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def expect_broken_at(p, seq, what, words=()):
    """The verifier exited 1 and named `seq` as the first bad entry (and said each of `words`)."""
    out = p.stdout + p.stderr
    assert p.returncode == 1, f"{what}: exit {p.returncode}, wanted 1\n{out}"
    assert f"Ledger BROKEN at seq {seq}:" in p.stdout, f"{what}: wanted 'BROKEN at seq {seq}'\n{out}"
    for word in words:
        assert word in p.stdout, f"{what}: wanted {word!r} in the message\n{out}"
    if os.environ.get("KILN_TEST_VERBOSE"):
        print("      " + p.stdout.strip().splitlines()[-1], flush=True)


# MARK: - API

def login(url, name):
    """Registers (if needed) and logs in; returns (headers, token)."""
    requests.post(url + "/api/auth/register", json={"username": name, "password": PASSWORD}, timeout=30)
    r = requests.post(url + "/api/auth/login", json={"username": name, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    return {"Authorization": "Bearer " + token}, token


def create_text_datanet(url, headers, slug):
    body = {"slug": slug, "title": slug.title(), "kind": "text", "rules": {"daily_limit": 100000, "min_chars": 5}}
    r = requests.post(url + "/api/datanets", json=body, headers=headers, timeout=30)
    assert r.status_code == 201, r.text


def submit_text(url, headers, slug, text, session=None):
    r = (session or requests).post(f"{url}/api/datanets/{slug}/submissions", json={"text": text}, headers=headers, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def review(url, headers, item_id, decision, reason=None, session=None):
    body = {"decision": decision}
    if reason:
        body["reason"] = reason
    return (session or requests).post(f"{url}/api/submissions/{item_id}/review", json=body, headers=headers, timeout=60)


def all_entries(url):
    """Every ledger entry, page by page."""
    out, start = [], 0
    while True:
        r = requests.get(f"{url}/api/ledger/entries?from={start}&limit=1000", timeout=60)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        out += items
        if len(items) < 1000:
            return out
        start = items[-1]["seq"] + 1


def public_key(url):
    r = requests.get(url + "/api/ledger/key", timeout=30)
    assert r.status_code == 200 and r.json()["algorithm"] == "ed25519", r.text
    return r.json()["public_key"]


# MARK: - Independent checks

def jcs(obj):
    """RFC 8785 for what ledger entries hold (integers, ASCII-safe strings, objects): sorted keys, no whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_fields(item):
    return {k: item[k] for k in ("seq", "time", "kind", "payload", "prev_hash")}


def merkle_root(hashes_hex):
    """RFC 6962 Merkle Tree Hash over entry hashes (leaf = SHA-256(0x00 || h), node = SHA-256(0x01 || l || r))."""
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes_hex]

    def mth(nodes):
        if len(nodes) == 1:
            return nodes[0]
        k = 1
        while k * 2 < len(nodes):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(nodes[:k]) + mth(nodes[k:])).digest()
    return mth(level).hex() if level else hashlib.sha256(b"").hexdigest()


def check_chain(entries, key_hex):
    """Asserts seq 0..n-1, prev_hash links, hash = SHA-256(JCS(entry)) and each Ed25519 signature."""
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
    previous = ZERO_HASH
    for index, item in enumerate(entries):
        assert item["seq"] == index, f"gap or fork: position {index} holds seq {item['seq']}"
        assert item["prev_hash"] == previous, f"seq {index}: prev_hash {item['prev_hash']} but the previous hash is {previous}"
        digest = hashlib.sha256(jcs(entry_fields(item))).hexdigest()
        assert digest == item["hash"], f"seq {index}: hash {item['hash']} but JCS hashes to {digest}"
        key.verify(bytes.fromhex(item["signature"]), bytes.fromhex(digest))  # raises InvalidSignature
        previous = digest
