#!/usr/bin/env python3
"""Issue 4, acceptance 3: 200 concurrent accepted submissions give a chain with no gaps or forks and one entry per event.

Several contributors submit 200 items from many threads at once; then curator threads accept them all
concurrently (every item is reviewed by two threads racing each other, so exactly one of them may win),
while more submissions arrive, some of them rejected automatically. Then every entry is fetched and checked
independently: seq 0..n-1 with no gaps, each prev_hash the previous hash, each hash SHA-256 of the entry's
JCS and each signature valid, the Merkle root equal to the signed tree head's, exactly one
`submission.accepted` entry per accepted item and none for a pending one; and `kiln ledger verify --server`
passes.

Run from the project root: python3 Tests/ledger/test_concurrency.py (KILN_BIN names the binary).
Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import collections, hashlib, os, sys, threading

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from ledger_support import (KilnServer, Results, all_entries, check_chain, create_text_datanet, expect_ok, kiln,  # noqa: E402
                            login, merkle_root, public_key, review, submit_text)

R = Results()
srv = KilnServer().start()
ctx = {}
WORDS = ("rye levain crumb crust hydration autolyse banneton scoring steam lame proof ferment starter flour water salt "
         "spelt einkorn oven stone poolish biga crumb shaping tension bench preshape rise oil butter milk honey seed").split()


def text(tag):
    """A distinct sentence per tag, so near-duplicate detection does not reject any of them."""
    digest = hashlib.sha256(tag.encode()).digest()
    words = " ".join(WORDS[b % len(WORDS)] for b in digest[:14])
    return f"{tag}: {words}."


def run_threads(target, args_list):
    errors = []

    def wrapped(*args):
        try:
            target(*args)
        except Exception as e:  # collected and reported by the check that started the threads
            errors.append(f"{type(e).__name__}: {e}")
    threads = [threading.Thread(target=wrapped, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:5]


def t_setup():
    ctx["curator"], _ = login(srv.url, "curator")
    ctx["contributors"] = [login(srv.url, f"baker{i}")[0] for i in range(5)]
    create_text_datanet(srv.url, ctx["curator"], "bread")


def t_200_concurrent_submissions():
    ids, lock = [], threading.Lock()

    def submitter(worker):
        session = requests.Session()
        headers = ctx["contributors"][worker % 5]
        for n in range(25):
            item = submit_text(srv.url, headers, "bread", text(f"w{worker}-n{n}"), session=session)
            assert item["status"] == "pending", item
            with lock:
                ids.append(item["id"])
    run_threads(submitter, [(w,) for w in range(8)])
    assert len(ids) == 200 and len(set(ids)) == 200, len(set(ids))
    ctx["ids"] = sorted(ids)


def t_concurrent_accepts_with_more_submissions():
    outcomes = collections.Counter()
    late, auto_rejected, lock = [], [], threading.Lock()
    ids = ctx["ids"]

    def reviewer(worker):
        session = requests.Session()
        # Workers 0-3 and 4-7 cover the same items in opposite orders, so every item is raced twice.
        mine = ids[worker % 4::4]
        for item_id in (mine if worker < 4 else list(reversed(mine))):
            r = review(srv.url, ctx["curator"], item_id, "accept", session=session)
            assert r.status_code in (200, 409), (item_id, r.status_code, r.text)
            with lock:
                outcomes[r.status_code] += 1

    def late_submitter(worker):
        session = requests.Session()
        headers = ctx["contributors"][worker]
        for n in range(10):
            short = n % 5 == 4
            item = submit_text(srv.url, headers, "bread", "tiny" if short else text(f"late{worker}-{n}"), session=session)
            with lock:
                (auto_rejected if short else late).append(item["id"])
            assert item["status"] == ("rejected" if short else "pending"), item
    run_threads(lambda kind, w: (reviewer if kind == "r" else late_submitter)(w),
                [("r", w) for w in range(8)] + [("s", w) for w in range(4)])
    assert outcomes[200] == 200 and outcomes[409] == 200, dict(outcomes)
    ctx["late"], ctx["auto_rejected"] = late, auto_rejected


def t_chain_has_no_gaps_or_forks():
    entries = all_entries(srv.url)
    key = public_key(srv.url)
    check_chain(entries, key)
    head = requests.get(srv.url + "/api/ledger/head", timeout=30).json()
    assert head["tree_size"] == len(entries), (head["tree_size"], len(entries))
    assert head["root"] == merkle_root([e["hash"] for e in entries]), "the signed root is not the Merkle root of the entries"
    ctx["entries"] = entries


def t_exactly_one_entry_per_event():
    entries = ctx["entries"]
    accepted = collections.Counter(e["payload"]["submission_id"] for e in entries if e["kind"] == "submission.accepted")
    duplicates = {i: n for i, n in accepted.items() if n > 1}
    assert not duplicates, f"submission.accepted entries repeated: {duplicates}"
    assert set(accepted) == set(ctx["ids"]), (len(accepted), sorted(set(ctx["ids"]) - set(accepted))[:10])
    rejected = collections.Counter(item["submission_id"] for e in entries if e["kind"] == "submissions.rejected"
                                   for item in e["payload"]["items"])
    assert set(rejected) == set(ctx["auto_rejected"]) and max(rejected.values()) == 1, rejected
    mentioned = set(accepted) | set(rejected)
    assert not mentioned & set(ctx["late"]), "a still-pending item has a ledger entry"
    for item_id in ctx["late"]:
        r = requests.get(f"{srv.url}/api/submissions/{item_id}", headers=ctx["curator"], timeout=30)
        assert r.json()["status"] == "pending", r.json()
    kinds = collections.Counter(e["kind"] for e in entries)
    # Each automatic rejection here came in its own request, so each has its own entry.
    assert kinds == {"datanet.created": 1, "submission.accepted": 200, "submissions.rejected": len(ctx["auto_rejected"])}, kinds


def t_cli_verifies_the_live_ledger():
    p = expect_ok(kiln("ledger", "verify", "--server", srv.url), "verify --server")
    assert f"Ledger OK: {len(ctx['entries'])} entries" in p.stdout, p.stdout
    expect_ok(kiln("ledger", "verify", "--server", srv.url, "--key", public_key(srv.url)), "verify --server --key")


try:
    for name, fn in [(k, v) for k, v in list(globals().items()) if k.startswith("t_")]:
        R.check(name[2:], fn)
finally:
    srv.cleanup()
R.finish()
