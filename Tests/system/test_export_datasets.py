#!/usr/bin/env python3
"""Every layout `kiln datanet export` writes loads with the real Hugging Face `datasets`, and what it loads is exactly
the published version: per split, the rows' ids equal the manifest's (none missing, none extra, none twice), and each
row's text or file hashes to the manifest's SHA-256.

A real `kiln serve` gets a text, an image and an audio Datanet with items in both splits, all through the CLI (create,
submit, review, publish, export). Then `load_dataset("json")`, `load_dataset("imagefolder")` and
`load_dataset("audiofolder")` read the exports offline, with a throwaway cache. Images are also decoded with Pillow and
must have the size submitted; audio is not decoded (that needs torch and torchcodec, see
allow_audiofolder_without_torch). A last check tampers with copies of an export (a file changed, a row dropped, a row
doubled) and expects the comparison to fail, so a pass means something.

Run from the project root: python3 Tests/system/test_export_datasets.py (KILN_BIN names the binary).
"""
import hashlib, io, json, math, os, shutil, struct, subprocess, sys, tempfile, unicodedata, wave, zlib

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_server import KILN, KilnServer, Results  # noqa: E402

work = tempfile.mkdtemp(prefix="kiln-export-datasets-")
# Set before `datasets` is imported: it reads them once. Nothing is downloaded and the cache goes away with `work`.
os.environ.update(HF_HOME=os.path.join(work, "hf"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                  HF_HUB_DISABLE_TELEMETRY="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
import datasets  # noqa: E402
from datasets import Audio, Image  # noqa: E402

R = Results()
srv = KilnServer().start()
ctx = {}
PASSWORD = "correct horse battery"
TEXTS = ["Plain ASCII, nothing odd.", "Quotes \"inside\" and a backslash \\ too.", "Two\nlines, and a tab\there.",
         "Ünïcödé: naïve café, 日本語, emoji 🍞.", "{\"looks\": \"like JSON\"}", "Number-ish: 12345", "null",
         "Zero-width\u200bspace and a\u00a0non-breaking one.", "Carriage\r\nreturns\rinside.", "  Decomposed cafe\u0301, padded.\n"]
IMAGE_SIZES = [(16, 16), (20, 12), (9, 31), (64, 2), (8, 8), (33, 17), (12, 40), (25, 25)]
AUDIO_TONES = [(0.6, 220), (0.7, 330), (0.8, 440), (0.9, 550), (1.0, 660), (1.1, 770), (1.2, 880), (1.3, 990)]


# MARK: - Helpers

def kiln(*args):
    """Runs the CLI as the curator; fails on a non-zero exit."""
    env = dict(os.environ, KILN_SERVER=srv.url, KILN_TOKEN=ctx["token"])
    p = subprocess.run([KILN, *args], env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, f"kiln {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def png(width, height, seed):
    """A real RGB PNG (IHDR, zlib-compressed IDAT, IEND with CRCs)."""
    raw = b"".join(b"\x00" + bytes((x * seed + y * 7) % 256 for x in range(width * 3)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def wav(seconds, frequency, rate=8000):
    """A mono 16-bit PCM WAV of a sine tone."""
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / rate))) for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buffer.getvalue()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def as_stored(text):
    """What the server keeps of a submitted text (TextItem.normalise): NFC, LF line ends, no whitespace at either end."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()


def text_sha256(text):
    """A plain text item's hash: SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8)."""
    return sha256(json.dumps({"text": text}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def publish_and_export(slug, item_ids):
    """Accepts the items, publishes v1, exports it with the CLI; returns the manifest and the export folder."""
    for item_id in item_ids:
        kiln("datanet", "review", str(item_id), "--accept")
    kiln("datanet", "publish", slug)
    manifest = requests.get(f"{srv.url}/api/datanets/{slug}/versions/1", timeout=30).json()
    splits = {i["split"] for i in manifest["items"]}
    assert manifest["count"] == len(item_ids) and splits == {"train", "validation"}, (manifest["count"], splits)
    out = os.path.join(work, f"{slug}-v1")
    kiln("datanet", "export", slug, "--version", "1", "--out", out, "--no-progress")
    return manifest, out


def submit_files(slug, files):
    """Submits files through the CLI; returns their submission ids, in order."""
    paths = []
    for name, data in files.items():
        paths.append(os.path.join(work, name))
        with open(paths[-1], "wb") as f:
            f.write(data)
    rows = [json.loads(line) for line in kiln("datanet", "submit", slug, "--json", "--no-progress", *paths).splitlines()]
    assert [r["status"] for r in rows] == ["pending"] * len(files), rows
    return [r["id"] for r in rows]


def file_bytes(cell):
    """The bytes behind an undecoded Image/Audio cell ({"path", "bytes"})."""
    if cell["bytes"] is not None:
        return cell["bytes"]
    with open(cell["path"], "rb") as f:
        return f.read()


def allow_audiofolder_without_torch():
    """Lets `audiofolder` load where torch and torchcodec are missing (they are not installed for the tests).

    `datasets` >= 4 imports both at the top of `Audio.encode_example`, even for a file path, which it only records as
    {"bytes": None, "path": path}; `audiofolder` hands it exactly that, so undecoded loading needs neither. This
    replaces the method for paths alone; with torch and torchcodec installed nothing is replaced.
    """
    if datasets.config.TORCH_AVAILABLE and datasets.config.TORCHCODEC_AVAILABLE:
        return
    encode = Audio.encode_example
    Audio.encode_example = lambda self, value: {"bytes": None, "path": value} if isinstance(value, str) else encode(self, value)
    print("note  torch/torchcodec are not installed: audio paths are recorded without them, and audio is not decoded", flush=True)


# MARK: - Comparing a loaded dataset with its manifest

def check_rows(loaded, manifest, columns, content_sha256):
    """Per split: the columns are there, the rows' ids equal the manifest's (none missing, extra or twice), and each
    row's content hashes to its manifest entry's SHA-256."""
    assert sorted(loaded) == ["train", "validation"], list(loaded)
    by_id = {i["id"]: i for i in manifest["items"]}
    for split, rows in loaded.items():
        assert not columns - set(rows.column_names), f"{split}: columns {rows.column_names}, wanted {sorted(columns)}"
        expected = sorted(i["id"] for i in manifest["items"] if i["split"] == split)
        ids = sorted(rows["id"])
        assert ids == expected, f"{split}: loaded ids {ids}, manifest ids {expected}"
        for row in rows:
            entry = by_id[row["id"]]
            differ = [key for key in ("sha256", "split", "contributor", "format") if row[key] != entry[key]]
            assert not differ and row["split"] == split, f"{split}: item {row['id']} differs from the manifest in {differ}"
            assert content_sha256(row) == entry["sha256"], f"{split}: item {row['id']}'s content does not hash to the manifest"


def check_media(builder, out, manifest, column):
    """Loads an export with `imagefolder`/`audiofolder` and compares it, files undecoded, with the manifest."""
    loaded = datasets.load_dataset(builder, data_dir=out)
    feature = Image(decode=False) if column == "image" else Audio(decode=False)
    raw = datasets.DatasetDict({split: rows.cast_column(column, feature) for split, rows in loaded.items()})
    check_rows(raw, manifest, {column, "id", "sha256", "contributor", "split", "format"},
               lambda row: sha256(file_bytes(row[column])))
    return loaded


# MARK: - Tampering with a copy of an export

def metadata_lines(folder):
    with open(os.path.join(folder, "metadata.jsonl")) as f:
        return f.readlines()


def write_metadata(folder, lines):
    with open(os.path.join(folder, "metadata.jsonl"), "w") as f:
        f.writelines(lines)


def change_a_file(folder):
    with open(os.path.join(folder, json.loads(metadata_lines(folder)[0])["file_name"]), "ab") as f:
        f.write(b"\0")


def drop_a_row(folder):
    lines = metadata_lines(folder)
    os.remove(os.path.join(folder, json.loads(lines[0])["file_name"]))
    write_metadata(folder, lines[1:])


def double_a_row(folder):
    lines = metadata_lines(folder)
    write_metadata(folder, lines + lines[:1])


# MARK: - Tests

def t_setup():
    r = requests.post(srv.url + "/api/auth/register", json={"username": "curator", "password": PASSWORD}, timeout=30)
    assert r.status_code == 201, r.text
    r = requests.post(srv.url + "/api/auth/login", json={"username": "curator", "password": PASSWORD}, timeout=30)
    ctx["token"] = r.json()["token"]
    kiln("datanet", "create", "notes", "--title", "Notes", "--kind", "text", "--min-chars", "1", "--validation-percent", "50")
    kiln("datanet", "create", "pics", "--title", "Pictures", "--kind", "image", "--formats", "png", "--min-pixels", "64",
         "--validation-percent", "50")
    kiln("datanet", "create", "tones", "--title", "Tones", "--kind", "audio", "--formats", "wav", "--min-seconds", "0.5",
         "--validation-percent", "50")


def t_text_export_loads_as_json():
    args = [a for text in TEXTS for a in ("--text", text)]
    rows = [json.loads(line) for line in kiln("datanet", "submit", "notes", "--json", "--no-progress", *args).splitlines()]
    assert [r["status"] for r in rows] == ["pending"] * len(TEXTS), rows
    manifest, out = publish_and_export("notes", [r["id"] for r in rows])
    loaded = datasets.load_dataset("json", data_files={split: os.path.join(out, f"{split}.jsonl") for split in ("train", "validation")})
    check_rows(loaded, manifest, {"text", "id", "sha256", "contributor", "split", "format"}, lambda row: text_sha256(row["text"]))
    texts = sorted(text for rows in loaded.values() for text in rows["text"])
    assert texts == sorted(map(as_stored, TEXTS)), texts


def t_image_export_loads_as_imagefolder():
    files = {f"pic{i}.png": png(w, h, 3 + i) for i, (w, h) in enumerate(IMAGE_SIZES)}
    manifest, out = publish_and_export("pics", submit_files("pics", files))
    ctx["pics"] = (manifest, out)
    loaded = check_media("imagefolder", out, manifest, "image")
    sizes = {sha256(data): size for data, size in zip(files.values(), IMAGE_SIZES)}
    for rows in loaded.values():
        for row in rows:  # decoded by Pillow
            assert row["image"].size == sizes[row["sha256"]], (row["id"], row["image"].size)


def t_audio_export_loads_as_audiofolder():
    allow_audiofolder_without_torch()
    files = {f"tone{i}.wav": wav(seconds, hz) for i, (seconds, hz) in enumerate(AUDIO_TONES)}
    manifest, out = publish_and_export("tones", submit_files("tones", files))
    loaded = check_media("audiofolder", out, manifest, "audio")
    assert sorted(sha for rows in loaded.values() for sha in rows["sha256"]) == sorted(sha256(data) for data in files.values())


def t_comparison_catches_tampering():
    # Each copy is changed in one way the comparison must notice; any other error fails the test as it is.
    manifest, out = ctx["pics"]
    for name, tamper in (("a changed file", change_a_file), ("a dropped row", drop_a_row), ("a doubled row", double_a_row)):
        copy = os.path.join(work, "tampered-" + tamper.__name__)
        shutil.copytree(out, copy)
        tamper(os.path.join(copy, "train"))
        try:
            check_media("imagefolder", copy, manifest, "image")
        except AssertionError:
            continue
        raise AssertionError(f"{name} went unnoticed")


def cleanup():
    srv.cleanup()
    shutil.rmtree(work, ignore_errors=True)


R.run_all(globals(), cleanup)
