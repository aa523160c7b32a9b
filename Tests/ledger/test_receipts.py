#!/usr/bin/env python3
"""Issue 4, acceptance 5 (CLI part): a real submission's receipt verifies offline with `kiln ledger verify-receipt`.

A contributor's submission is accepted by a curator; its receipt is fetched over the API and with
`kiln ledger receipt`, checked here independently (entry hash, Ed25519 signatures, RFC 9162 audit path),
and verified offline by the CLI with the key from /api/ledger/key. Altering one audit-path byte, a payload
field, the tree head, or giving the wrong --key makes verification fail with a non-zero exit. A rejected
item's receipt needs its contributor's token; a version's receipt verifies too; and a receipt stays
valid after the ledger grows.

Run from the project root: python3 Tests/ledger/test_receipts.py (KILN_BIN names the binary).
Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import copy, hashlib, json, os, shutil, sys, tempfile

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from ledger_support import (KilnServer, Results, create_text_datanet, entry_fields, expect_ok, jcs, kiln, login,  # noqa: E402
                            public_key, review, submit_text)

R = Results()
work = tempfile.mkdtemp(prefix="kiln-receipts-")
srv = KilnServer().start()
ctx = {}


def write(name, obj_or_bytes):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode())
    return path


def verify_receipt(path, key=None):
    return kiln("ledger", "verify-receipt", path, "--key", key or ctx["key"])


def expect_invalid(p, what, words=()):
    assert p.returncode == 1, f"{what}: exit {p.returncode}, wanted 1\n{p.stdout}\n{p.stderr}"
    assert p.stdout.startswith("Receipt INVALID: "), f"{what}: {p.stdout}"
    for word in words:
        assert word in p.stdout, f"{what}: wanted {word!r}\n{p.stdout}"


def inclusion_root(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2: the root an audit path leads to, or None if the path has the wrong length."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def t_accepted_submission():
    curator, _ = login(srv.url, "curator")
    alice, alice_token = login(srv.url, "alice")
    create_text_datanet(srv.url, curator, "starters")
    for i in range(6):  # some entries before and after, so the audit path is not trivial
        item = submit_text(srv.url, alice, "starters", f"Starter log {i}: fed at {i + 7} o'clock, doubled in {i + 4} hours.")
        assert review(srv.url, curator, item["id"], "accept").status_code == 200
    item = submit_text(srv.url, alice, "starters", "Rye starter, 100% hydration, fed twice a day; smells of green apples.")
    assert review(srv.url, curator, item["id"], "accept").status_code == 200
    rejected = submit_text(srv.url, alice, "starters", "A starter that smelled of nail polish remover; discarded it.")
    assert review(srv.url, curator, rejected["id"], "reject", reason="Not a recipe.").status_code == 200
    ctx.update(curator=curator, alice_token=alice_token, id=item["id"], rejected=rejected["id"], key=public_key(srv.url))


def t_receipt_from_the_api_checks_out_independently():
    r = requests.get(f"{srv.url}/api/submissions/{ctx['id']}/receipt", timeout=30)
    assert r.status_code == 200, r.text
    receipt = r.json()
    entry, inclusion, head = receipt["entry"], receipt["inclusion"], receipt["tree_head"]
    assert entry["kind"] == "submission.accepted" and entry["payload"]["submission_id"] == ctx["id"], entry
    assert receipt["public_key"] == ctx["key"]
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(ctx["key"]))
    digest = hashlib.sha256(jcs(entry_fields(entry))).digest()
    assert digest.hex() == entry["hash"]
    key.verify(bytes.fromhex(entry["signature"]), digest)
    leaf = hashlib.sha256(b"\x00" + digest).digest()
    assert leaf.hex() == inclusion["leaf_hash"]
    root = inclusion_root(leaf, inclusion["seq"], inclusion["tree_size"], [bytes.fromhex(h) for h in inclusion["audit_path"]])
    assert root is not None and root.hex() == inclusion["root"] == head["root"], "the audit path does not lead to the root"
    assert inclusion["tree_size"] == head["tree_size"] and len(inclusion["audit_path"]) >= 2
    key.verify(bytes.fromhex(head["signature"]), jcs({"root": head["root"], "timestamp": head["timestamp"], "tree_size": head["tree_size"]}))
    ctx["receipt"], ctx["api_file"] = receipt, write("api.json", r.content)


def t_cli_fetches_the_same_receipt():
    out = os.path.join(work, "cli.json")
    p = expect_ok(kiln("ledger", "receipt", "--server", srv.url, "--submission", str(ctx["id"]), "--out", out), "kiln ledger receipt")
    assert "verify-receipt" in p.stdout, p.stdout
    assert json.load(open(out)) == ctx["receipt"], "the CLI saved a different receipt than the API serves"
    p = expect_ok(kiln("ledger", "receipt", "--server", srv.url, "--submission", str(ctx["id"])), "kiln ledger receipt to stdout")
    assert json.loads(p.stdout) == ctx["receipt"]
    ctx["cli_file"] = out


def t_verify_receipt_offline():
    for path in (ctx["api_file"], ctx["cli_file"]):
        p = expect_ok(verify_receipt(path), "verify-receipt")
        receipt = ctx["receipt"]
        first = p.stdout.splitlines()[0]
        assert first.startswith(f"Receipt OK: submission.accepted at seq {receipt['entry']['seq']}"), p.stdout
        assert f"submission_id {ctx['id']}" in first and "datanet starters" in first, first
        assert f"tree size {receipt['tree_head']['tree_size']}, root {receipt['tree_head']['root']}" in p.stdout, p.stdout
    p = kiln("ledger", "verify-receipt", "-", "--key", ctx["key"].upper(), stdin=open(ctx["api_file"]).read())
    assert p.returncode == 0, p.stdout + p.stderr


def t_altered_audit_path_byte_fails():
    receipt = copy.deepcopy(ctx["receipt"])
    path = receipt["inclusion"]["audit_path"]
    path[1] = path[1][:10] + ("0" if path[1][10] != "0" else "1") + path[1][11:]
    expect_invalid(verify_receipt(write("bad-path.json", receipt)), "one audit-path byte", ["audit path"])


def t_changed_payload_field_fails():
    receipt = copy.deepcopy(ctx["receipt"])
    receipt["entry"]["payload"]["contributor_id"] += 1
    expect_invalid(verify_receipt(write("bad-payload.json", receipt)), "a payload field", ["hashes to"])
    receipt = copy.deepcopy(ctx["receipt"])
    receipt["entry"]["payload"]["datanet"] = "someone-else"
    expect_invalid(verify_receipt(write("bad-datanet.json", receipt)), "the payload's datanet")


def t_wrong_key_fails():
    other = "ab" * 32
    expect_invalid(verify_receipt(ctx["api_file"], key=other), "the wrong --key", ["key"])
    # Also when the receipt is edited to name that key: the signatures still do not verify under it.
    receipt = copy.deepcopy(ctx["receipt"])
    receipt["public_key"] = other
    expect_invalid(verify_receipt(write("other-key.json", receipt), key=other), "a receipt naming the wrong key", ["signature"])


def t_altered_tree_head_fails():
    receipt = copy.deepcopy(ctx["receipt"])
    receipt["tree_head"]["timestamp"] += 1
    expect_invalid(verify_receipt(write("bad-head.json", receipt)), "the tree head's timestamp", ["tree head"])
    receipt = copy.deepcopy(ctx["receipt"])
    receipt["entry"]["signature"] = receipt["entry"]["signature"][::-1]
    expect_invalid(verify_receipt(write("bad-sig.json", receipt)), "the entry signature", ["signature"])


def t_malformed_receipts_fail_cleanly():
    expect_invalid(verify_receipt(write("not-json.json", b"{\"entry\": ")), "truncated JSON", ["not a receipt"])
    receipt = copy.deepcopy(ctx["receipt"])
    del receipt["inclusion"]
    expect_invalid(verify_receipt(write("no-inclusion.json", receipt)), "no inclusion proof", ["not a receipt"])
    raw = open(ctx["api_file"], "rb").read()
    assert raw.startswith(b"{") and b'"public_key"' in raw
    dup = b'{"public_key":"' + b"ab" * 32 + b'",' + raw[1:]  # strict parsing refuses it; a lax one keeps one of the two
    expect_invalid(verify_receipt(write("duplicate.json", dup)), "a duplicate key")
    p = verify_receipt(os.path.join(work, "missing.json"))
    assert p.returncode == 2 and "missing.json" in p.stderr, (p.returncode, p.stderr)


def t_rejected_item_needs_its_contributors_token():
    out = os.path.join(work, "rejected.json")
    p = kiln("ledger", "receipt", "--server", srv.url, "--submission", str(ctx["rejected"]), "--out", out)
    assert p.returncode != 0 and not os.path.exists(out), (p.returncode, p.stdout, p.stderr)
    expect_ok(kiln("ledger", "receipt", "--server", srv.url, "--submission", str(ctx["rejected"]), "--out", out,
                   token=ctx["alice_token"]), "receipt with the contributor's token")
    p = expect_ok(verify_receipt(out), "verify a rejection receipt")
    assert p.stdout.startswith("Receipt OK: submission.rejected"), p.stdout


def t_version_receipt_and_receipts_stay_valid_as_the_ledger_grows():
    r = requests.post(f"{srv.url}/api/datanets/starters/versions", headers=ctx["curator"], timeout=60)
    assert r.status_code == 201, r.text
    out = os.path.join(work, "version.json")
    expect_ok(kiln("ledger", "receipt", "--server", srv.url, "--datanet", "starters", "--version", "1", "--out", out), "version receipt")
    p = expect_ok(verify_receipt(out), "verify a version receipt")
    assert p.stdout.startswith("Receipt OK: version.published") and "version 1" in p.stdout, p.stdout
    # The earlier receipt names an older tree head; it is still a valid, signed statement.
    expect_ok(verify_receipt(ctx["api_file"]), "an old receipt after more appends")


def t_bad_flag_combinations_fail_before_any_request():
    for args in (["--submission", "1", "--datanet", "x", "--version", "1"], ["--datanet", "x"], []):
        p = kiln("ledger", "receipt", "--server", "http://127.0.0.1:9", *args)
        assert p.returncode == 64 and "Error:" in p.stderr, (args, p.returncode, p.stderr)
    p = kiln("ledger", "verify-receipt", ctx["api_file"], "--key", "xyz")
    assert p.returncode == 64 and "--key" in p.stderr, p.stderr


try:
    for name, fn in [(k, v) for k, v in list(globals().items()) if k.startswith("t_")]:
        R.check(name[2:], fn)
finally:
    srv.cleanup()
    shutil.rmtree(work, ignore_errors=True)
R.finish()
