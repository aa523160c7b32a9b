#!/usr/bin/env python3
"""Issue 4, acceptance 2: tampering with a stored ledger is caught by `kiln ledger verify`, naming the first bad seq.

A real ledger is built through the API (users, two Datanets, submissions accepted, rejected by a curator and
rejected automatically, published versions), then the server is stopped and each case edits its own copy of
the data folder's SQLite file directly with python sqlite3: single bytes of a stored entry (a payload string,
numbers, a key, inserted whitespace, prev_hash, the hash and signature columns), two entries swapped, one
deleted (middle and last), an entry re-signed with another Ed25519 key, an entry rewritten with every later
hash and prev_hash recomputed but no key, and the latest signed tree head altered or removed. The untouched
copy verifies, verifying never writes to the folder, and `--server` verification of the live node passes.

Run from the project root: python3 Tests/ledger/test_tamper.py (KILN_BIN names the binary).
Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import hashlib, json, os, shutil, sqlite3, sys, tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from ledger_support import (KilnServer, Results, all_entries, check_chain, create_text_datanet, expect_broken_at,  # noqa: E402
                            expect_ok, jcs, kiln, login, merkle_root, public_key, review, submit_text)
import requests  # noqa: E402

R = Results()
work = tempfile.mkdtemp(prefix="kiln-tamper-")
srv = KilnServer().start()
ctx = {}


# MARK: - Helpers

def copy_folder(name):
    path = os.path.join(work, name)
    shutil.copytree(srv.data, path)
    return path


def tampered(name, mutate):
    """A copy of the stopped node's data folder with `mutate(connection)` applied and committed."""
    path = copy_folder(name)
    con = sqlite3.connect(os.path.join(path, "kiln.sqlite"))
    mutate(con)
    con.commit()
    con.close()
    return path


def verify(path, *extra):
    return kiln("ledger", "verify", "--data", path, *extra)


def entry_text(con, seq):
    return con.execute("SELECT entry FROM ledger_entries WHERE seq = ?", (seq,)).fetchone()[0]


def set_entry_text(con, seq, text):
    con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = ?", (text, seq))


def flip_digit(text, index):
    """The text with the (hex or decimal) digit at `index` replaced by another digit."""
    return text[:index] + ("1" if text[index] != "1" else "2") + text[index + 1:]


def value_index(text, key, offset):
    """The index `offset` characters into the value of "key" (after its colon and any opening quote)."""
    start = text.index(f'"{key}":') + len(key) + 3
    return start + (1 if text[start] == '"' else 0) + offset


def edit(seq, change):
    """A mutation that rewrites the stored text of entry `seq` with `change(text)` and nothing else."""
    def mutate(con):
        before = entry_text(con, seq)
        after = change(before)
        assert after != before, "the edit changed nothing"
        set_entry_text(con, seq, after)
    return mutate


def other_key():
    return Ed25519PrivateKey.generate()


def rewrite(con, seq, obj, signer=None):
    """Stores `obj` as entry `seq` with its true hash, signed by `signer` (or keeping the old signature)."""
    text = jcs(obj).decode()
    digest = hashlib.sha256(text.encode()).hexdigest()
    if signer:
        signature = signer.sign(bytes.fromhex(digest)).hex()
        con.execute("UPDATE ledger_entries SET entry = ?, hash = ?, signature = ? WHERE seq = ?", (text, digest, signature, seq))
    else:
        con.execute("UPDATE ledger_entries SET entry = ?, hash = ? WHERE seq = ?", (text, digest, seq))
    return digest


def relink_from(con, seq, previous_hash, signer=None):
    """Rewrites every entry after `seq` with prev_hash/hash recomputed (and re-signed by `signer` if given)."""
    count = con.execute("SELECT COUNT(*) FROM ledger_entries").fetchone()[0]
    for later in range(seq + 1, count):
        obj = json.loads(entry_text(con, later))
        obj["prev_hash"] = previous_hash
        previous_hash = rewrite(con, later, obj, signer)


# MARK: - Building a real ledger

def t_build_ledger_through_the_api():
    curator, _ = login(srv.url, "curator")
    people = [login(srv.url, name)[0] for name in ("alice", "bob", "carol")]
    for slug in ("notes", "recipes"):
        create_text_datanet(srv.url, curator, slug)
    decided = 0
    for i in range(36):
        slug = ("notes", "recipes")[i % 2]
        item = submit_text(srv.url, people[i % 3], slug, f"Entry {i}: proof the dough for {i + 2} hours at {20 + i % 7} degrees.")
        if i % 4 == 3:
            r = review(srv.url, curator, item["id"], "reject", reason=f"Too vague, note {i}.")
        else:
            r = review(srv.url, curator, item["id"], "accept")
        assert r.status_code == 200, r.text
        decided += 1
    # Too short for min_chars: rejected automatically, and that is on the ledger too.
    short = submit_text(srv.url, people[0], "notes", "hi")
    assert short["status"] == "rejected", short
    submit_text(srv.url, people[1], "notes", "Still pending: nobody has reviewed this one yet.")
    for slug in ("notes", "recipes"):
        r = requests.post(f"{srv.url}/api/datanets/{slug}/versions", headers=curator, timeout=60)
        assert r.status_code == 201, r.text
    entries = all_entries(srv.url)
    kinds = {e["kind"] for e in entries}
    assert kinds == {"datanet.created", "submission.accepted", "submission.rejected", "submissions.rejected", "version.published"}, kinds
    assert len(entries) >= 40, f"only {len(entries)} entries"
    ctx["entries"] = entries
    ctx["key"] = public_key(srv.url)
    check_chain(entries, ctx["key"])
    ctx["n"] = len(entries)
    # A mid-chain accepted entry to tamper with, and the last one.
    ctx["k"] = next(e["seq"] for e in entries if e["seq"] >= len(entries) // 2 and e["kind"] == "submission.accepted")


def t_live_server_verifies():
    p = expect_ok(kiln("ledger", "verify", "--server", srv.url), "verify --server")
    assert f"Ledger OK: {ctx['n']} entries, root {merkle_root([e['hash'] for e in ctx['entries']])}" in p.stdout, p.stdout
    assert "served by" in p.stdout and "--key" in p.stdout, "the output must say the key came from the server"
    p = expect_ok(kiln("ledger", "verify", "--server", srv.url, "--key", ctx["key"].upper()), "verify --server --key")
    assert "(from --key)" in p.stdout, p.stdout
    p = kiln("ledger", "verify", "--server", srv.url, "--key", other_key().public_key().public_bytes_raw().hex())
    expect_broken_at(p, 0, "verify --server with the wrong key", ["signature"])


def t_stop_server():
    srv.stop()
    assert srv.proc.returncode is not None


def t_untouched_copy_verifies_and_is_not_written():
    path = copy_folder("untouched")
    before = hashlib.sha256(open(os.path.join(path, "kiln.sqlite"), "rb").read()).hexdigest()
    p = expect_ok(verify(path), "untouched copy")
    assert p.stdout.strip().splitlines()[-1].startswith(f"Ledger OK: {ctx['n']} entries, root "), p.stdout
    assert "tree head signed at" in p.stdout and "ledger-key.ed25519" in p.stdout, p.stdout
    expect_ok(verify(path, "--key", ctx["key"]), "untouched copy with --key")
    expect_broken_at(verify(path, "--key", "ab" * 32), 0, "untouched copy, wrong --key", ["signature"])
    con = sqlite3.connect(os.path.join(path, "kiln.sqlite"))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    after = hashlib.sha256(open(os.path.join(path, "kiln.sqlite"), "rb").read()).hexdigest()
    assert before == after, "kiln ledger verify changed the database"


# MARK: - (a) single bytes of a stored entry

def t_flip_payload_string():
    k = ctx["k"]
    path = tampered("flip-string", edit(k, lambda t: flip_digit(t, value_index(t, "sha256", 10))))
    expect_broken_at(verify(path), k, "a payload string byte", ["stored hash"])


def t_flip_number_time():
    k = ctx["k"]
    path = tampered("flip-time", edit(k, lambda t: flip_digit(t, value_index(t, "time", 9))))
    expect_broken_at(verify(path), k, "a digit of time", ["stored hash"])


def t_flip_number_payload_id():
    k = ctx["k"]
    path = tampered("flip-id", edit(k, lambda t: flip_digit(t, value_index(t, "contributor_id", 0))))
    expect_broken_at(verify(path), k, "a digit of contributor_id", ["stored hash"])


def t_number_not_canonical():
    k = ctx["k"]
    path = tampered("seq-float", edit(k, lambda t: t.replace(f'"seq":{k},', f'"seq":{k}.0,', 1)))
    expect_broken_at(verify(path), k, "seq written as a float", ["canonical"])


def t_flip_key():
    k = ctx["k"]
    path = tampered("flip-key", edit(k, lambda t: t.replace('"contributor_id"', '"contributor_iD"', 1)))
    expect_broken_at(verify(path), k, "a byte of a payload key")


def t_whitespace_inserted():
    k = ctx["k"]
    path = tampered("whitespace", edit(k, lambda t: t.replace('":', '": ', 1)))
    expect_broken_at(verify(path), k, "whitespace inserted", ["canonical"])


def t_flip_prev_hash():
    k = ctx["k"]
    path = tampered("flip-prev", edit(k, lambda t: flip_digit(t, value_index(t, "prev_hash", 30))))
    expect_broken_at(verify(path), k, "a byte of prev_hash", ["prev_hash"])


def t_flip_first_and_last_entries():
    for seq in (0, ctx["n"] - 1):
        path = tampered(f"flip-{seq}", edit(seq, lambda t: flip_digit(t, value_index(t, "time", 12))))
        expect_broken_at(verify(path), seq, f"a byte of entry {seq}")


def t_flip_hash_column():
    k = ctx["k"]

    def mutate(con):
        h = con.execute("SELECT hash FROM ledger_entries WHERE seq = ?", (k,)).fetchone()[0]
        con.execute("UPDATE ledger_entries SET hash = ? WHERE seq = ?", (flip_digit(h, 5), k))
    expect_broken_at(verify(tampered("flip-hash", mutate)), k, "the stored hash column", ["stored hash"])


def t_flip_signature_column():
    k = ctx["k"]

    def mutate(con):
        s = con.execute("SELECT signature FROM ledger_entries WHERE seq = ?", (k,)).fetchone()[0]
        con.execute("UPDATE ledger_entries SET signature = ? WHERE seq = ?", (flip_digit(s, 40), k))
    expect_broken_at(verify(tampered("flip-sig", mutate)), k, "the stored signature", ["signature"])


def t_damaged_row_is_reported_not_crashed():
    k = ctx["k"]

    def mutate(con):  # invalid UTF-8 stored as a BLOB where the text should be
        con.execute("UPDATE ledger_entries SET entry = ? WHERE seq = ?", (b"\xff\xfe{\"seq\":", k))
    p = verify(tampered("blob-row", mutate))
    expect_broken_at(p, k, "an unreadable stored row")
    assert "Fatal error" not in p.stderr, p.stderr


# MARK: - (b) swap, (c) delete

def t_swap_two_entries():
    i, j = ctx["k"], ctx["k"] + 3

    def mutate(con):
        a = con.execute("SELECT entry, hash, signature FROM ledger_entries WHERE seq = ?", (i,)).fetchone()
        b = con.execute("SELECT entry, hash, signature FROM ledger_entries WHERE seq = ?", (j,)).fetchone()
        con.execute("UPDATE ledger_entries SET entry = ?, hash = ?, signature = ? WHERE seq = ?", (*b, i))
        con.execute("UPDATE ledger_entries SET entry = ?, hash = ?, signature = ? WHERE seq = ?", (*a, j))
    expect_broken_at(verify(tampered("swap", mutate)), i, "two entries swapped", [f"found seq {j}"])


def t_delete_middle_entry():
    k = ctx["k"]
    path = tampered("delete-middle", lambda con: con.execute("DELETE FROM ledger_entries WHERE seq = ?", (k,)))
    expect_broken_at(verify(path), k, "a middle entry deleted", [f"found seq {k + 1}"])


def t_delete_last_entry():
    last = ctx["n"] - 1
    path = tampered("delete-last", lambda con: con.execute("DELETE FROM ledger_entries WHERE seq = ?", (last,)))
    expect_broken_at(verify(path), last, "the last entry deleted", ["missing"])


# MARK: - (d) another key, (e) a consistent rewrite without the key

def t_resigned_with_another_key():
    k, key = ctx["k"], other_key()

    def mutate(con):
        obj = json.loads(entry_text(con, k))
        obj["payload"]["contributor_id"] = 999
        rewrite(con, k, obj, signer=key)
    expect_broken_at(verify(tampered("resign", mutate)), k, "one entry re-signed", ["signature"])


def t_resigned_chain_tail_with_another_key():
    k, key = ctx["k"], other_key()

    def mutate(con):
        obj = json.loads(entry_text(con, k))
        obj["payload"]["contributor_id"] = 999
        relink_from(con, k, rewrite(con, k, obj, signer=key), signer=key)
    expect_broken_at(verify(tampered("resign-tail", mutate)), k, "the tail re-signed and relinked", ["signature"])


def t_whole_ledger_resigned_and_key_file_replaced_needs_pinning():
    key = other_key()

    def mutate(con):
        obj = json.loads(entry_text(con, 0))
        obj["payload"]["creator_id"] = 999
        relink_from(con, 0, rewrite(con, 0, obj, signer=key), signer=key)
        hashes = [h for (h,) in con.execute("SELECT hash FROM ledger_entries ORDER BY seq")]
        for size, timestamp in con.execute("SELECT tree_size, timestamp FROM ledger_heads").fetchall():
            root = merkle_root(hashes[:size])
            message = jcs({"root": root, "timestamp": timestamp, "tree_size": size})
            con.execute("UPDATE ledger_heads SET root = ?, signature = ? WHERE tree_size = ?", (root, key.sign(message).hex(), size))
    path = tampered("resign-all", mutate)
    key_file = os.path.join(path, "ledger-key.ed25519")
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    # With the attacker's key file the folder is self-consistent; the key pinned from the live node is not fooled.
    expect_broken_at(verify(path, "--key", ctx["key"]), 0, "everything re-signed, original key pinned", ["signature"])


def t_consistent_rewrite_without_key():
    k = ctx["k"]

    def mutate(con):
        obj = json.loads(entry_text(con, k))
        obj["payload"]["sha256"] = "f" * 64
        relink_from(con, k, rewrite(con, k, obj))
    expect_broken_at(verify(tampered("rewrite-nokey", mutate)), k, "rewritten and relinked without the key", ["signature"])


# MARK: - (f) the signed tree head

def t_latest_tree_head_root_changed():
    n = ctx["n"]

    def mutate(con):
        root = con.execute("SELECT root FROM ledger_heads WHERE tree_size = ?", (n,)).fetchone()[0]
        con.execute("UPDATE ledger_heads SET root = ? WHERE tree_size = ?", (flip_digit(root, 7), n))
    p = verify(tampered("head-root", mutate))
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"Ledger BROKEN at the signed tree head (tree_size {n})" in p.stdout, p.stdout


def t_latest_tree_head_resigned_with_wrong_root():
    n, key = ctx["n"], other_key()

    def mutate(con):
        timestamp = con.execute("SELECT timestamp FROM ledger_heads WHERE tree_size = ?", (n,)).fetchone()[0]
        root = "ab" * 32
        message = jcs({"root": root, "timestamp": timestamp, "tree_size": n})
        con.execute("UPDATE ledger_heads SET root = ?, signature = ? WHERE tree_size = ?", (root, key.sign(message).hex(), n))
    p = verify(tampered("head-resigned", mutate))
    assert p.returncode == 1 and "BROKEN at the signed tree head" in p.stdout and "signature" in p.stdout, p.stdout


def t_latest_tree_head_deleted():
    n = ctx["n"]
    path = tampered("head-deleted", lambda con: con.execute("DELETE FROM ledger_heads WHERE tree_size = ?", (n,)))
    expect_broken_at(verify(path), n - 1, "the latest tree head deleted", [f"covers only {n - 1}"])


def t_all_tree_heads_deleted():
    path = tampered("heads-gone", lambda con: con.execute("DELETE FROM ledger_heads"))
    expect_broken_at(verify(path), 0, "every tree head deleted", ["no signed tree head"])


# MARK: - Long chains: several pages, progress

def extend_with_node_key(path, total):
    """Appends signed entries (with the folder's own node key) up to `total`, and a head for them."""
    with open(os.path.join(path, "ledger-key.ed25519"), "rb") as f:
        key = Ed25519PrivateKey.from_private_bytes(f.read())
    con = sqlite3.connect(os.path.join(path, "kiln.sqlite"))
    hashes = [h for (h,) in con.execute("SELECT hash FROM ledger_entries ORDER BY seq")]
    time_ms = con.execute("SELECT MAX(created_at) FROM ledger_entries").fetchone()[0]
    rows = []
    for seq in range(len(hashes), total):
        obj = {"seq": seq, "time": time_ms, "kind": "submission.accepted", "prev_hash": hashes[-1],
               "payload": {"submission_id": seq, "datanet": "notes", "sha256": hashlib.sha256(b"%d" % seq).hexdigest(),
                           "contributor_id": 2, "stage": "curator", "curator_id": 1}}
        text = jcs(obj).decode()
        digest = hashlib.sha256(text.encode()).hexdigest()
        rows.append((seq, text, digest, key.sign(bytes.fromhex(digest)).hex(), obj["kind"], f"submission:{seq}", time_ms))
        hashes.append(digest)
    con.executemany("INSERT INTO ledger_entries (seq, entry, hash, signature, kind, subject, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    root = merkle_root(hashes)
    message = jcs({"root": root, "timestamp": time_ms + 1, "tree_size": total})
    con.execute("INSERT INTO ledger_heads (tree_size, root, timestamp, signature) VALUES (?, ?, ?, ?)",
                (total, root, time_ms + 1, key.sign(message).hex()))
    con.commit()
    con.close()
    return root


def t_long_chain_across_pages():
    total = 2600
    path = copy_folder("long")
    root = extend_with_node_key(path, total)
    p = expect_ok(verify(path), "a 2600-entry chain")
    assert f"Ledger OK: {total} entries, root {root}" in p.stdout, p.stdout
    assert f"/{total} items" in p.stderr, f"no progress on standard error: {p.stderr!r}"
    ctx["long"] = path


def t_long_chain_breaks_on_later_pages():
    for seq, mutate, words in [
            (1000, lambda con: con.execute("DELETE FROM ledger_entries WHERE seq = 1000"), ["found seq 1001"]),
            (1999, edit(1999, lambda t: t.replace('"stage":', '"stage" :', 1)), ["canonical"]),
            (2599, edit(2599, lambda t: flip_digit(t, value_index(t, "sha256", 3))), ["stored hash"])]:
        path = os.path.join(work, f"long-{seq}")
        shutil.copytree(ctx["long"], path)
        con = sqlite3.connect(os.path.join(path, "kiln.sqlite"))
        mutate(con)
        con.commit()
        con.close()
        expect_broken_at(verify(path), seq, f"entry {seq} of a long chain", words)


# MARK: - Could not check (exit 2)

def t_missing_key_file_needs_key():
    path = copy_folder("no-key")
    os.remove(os.path.join(path, "ledger-key.ed25519"))
    p = verify(path)
    assert p.returncode == 2 and "--key" in p.stderr, (p.returncode, p.stdout, p.stderr)
    expect_ok(verify(path, "--key", ctx["key"]), "no key file but --key")


def t_no_database_or_no_tables():
    p = verify(os.path.join(work, "does-not-exist"))
    assert p.returncode == 2 and "no Kiln database" in p.stderr, (p.returncode, p.stderr)
    path = tampered("no-tables", lambda con: con.execute("DROP TABLE ledger_heads"))
    p = verify(path)
    assert p.returncode == 2 and p.stderr.startswith("kiln: "), (p.returncode, p.stdout, p.stderr)
    assert "Fatal error" not in p.stderr, p.stderr


def t_unreachable_server():
    p = kiln("ledger", "verify", "--server", "http://127.0.0.1:9")
    assert p.returncode == 2 and "cannot reach" in p.stderr, (p.returncode, p.stderr)
    p = kiln("ledger", "verify", "--data", work, "--server", "http://127.0.0.1:9")
    assert p.returncode == 64 and "exactly one" in p.stderr, (p.returncode, p.stderr)


try:
    for name, fn in [(k, v) for k, v in list(globals().items()) if k.startswith("t_")]:
        R.check(name[2:], fn)
finally:
    srv.cleanup()
    shutil.rmtree(work, ignore_errors=True)
R.finish()
