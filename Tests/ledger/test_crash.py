#!/usr/bin/env python3
"""Issue 4, acceptance 4: `kill -9` during a burst of reviews, restart: the ledger verifies and agrees with the data.

About 300 pending items are reviewed from several threads at once (mostly accepted, some rejected by the
curator); the server is killed with SIGKILL mid-burst and restarted on the same data folder. Then
`kiln ledger verify` passes (over the API, and on the data folder once the server is stopped), every item
whose status is accepted has exactly one `submission.accepted` entry, every curator rejection exactly one
`submission.rejected` entry, no still-pending item has any entry, and the restarted node keeps appending.

Run from the project root: python3 Tests/ledger/test_crash.py (KILN_BIN names the binary).
Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import collections, hashlib, json, os, sys, threading, time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from ledger_support import (KilnServer, Results, all_entries, check_chain, create_text_datanet, expect_ok, kiln,  # noqa: E402
                            login, merkle_root, public_key, review)

R = Results()
srv = KilnServer().start()
ctx = {}
ITEMS = 320


def text(tag):
    digest = hashlib.sha256(tag.encode()).hexdigest()
    return f"Crash note {tag}: proof {digest[:12]} rests {digest[12:20]} minutes, bake {digest[20:28]}."


def all_mine(headers):
    out, cursor = [], None
    while True:
        r = requests.get(srv.url + "/api/me/submissions?limit=1000" + (f"&cursor={cursor}" if cursor else ""), headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next"]
        if not cursor:
            return out


def t_setup_pending_items():
    ctx["curator"], _ = login(srv.url, "curator")
    ctx["contributors"] = [login(srv.url, f"contributor{i}")[0] for i in range(3)]
    create_text_datanet(srv.url, ctx["curator"], "rolls")
    for batch in range(ITEMS // 40):
        lines = "\n".join(json.dumps({"text": text(f"{batch}-{k}")}) for k in range(40))
        r = requests.post(srv.url + "/api/datanets/rolls/submissions", data=lines.encode(), timeout=60,
                          headers={**ctx["contributors"][batch % 3], "Content-Type": "application/x-ndjson"})
        assert r.status_code in (200, 201), r.text
    items = [i for h in ctx["contributors"] for i in all_mine(h)]
    ctx["ids"] = sorted(i["id"] for i in items if i["status"] == "pending")
    assert len(ctx["ids"]) == ITEMS, f"{len(ctx['ids'])} pending items, wanted {ITEMS}"


def t_kill_9_mid_burst_of_reviews():
    done = collections.Counter()
    lock, stop = threading.Lock(), threading.Event()

    def reviewer(worker):
        session = requests.Session()
        for item_id in ctx["ids"][worker::4]:
            if stop.is_set():
                return
            reject = item_id % 7 == 0
            try:
                r = review(srv.url, ctx["curator"], item_id, "reject" if reject else "accept",
                           reason="Burnt crust." if reject else None, session=session)
            except requests.RequestException:
                return
            with lock:
                done[r.status_code] += 1

    threads = [threading.Thread(target=reviewer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    # Kill once a good part of the burst has been answered, so reviews are in flight when the process dies.
    deadline = time.time() + 60
    while time.time() < deadline and sum(done.values()) < ITEMS // 4:
        time.sleep(0.005)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    answered = sum(done.values())
    assert ITEMS // 4 <= answered < ITEMS, f"{answered} reviews answered before the kill; the kill was not mid-burst"
    srv.start()


def t_decisions_and_ledger_agree_after_restart():
    items = {i["id"]: i for h in ctx["contributors"] for i in all_mine(h)}
    statuses = collections.Counter(i["status"] for i in items.values())
    assert statuses["pending"] > 0 and statuses["accepted"] > 0, f"not a mid-burst kill: {dict(statuses)}"
    entries = all_entries(srv.url)
    check_chain(entries, public_key(srv.url))
    by_id = collections.defaultdict(list)
    for e in entries:
        if e["kind"].startswith("submission."):
            by_id[e["payload"]["submission_id"]].append(e["kind"])
        elif e["kind"] == "submissions.rejected":  # the automatic rejections of one request share one entry
            for item in e["payload"]["items"]:
                by_id[item["submission_id"]].append(e["kind"])
    for item_id, item in items.items():
        kinds = by_id.get(item_id, [])
        if item["status"] == "accepted":
            assert kinds == ["submission.accepted"], f"accepted item {item_id} has entries {kinds}"
        elif item["status"] == "rejected":
            assert kinds in (["submission.rejected"], ["submissions.rejected"]), f"rejected item {item_id} has entries {kinds}"
        else:
            assert kinds == [], f"pending item {item_id} has entries {kinds}"
    assert set(by_id) <= set(items), "an entry names an item that does not exist"
    head = requests.get(srv.url + "/api/ledger/head", timeout=30).json()
    assert head["tree_size"] == len(entries) and head["root"] == merkle_root([e["hash"] for e in entries]), head
    ctx["statuses"], ctx["n"] = dict(statuses), len(entries)
    print(f"      after the kill: {ctx['statuses']}, {ctx['n']} ledger entries", flush=True)


def t_verify_over_the_api():
    p = expect_ok(kiln("ledger", "verify", "--server", srv.url), "verify --server after restart")
    assert f"Ledger OK: {ctx['n']} entries" in p.stdout, p.stdout


def t_verify_the_data_folder():
    srv.stop()
    p = expect_ok(kiln("ledger", "verify", "--data", srv.data), "verify --data after restart")
    assert f"Ledger OK: {ctx['n']} entries" in p.stdout, p.stdout
    srv.start()


def t_restarted_node_keeps_appending():
    pending = [i["id"] for h in ctx["contributors"] for i in all_mine(h) if i["status"] == "pending"]
    for item_id in pending[:5]:
        r = review(srv.url, ctx["curator"], item_id, "accept")
        assert r.status_code == 200, r.text
    entries = all_entries(srv.url)
    assert len(entries) == ctx["n"] + len(pending[:5]), (len(entries), ctx["n"])
    p = expect_ok(kiln("ledger", "verify", "--server", srv.url), "verify --server after more reviews")
    assert f"Ledger OK: {len(entries)} entries" in p.stdout, p.stdout


try:
    for name, fn in [(k, v) for k, v in list(globals().items()) if k.startswith("t_")]:
        R.check(name[2:], fn)
finally:
    srv.cleanup()
R.finish()
