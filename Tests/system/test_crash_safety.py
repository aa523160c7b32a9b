#!/usr/bin/env python3
"""kill -9 during batch uploads and reviews, restart: every item is fully stored or absent, and
every accepted item is intact (content hash, status, blob bytes).

Run from the project root: python3 Tests/system/test_crash_safety.py (KILN_BIN names the binary).
"""
import hashlib, io, json, os, struct, sys, threading, time, zlib

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
ctx = {}


def png(seed):
    w = h = 8
    raw = b"".join(b"\x00" + bytes(((seed * 37 + y) % 256, (seed * 11) % 256, y * 9 % 256)) * w for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def login(name):
    requests.post(srv.url + "/api/auth/register", json={"username": name, "password": "correct horse battery"}, timeout=30)
    r = requests.post(srv.url + "/api/auth/login", json={"username": name, "password": "correct horse battery"}, timeout=30)
    return {"Authorization": "Bearer " + r.json()["token"]}


def canonical(text):
    return hashlib.sha256(json.dumps({"text": text}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def all_mine(headers):
    out, cursor = [], None
    while True:
        r = requests.get(srv.url + "/api/me/submissions?limit=1000" + (f"&cursor={cursor}" if cursor else ""), headers=headers, timeout=30)
        assert r.status_code == 200, r.status_code
        out += r.json()["items"]
        cursor = r.json()["next"]
        if not cursor:
            return out


def t_setup():
    ctx["curator"] = login("curator")
    ctx["bob"] = login("bob")
    for body in ({"slug": "notes", "title": "Notes", "kind": "text", "rules": {"daily_limit": 100000, "min_chars": 5}},
                 {"slug": "pics", "title": "Pictures", "kind": "image", "rules": {"formats": ["png"], "daily_limit": 100000, "min_pixels": 16}}):
        r = requests.post(srv.url + "/api/datanets", json=body, headers=ctx["curator"], timeout=30)
        assert r.status_code == 201, r.text
    # Items accepted before the crash must survive it untouched.
    accepted = {}
    for i in range(20):
        text = f"Accepted before the crash, note {i} about laminated dough."
        r = requests.post(srv.url + "/api/datanets/notes/submissions", json={"text": text}, headers=ctx["bob"], timeout=30)
        item = r.json()
        requests.post(f"{srv.url}/api/submissions/{item['id']}/review", json={"decision": "accept"}, headers=ctx["curator"], timeout=30)
        accepted[item["id"]] = canonical(text)
    ctx["accepted"] = accepted


def t_kill_during_batches_and_reviews():
    sent_texts = {}
    stop = threading.Event()

    def text_batches(worker):
        n = 0
        while not stop.is_set():
            lines = []
            for k in range(50):
                text = f"Batch {worker}-{n}-{k}: a note about crumb, crust and oven spring."
                sent_texts[canonical(text)] = text
                lines.append(json.dumps({"text": text}))
            n += 1
            try:
                requests.post(srv.url + "/api/datanets/notes/submissions", data="\n".join(lines).encode(),
                              headers={**ctx["bob"], "Content-Type": "application/x-ndjson"}, timeout=10)
            except requests.RequestException:
                return

    def image_batches(worker):
        n = 0
        while not stop.is_set():
            files = [("file", (f"p{worker}-{n}-{k}.png", png(worker * 100000 + n * 10 + k), "image/png")) for k in range(5)]
            n += 1
            try:
                requests.post(srv.url + "/api/datanets/pics/submissions", files=files, headers=ctx["bob"], timeout=10)
            except requests.RequestException:
                return

    def reviews():
        while not stop.is_set():
            try:
                q = requests.get(srv.url + "/api/datanets/notes/queue?limit=20", headers=ctx["curator"], timeout=10).json()["items"]
                for item in q:
                    requests.post(f"{srv.url}/api/submissions/{item['id']}/review", json={"decision": "accept"}, headers=ctx["curator"], timeout=10)
            except (requests.RequestException, ValueError, KeyError):
                return

    threads = [threading.Thread(target=f, args=a) for f, a in [(text_batches, (1,)), (text_batches, (2,)), (image_batches, (3,)), (reviews, ())]]
    for t in threads:
        t.start()
    time.sleep(2.5)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    srv.start()
    ctx["sent"] = sent_texts


def t_every_item_whole_or_absent():
    items = all_mine(ctx["bob"])
    assert len(items) > 100, f"only {len(items)} items were stored before the kill; the test did not exercise much"
    for item in items:
        assert item["status"] in ("pending", "accepted", "rejected"), item
        if item["kind"] == "text":
            text = item["content"]["text"]
            assert canonical(text) == item["sha256"], f"item {item['id']} content does not match its hash"
        elif item["status"] == "rejected":
            # A rejected file's bytes are never kept.
            r = requests.get(f"{srv.url}/api/submissions/{item['id']}/content", headers=ctx["bob"], timeout=30)
            assert r.status_code == 404, f"item {item['id']}: a rejected file was kept ({r.status_code})"
        else:
            r = requests.get(f"{srv.url}/api/submissions/{item['id']}/content", headers=ctx["bob"], timeout=30)
            assert r.status_code == 200, f"item {item['id']}: blob missing ({r.status_code})"
            assert hashlib.sha256(r.content).hexdigest() == item["sha256"], f"item {item['id']}: blob damaged"
    # A batch is one transaction: the number of text items stored per batch is 0 or 50.
    batches = {}
    for item in items:
        if item["kind"] == "text" and item["content"]["text"].startswith("Batch "):
            key = item["content"]["text"].split(":")[0].rsplit("-", 1)[0]
            batches[key] = batches.get(key, 0) + 1
    assert batches and all(n == 50 for n in batches.values()), {k: v for k, v in batches.items() if v != 50}


def t_accepted_items_intact():
    items = {i["id"]: i for i in all_mine(ctx["bob"])}
    for item_id, sha in ctx["accepted"].items():
        assert items[item_id]["status"] == "accepted", items[item_id]
        assert items[item_id]["sha256"] == sha
    board = requests.get(srv.url + "/api/datanets/notes/leaderboard", timeout=30).json()["items"]
    accepted = sum(1 for i in items.values() if i["status"] == "accepted" and i["datanet"] == "notes")
    assert board[0]["accepted"] == accepted, (board, accepted)


def t_server_still_takes_work():
    r = requests.post(srv.url + "/api/datanets/notes/submissions", json={"text": "After the restart, still taking notes."},
                      headers=ctx["bob"], timeout=30)
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text


try:
    for name, fn in [(k, v) for k, v in list(globals().items()) if k.startswith("t_")]:
        R.check(name[2:], fn)
finally:
    srv.cleanup()
R.finish()
