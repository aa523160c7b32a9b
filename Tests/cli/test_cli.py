#!/usr/bin/env python3
"""`kiln login` and `kiln datanet …` against a real `kiln serve`, end to end.

A user registers over HTTP, then everything else goes through the CLI: create a text and an image Datanet,
submit text (flags and JSONL) and files (two real PNGs and a ZIP named .png), queue, review, leaderboard,
publish, export. The exports are checked the way Hugging Face `datasets` reads them (and loaded with it if it
is importable; it is not installed for this test). A stub server serving a tampered manifest and a tampered
blob checks that export refuses both. Also: the daily limit stops an upload run, a dead server gives a clear
message, and bad flag combinations fail before any request.

Run from the project root: python3 Tests/cli/test_cli.py (KILN_BIN names the binary, default .build/debug/kiln).
Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import hashlib, http.server, io, json, os, shutil, struct, subprocess, sys, tempfile, threading, zipfile, zlib

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from kiln_server import KILN, KilnServer, Results, free_port  # noqa: E402

R = Results()
work = tempfile.mkdtemp(prefix="kiln-cli-")
srv = KilnServer().start()
ctx = {}
PASSWORD = "correct horse battery"


# MARK: - Helpers

def kiln(*args, token=None, server=None, expect=0):
    """Runs the CLI with KILN_SERVER/KILN_TOKEN set; checks the exit status unless `expect` is None."""
    env = dict(os.environ, KILN_SERVER=server or srv.url)
    env.pop("KILN_TOKEN", None)
    if token:
        env["KILN_TOKEN"] = token
    p = subprocess.run([KILN, *args], env=env, capture_output=True, text=True, timeout=180)
    if expect is not None:
        assert p.returncode == expect, f"kiln {' '.join(args)} exited {p.returncode}, wanted {expect}\n{p.stdout}\n{p.stderr}"
    return p


def png(width, height, seed):
    """A real RGB PNG (IHDR, zlib-compressed IDAT, IEND with CRCs)."""
    raw = b"".join(b"\x00" + bytes(((x * seed + y * 7) % 256) for x in range(width * 3)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("readme.txt", "not a picture")
    return buffer.getvalue()


def write(name, data):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def merkle_root(hex_digests):
    """RFC 6962 Merkle Tree Hash over 32-byte leaves, computed independently of the Swift code."""
    def mth(leaves):
        if not leaves:
            return hashlib.sha256(b"").digest()
        if len(leaves) == 1:
            return hashlib.sha256(b"\x00" + leaves[0]).digest()
        k = 1
        while k * 2 < len(leaves):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()
    return mth([bytes.fromhex(h) for h in hex_digests]).hex()


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def try_datasets():
    try:
        import datasets  # noqa: F401
        return datasets
    except ImportError:
        return None


# MARK: - Accounts and Datanets

def test_login():
    for name in ("alice", "bob"):
        r = requests.post(srv.url + "/api/auth/register", json={"username": name, "password": PASSWORD}, timeout=30)
        assert r.status_code == 201, r.text
    p = kiln("login", "--username", "alice", "--password", PASSWORD, "--server", srv.url)
    ctx["alice"] = p.stdout.strip()
    assert len(ctx["alice"]) >= 32 and "\n" not in ctx["alice"], p.stdout
    j = json.loads(kiln("login", "--username", "bob", "--password", PASSWORD, "--json").stdout)
    assert j["user"]["username"] == "bob" and j["token"]
    ctx["bob"] = j["token"]
    bad = kiln("login", "--username", "alice", "--password", "wrong password", expect=1)
    assert bad.stderr.startswith("kiln: ") and "(" in bad.stderr, bad.stderr


def test_create():
    p = kiln("datanet", "create", "poems", "--title", "Short poems", "--kind", "text", "--min-chars", "3",
             "--description", "Four lines at most.", token=ctx["alice"])
    assert "Created text Datanet poems" in p.stdout, p.stdout
    j = json.loads(kiln("datanet", "create", "cats", "--title", "Cat photos", "--kind", "image", "--formats", "png,jpeg",
                        "--min-pixels", "64", "--json", token=ctx["alice"]).stdout)
    assert j["slug"] == "cats" and j["kind"] == "image" and j["rules"]["formats"] == ["png", "jpeg"], j
    kiln("datanet", "create", "qa", "--title", "Q and A", "--kind", "text", "--schema", "instruction", token=ctx["alice"])
    kiln("datanet", "create", "tiny", "--title", "Two a day", "--kind", "image", "--daily-limit", "2", token=ctx["alice"])
    taken = kiln("datanet", "create", "cats", "--title", "Again", "--kind", "image", token=ctx["alice"], expect=1)
    assert taken.stderr.strip().startswith("kiln: ") and taken.stderr.strip().endswith(")"), taken.stderr


def test_validation_before_run():
    # ArgumentParser's validation failures exit 64 (EX_USAGE) before any request is made.
    for args in (["datanet", "create", "x1", "--title", "T", "--kind", "image", "--min-chars", "3"],
                 ["datanet", "create", "Bad Slug", "--title", "T", "--kind", "text"],
                 ["datanet", "create", "ok", "--title", "T", "--kind", "text", "--min-chars", "9", "--max-chars", "3"],
                 ["datanet", "create", "ok", "--title", "T", "--kind", "audio", "--schema", "chat"],
                 ["datanet", "review", "1"],
                 ["datanet", "review", "1", "--accept", "--reject", "--reason", "x"],
                 ["datanet", "review", "1", "--reject"],
                 ["datanet", "submit", "poems"],
                 ["datanet", "submit", "poems", "--item", "[1,2]"],
                 ["datanet", "submit", "cats", os.path.join(work, "missing.png")],
                 ["datanet", "export", "cats", "--version", "0", "--out", work]):
        p = kiln(*args, token=ctx["alice"], expect=64)
        assert "Error:" in p.stderr, (args, p.stderr)
    p = kiln("datanet", "publish", "cats", expect=64)
    assert "token" in p.stderr, p.stderr
    p = kiln("datanet", "list", "--server", "ftp://example", expect=64)
    assert "--server" in p.stderr, p.stderr


def test_list_and_show():
    p = kiln("datanet", "list")
    assert "poems" in p.stdout and "cats" in p.stdout and "SLUG" in p.stdout, p.stdout
    pages = [json.loads(line) for line in kiln("datanet", "list", "--json").stdout.splitlines()]
    assert {d["slug"] for page in pages for d in page["items"]} >= {"poems", "cats", "qa", "tiny"}
    show = kiln("datanet", "show", "cats").stdout
    assert "Cat photos" in show and "png, jpeg" in show and "Curators: alice" in show, show
    assert json.loads(kiln("datanet", "show", "poems", "--json").stdout)["description"] == "Four lines at most."
    missing = kiln("datanet", "show", "nope", expect=1)
    assert missing.stderr.startswith("kiln: ") and missing.stderr.strip().endswith("(not_found)"), missing.stderr


def test_unreachable_server():
    dead = f"http://127.0.0.1:{free_port()}"
    p = kiln("datanet", "list", server=dead, expect=1)
    assert dead in p.stderr and "cannot reach" in p.stderr, p.stderr


# MARK: - Submitting

def test_submit_text():
    lines = write("poems.jsonl", b'{"text":"From a file, line one"}\n\n{"text":"From a file, line three"}\n')
    p = kiln("datanet", "submit", "poems", "--text", "Roses are red, violets are blue", "--text", "ab",
             "--item", '{"text": "An item given as JSON"}', "--jsonl", lines, token=ctx["bob"])
    out = p.stdout
    assert "--text #1  pending" in out and "--item #1  pending" in out, out
    assert "--text #2  rejected" in out and "(below_min_chars)" in out, out
    assert "poems.jsonl:1  pending" in out and "poems.jsonl:3  pending" in out, out
    assert "4 pending, 1 rejected." in out, out
    qa = kiln("datanet", "submit", "qa", "--json", "--item", '{"instruction": "Capital of France?", "response": "Paris"}',
              token=ctx["bob"])
    rows = [json.loads(line) for line in qa.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "pending" and rows[0]["source"] == "--item #1", rows
    wrong = kiln("datanet", "submit", "qa", "--text", "plain text", token=ctx["bob"], expect=1)
    assert "instruction schema" in wrong.stderr, wrong.stderr


def test_submit_files():
    ctx["pngs"] = {write("tabby.png", png(16, 16, 3)): None, write("ginger.png", png(20, 12, 7)): None}
    fake = write("sneaky.png", zip_bytes())
    p = kiln("datanet", "submit", "cats", *ctx["pngs"], fake, token=ctx["bob"])
    out = p.stdout
    assert "tabby.png  pending" in out and "ginger.png  pending" in out, out
    assert "sneaky.png  rejected" in out and "ZIP" in out, out
    assert "2 pending, 1 rejected." in out, out
    # stderr is not a terminal here, so the bar degrades to a plain final line.
    assert "upload" in p.stderr and "3/3 items" in p.stderr and "\r" not in p.stderr, p.stderr
    media = kiln("datanet", "submit", "cats", "--text", "meow", token=ctx["bob"], expect=1)
    assert "image files" in media.stderr, media.stderr


def test_daily_limit_stops_run():
    files = [write(f"limit{i}.png", png(10, 10, 11 + i)) for i in range(4)]
    p = kiln("datanet", "submit", "tiny", *files, token=ctx["bob"], expect=1)
    out = p.stdout
    assert "limit0.png  pending" in out and "limit1.png  pending" in out, out
    assert "limit2.png  failed" in out and "daily_limit_reached" in out, out
    assert "limit3.png  not sent" in out, out
    assert "resets at" in p.stderr, p.stderr


# MARK: - Reviewing and publishing

def test_queue_and_review():
    forbidden = kiln("datanet", "queue", "cats", token=ctx["bob"], expect=1)
    assert "(forbidden)" in forbidden.stderr, forbidden.stderr
    table = kiln("datanet", "queue", "cats", token=ctx["alice"]).stdout
    assert "tabby.png 16×16" in table and "ginger.png 20×12" in table, table
    for slug in ("cats", "poems"):
        items = json.loads(kiln("datanet", "queue", slug, "--json", token=ctx["alice"]).stdout)["items"]
        ctx[slug] = items
        for item in items:
            if slug == "poems" and "three" in json.dumps(item.get("content")):
                p = kiln("datanet", "review", str(item["id"]), "--reject", "--reason", "Not a poem.", token=ctx["alice"])
                assert "rejected (Not a poem.)" in p.stdout, p.stdout
            else:
                p = kiln("datanet", "review", str(item["id"]), "--accept", token=ctx["alice"])
                assert ": accepted" in p.stdout, p.stdout
    again = kiln("datanet", "review", str(ctx["cats"][0]["id"]), "--accept", token=ctx["alice"], expect=1)
    assert "kiln: " in again.stderr and "(" in again.stderr, again.stderr
    assert "Nothing is waiting" in kiln("datanet", "queue", "cats", token=ctx["alice"]).stdout


def test_leaderboard():
    board = kiln("datanet", "leaderboard", "cats").stdout
    assert "bob" in board and "RANK" in board, board
    rows = json.loads(kiln("datanet", "leaderboard", "--json").stdout)["items"]
    bob = next(r for r in rows if r["username"] == "bob")
    assert bob["accepted"] == 5 and bob["rank"] == 1, rows


def test_publish():
    for slug, count in (("cats", 2), ("poems", 3)):
        p = kiln("datanet", "publish", slug, token=ctx["alice"])
        assert f"Published {slug} v1: {count} items" in p.stdout, p.stdout
        manifest = requests.get(f"{srv.url}/api/datanets/{slug}/versions/1", timeout=30).json()
        assert manifest["merkle_root"] == merkle_root([i["sha256"] for i in manifest["items"]])
        assert manifest["merkle_root"] in p.stdout
        ctx["manifest-" + slug] = manifest
    assert "v1" in kiln("datanet", "show", "cats").stdout


# MARK: - Exporting

def test_export_text():
    out = os.path.join(work, "poems-v1")
    p = kiln("datanet", "export", "poems", "--version", "1", "--out", out)
    assert "verified" in p.stdout, p.stdout
    manifest = ctx["manifest-poems"]
    by_id = {i["id"]: i for i in manifest["items"]}
    seen = []
    for split in ("train", "validation"):
        path = os.path.join(out, f"{split}.jsonl")
        expected = [i for i in manifest["items"] if i["split"] == split]
        if not expected:
            assert not os.path.exists(path), f"{path} written for an empty split"
            continue
        rows = read_jsonl(path)
        for row in rows:
            assert {"text", "id", "sha256", "contributor", "split"} <= row.keys(), row
            assert row["split"] == split and by_id[row["id"]]["sha256"] == row["sha256"], row
            # Plain items hash as their canonical JSON: sorted keys, no spaces, UTF-8.
            canonical = json.dumps({"text": row["text"]}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert hashlib.sha256(canonical.encode()).hexdigest() == row["sha256"], row
        seen += [r["id"] for r in rows]
    assert sorted(seen) == sorted(by_id), (seen, by_id)
    assert not [n for n in os.listdir(out) if n.endswith(".part")]
    datasets = try_datasets()
    if datasets:
        files = {s: os.path.join(out, f"{s}.jsonl") for s in ("train", "validation") if os.path.exists(os.path.join(out, f"{s}.jsonl"))}
        loaded = datasets.load_dataset("json", data_files=files)
        assert sum(len(loaded[s]) for s in loaded) == manifest["count"]
    again = kiln("datanet", "export", "poems", "--version", "1", "--out", out, expect=64)
    assert "not empty" in again.stderr, again.stderr
    kiln("datanet", "export", "poems", "--version", "1", "--out", out, "--force")


def test_export_media():
    out = os.path.join(work, "cats-v1")
    p = kiln("datanet", "export", "cats", "--version", "1", "--out", out)
    assert "imagefolder" in p.stdout and "export" in p.stderr and "2/2 items" in p.stderr, (p.stdout, p.stderr)
    manifest = ctx["manifest-cats"]
    originals = {hashlib.sha256(open(path, "rb").read()).hexdigest() for path in ctx["pngs"]}
    found = set()
    for split in ("train", "validation"):
        folder = os.path.join(out, split)
        expected = {i["sha256"] for i in manifest["items"] if i["split"] == split}
        if not expected:
            continue
        rows = read_jsonl(os.path.join(folder, "metadata.jsonl"))
        assert {r["sha256"] for r in rows} == expected, rows
        for row in rows:
            assert "/" not in row["file_name"] and "content_url" not in row, row
            data = open(os.path.join(folder, row["file_name"]), "rb").read()
            assert hashlib.sha256(data).hexdigest() == row["sha256"], row
            assert data.startswith(b"\x89PNG"), row
            found.add(row["sha256"])
        assert sorted(os.listdir(folder)) == sorted([r["file_name"] for r in rows] + ["metadata.jsonl"])
    assert found == originals, (found, originals)
    datasets = try_datasets()
    if datasets:
        loaded = datasets.load_dataset("imagefolder", data_dir=out)
        assert sum(len(loaded[s]) for s in loaded) == manifest["count"]


def test_export_refuses_tampering():
    blob = png(12, 12, 5)
    digest = hashlib.sha256(blob).hexdigest()
    item = {"position": 0, "id": 7, "sha256": digest, "split": "train", "contributor": "eve", "format": "png", "bytes": len(blob)}
    datanet = {"id": 1, "slug": "fake", "title": "Fake", "description": "", "kind": "image", "schema": "plain", "license": "x",
               "rules": {"formats": ["png"], "max_item_bytes": 1000000, "daily_limit": 10}, "created_at": "2026-12-01T00:00:00.000Z"}
    routes = {}

    class Stub(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{stub.server_address[1]}"
    line = {"id": 7, "sha256": digest, "contributor": "eve", "split": "train", "format": "png",
            "file_name": f"train/{digest}.png", "content_url": "/api/submissions/7/content"}

    def serve(root, content):
        version = {"datanet": "fake", "version": 1, "merkle_root": root, "count": 1, "train_count": 1, "validation_count": 0,
                   "bytes": len(blob), "created_by": "eve", "created_at": "2026-01-01T00:00:00Z", "items": [item]}
        routes.update({"/api/datanets/fake": json.dumps(datanet).encode(),
                       "/api/datanets/fake/versions/1": json.dumps(version).encode(),
                       "/api/datanets/fake/versions/1/export.jsonl": (json.dumps(line) + "\n").encode(),
                       "/api/submissions/7/content": content})

    try:
        serve("00" * 32, blob)
        out = os.path.join(work, "tampered-root")
        p = kiln("datanet", "export", "fake", "--version", "1", "--out", out, server=url, expect=1)
        assert "Merkle root" in p.stderr and not os.path.exists(os.path.join(out, "train")), p.stderr
        serve(merkle_root([digest]), blob[:-1] + b"\x00")
        out = os.path.join(work, "tampered-blob")
        p = kiln("datanet", "export", "fake", "--version", "1", "--out", out, server=url, expect=1)
        assert "does not match the manifest" in p.stderr, p.stderr
        assert os.listdir(os.path.join(out, "train")) == [], os.listdir(os.path.join(out, "train"))
        serve(merkle_root([digest]), blob)
        out = os.path.join(work, "untampered")
        kiln("datanet", "export", "fake", "--version", "1", "--out", out, server=url)
        assert read_jsonl(os.path.join(out, "train", "metadata.jsonl"))[0]["file_name"] == f"{digest}.png"
    finally:
        stub.shutdown()


def test_passwords_from_stdin_never_argv():
    p = subprocess.run([KILN, "login", "--username", "alice", "--password-stdin", "--server", srv.url], input=PASSWORD + "\n",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and len(p.stdout.strip()) >= 32, (p.returncode, p.stderr)
    # No terminal, no --password, no $KILN_PASSWORD: a clear refusal, not a hang.
    env = {k: v for k, v in os.environ.items() if k != "KILN_PASSWORD"}
    p = subprocess.run([KILN, "login", "--username", "alice", "--server", srv.url], stdin=subprocess.DEVNULL, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--password-stdin" in p.stderr, (p.returncode, p.stderr)
    data = tempfile.mkdtemp(prefix="kiln-admin-")
    try:
        p = subprocess.run([KILN, "admin", "create-user", "--data", data, "--username", "root", "--admin", "--password-stdin"],
                           input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "Created admin root" in p.stdout, (p.returncode, p.stdout, p.stderr)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_admin_gc_deletes_only_unnamed_old_blobs():
    data = tempfile.mkdtemp(prefix="kiln-gc-")
    try:
        subprocess.run([KILN, "admin", "create-user", "--data", data, "--username", "root", "--password-stdin"], input=PASSWORD + "\n",
                       capture_output=True, text=True, timeout=60, check=True)
        orphan = b"bytes no submission names"
        sha = hashlib.sha256(orphan).hexdigest()
        path = os.path.join(data, "blobs", sha[:2], sha[2:])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(orphan)
        p = subprocess.run([KILN, "admin", "gc", "--data", data], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "Deleted 0" in p.stdout and os.path.exists(path), (p.stdout, p.stderr)
        os.utime(path, (1_000_000_000, 1_000_000_000))  # written long ago: past the grace period
        p = subprocess.run([KILN, "admin", "gc", "--data", data], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and f"Deleted 1 unreferenced file ({len(orphan)} bytes)" in p.stdout, (p.stdout, p.stderr)
        assert not os.path.exists(path)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_cpu_without_avx2_is_refused_at_start():
    # A real Sandy Bridge flags line (AVX but no AVX2, FMA or F16C): kiln must stop with a message naming them,
    # before any engine code could run an instruction the CPU lacks.
    cpuinfo = write("cpuinfo-sandybridge", (
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic "
        "sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx lm constant_tsc pni pclmulqdq ssse3 cx16 "
        "sse4_1 sse4_2 x2apic popcnt aes xsave avx lahf_lm\n").encode())
    env = dict(os.environ, KILN_CPUINFO=cpuinfo)
    for args in (["--help"], ["generate", "--help"], ["serve", "--port", "0"]):
        p = subprocess.run([KILN, *args], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 3, (args, p.returncode, p.stdout, p.stderr)
        assert "lacks AVX2, FMA, F16C" in p.stderr and p.stdout == "", (args, p.stderr)


try:
    for test in (test_cpu_without_avx2_is_refused_at_start, test_login, test_create, test_validation_before_run, test_list_and_show, test_unreachable_server,
                 test_submit_text, test_submit_files, test_daily_limit_stops_run, test_queue_and_review, test_leaderboard,
                 test_publish, test_export_text, test_export_media, test_export_refuses_tampering, test_passwords_from_stdin_never_argv,
                 test_admin_gc_deletes_only_unnamed_old_blobs):
        R.check(test.__name__, test)
    if not try_datasets():
        print("note  `datasets` is not importable; the layouts were checked by hand, not loaded with it")
finally:
    srv.cleanup()
    shutil.rmtree(work, ignore_errors=True)
R.finish()
