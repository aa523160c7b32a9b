#!/usr/bin/env python3
"""No request value can stop the server or make it fail: every web page reachable from / and every GET route of
/api/openapi.json gets hostile numbers and strings in every query key a route reads and in every numeric path
segment, anonymously and as a curator. The server must stay up and never answer 5xx.

Run from the project root: python3 Tests/system/test_hostile_values.py (KILN_BIN names the binary).
"""
import os, re, sys, urllib.parse

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KilnServer, Results  # noqa: E402

R = Results()
srv = KilnServer().start()
ctx = {"pages": set(), "failures": []}

# Raw query/path text: already percent-encoded where it must be, so "%00" reaches the server as a NUL byte.
HOSTILE = ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616", "-1", "0",
           "123456789012345678901234", "1e400", "NaN", "0x10", "%00", "1.5", "+1", "%201", "A" * 4000]
# Every query key a Kiln page or route reads (kept in step with the sources by t_keys_cover_the_sources).
QUERY_KEYS = ["from", "before", "limit", "cursor", "seq", "tree_size", "first", "second", "reviewed", "decision", "done",
              "submission", "datanet", "version", "next", "created", "published", "base", "compare", "data", "format", "imported",
              "model", "name", "q", "mode"]


def login(name):
    requests.post(srv.url + "/api/auth/register", json={"username": name, "password": "correct horse battery"}, timeout=30)
    r = requests.post(srv.url + "/api/auth/login", json={"username": name, "password": "correct horse battery"}, timeout=30)
    return {"Authorization": "Bearer " + r.json()["token"]}


def get(path, headers=None):
    r = requests.get(srv.url + path, headers=headers or {}, timeout=60, allow_redirects=False)
    if r.status_code >= 500:
        ctx["failures"].append(f"{r.status_code} GET {path[:120]}")
    return r


def alive():
    assert srv.proc.poll() is None, f"the server exited with {srv.proc.returncode}"
    assert requests.get(srv.url + "/api/datanets", timeout=10).status_code == 200


def t_setup():
    curator = ctx["curator"] = login("curator")
    bob = login("bob")
    r = requests.post(srv.url + "/api/datanets", headers=curator, timeout=30,
                      json={"slug": "notes", "title": "Notes", "kind": "text", "rules": {"min_chars": 5}})
    assert r.status_code == 201, r.text
    for i in range(4):
        r = requests.post(srv.url + "/api/datanets/notes/submissions", headers=bob, timeout=30, json={"text": f"note number {i} here"})
        assert r.status_code == 201, r.text
    items = requests.get(srv.url + "/api/datanets/notes/queue", headers=curator, timeout=30).json()["items"]
    for item in items[:3]:
        r = requests.post(srv.url + f"/api/submissions/{item['id']}/review", headers=curator, timeout=30, json={"decision": "accept"})
        assert r.status_code == 200, r.text
    assert requests.post(srv.url + "/api/datanets/notes/versions", headers=curator, timeout=30).status_code == 201
    ctx["submission"] = items[0]["id"]


def t_keys_cover_the_sources():
    # A route that starts reading a new query key must be attacked too: every key the Swift sources read is listed.
    read = set()
    for folder, _, files in os.walk("Sources/KilnServer"):
        for name in files:
            text = open(os.path.join(folder, name)).read()
            read |= set(re.findall(r'(?:queryParameters\.get|queryNumber|lenientQueryNumber)\("([a-z_]+)"', text))
            read |= set(re.findall(r'query\.get\("([a-z_]+)"\)', text))
            read |= set(re.findall(r'text\("([a-z_]+)"\)', text))
    read |= {"limit", "cursor"}  # PageRequest's keys
    missing = read - set(QUERY_KEYS)
    assert not missing, f"query keys read by the server but not attacked here: {sorted(missing)}"


def t_crawl_every_page():
    seen, queue = set(), ["/"]
    while queue and len(seen) < 400:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        r = get(path, ctx["curator"])
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="([^"#]+)"', r.text):
            url = urllib.parse.urlsplit(urllib.parse.urljoin(path, href.replace("&amp;", "&")))
            if url.netloc or url.scheme not in ("", "http") or url.path.startswith("/static/"):
                continue
            queue.append(url.path + ("?" + url.query if url.query else ""))
    ctx["pages"] = {p.split("?")[0] for p in seen}
    assert {"/", "/ledger", "/datanets/notes", "/datanets/notes/versions/1"} <= ctx["pages"], sorted(ctx["pages"])
    assert not ctx["failures"], ctx["failures"][:10]
    alive()


def api_get_paths():
    doc = requests.get(srv.url + "/api/openapi.json", timeout=30).json()
    values = {"slug": "notes", "id": str(ctx["submission"]), "number": "1", "seq": "0", "document": "1", "chunk": "1",
              "completion": "chatcmpl-0"}
    out = []
    for path, operations in doc["paths"].items():
        if "get" not in operations:
            continue
        names = re.findall(r"\{([^}]+)\}", path)
        concrete = path
        for name in names:
            concrete = concrete.replace("{" + name + "}", values[name])
        keys = [p["name"] for p in operations["get"].get("parameters", []) if p.get("in") == "query"]
        out.append((path, concrete, names, keys))
    return out


def attack(path_template, concrete, numeric_segments, keys, headers):
    for key in keys:
        for value in HOSTILE:
            get(f"{concrete}?{key}={value}", headers)
    segments = concrete.split("/")
    for index in numeric_segments:
        for value in HOSTILE:
            get("/".join(segments[:index] + [value] + segments[index + 1:]), headers)


def t_api_routes_with_hostile_values():
    routes = api_get_paths()
    assert len(routes) >= 18, len(routes)
    for template, concrete, names, keys in routes:
        segments = ("/api" + template).split("/")
        numeric = [i for i, s in enumerate(segments) if s in ("{id}", "{number}", "{seq}", "{slug}", "{document}", "{chunk}", "{completion}")]
        for headers in (None, ctx["curator"]):
            attack(template, "/api" + concrete, numeric, keys + ["limit", "cursor", "from"], headers)
    assert not ctx["failures"], ctx["failures"][:10]
    alive()


def t_web_pages_with_hostile_values():
    assert len(ctx["pages"]) >= 10, ctx["pages"]
    for page in sorted(ctx["pages"]):
        segments = page.split("/")
        numeric = [i for i, s in enumerate(segments) if s.isdigit()]
        for headers in (None, ctx["curator"]):
            attack(page, page, numeric, QUERY_KEYS, headers)
    assert not ctx["failures"], ctx["failures"][:10]
    alive()


R.run_all(globals(), srv.cleanup)
