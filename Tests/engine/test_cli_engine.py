#!/usr/bin/env python3
"""`kiln generate` and `kiln tokenize` through the CLI against the repository's fixtures.

Greedy `kiln generate --json` must equal each model fixture's generate.json (transformers' greedy generate,
see Tests/Fixtures/README) for every family folder that has weights; `kiln tokenize --json` must equal the
tokenizer cases (ids with and without special tokens, and tokens) for a few styles; bad paths fail cleanly.

Run from the project root: python3 Tests/engine/test_cli_engine.py (KILN_BIN names the binary, default
.build/debug/kiln). Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import json, os, subprocess, sys, traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KILN = os.path.abspath(os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "debug", "kiln")))
FX = os.path.join(ROOT, "Tests", "Fixtures")
passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"PASS {name}")
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        failed += 1
        print(f"FAIL {name}: {e}")
        if not isinstance(e, AssertionError):
            traceback.print_exc()


def kiln(*args):
    return subprocess.run([KILN, *args], capture_output=True, text=True, timeout=300)


def kiln_json(*args):
    r = kiln(*args)
    assert r.returncode == 0, f"kiln {' '.join(args[:1])} exit {r.returncode}: {r.stderr[-300:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def generation(folder):
    def f():
        g = json.load(open(os.path.join(folder, "generate.json")))
        assert g["prompts"], "generate.json has no prompts"
        for p in g["prompts"]:
            out = kiln_json("generate", "--model", folder, "--prompt", p["prompt"], "--max-new-tokens",
                            str(len(p["new_ids"])), "--greedy", "--json")
            assert list(out) == ["prompt_ids", "ids", "text"], f"keys {list(out)}"
            assert out["prompt_ids"] == p["input_ids"], f"prompt ids {out['prompt_ids']} != {p['input_ids']}"
            assert out["ids"] == p["new_ids"], f"{p['prompt']!r}: {out['ids']} != {p['new_ids']}"
    return f


def tokenization(style):
    folder = os.path.join(FX, "tokenizers", style)

    def f():
        bad, seen = [], 0
        for line in open(os.path.join(folder, "cases.jsonl")):
            c = json.loads(line)
            if not c["text"] or "\x00" in c["text"]:
                continue  # a command-line argument cannot hold these; the Swift tokenizer tests cover them
            seen += 1
            a = kiln_json("tokenize", "--model", folder, "--text", c["text"], "--json")
            b = kiln_json("tokenize", "--model", folder, "--text", c["text"], "--no-special", "--json")
            if a["ids"] != c["ids"] or a["tokens"] != c["tokens"] or b["ids"] != c["ids_no_special"]:
                bad.append(c["text"][:24])
        assert seen > 0, "no usable cases"
        assert not bad, f"{len(bad)} of {seen} cases differ, e.g. {bad[:3]}"
    return f


def gguf_refused():
    r = kiln("generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi", "--json")
    assert r.returncode != 0, "a .gguf path should fail"
    assert "GGUF models are not supported by `generate` yet" in r.stderr, r.stderr


def bad_folder_refused():
    r = kiln("generate", "--model", os.path.join(FX, "tokenizers"), "--prompt", "hi")
    assert r.returncode == 1 and "not a model folder" in r.stderr, (r.returncode, r.stderr)


def chat_without_model():
    r = subprocess.run([KILN, "chat"], input="hi\n", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "not runnable yet" in r.stderr, (r.returncode, r.stderr)


def seeded_sampling_repeats():
    folder = os.path.join(FX, "models", "llama")
    args = ("generate", "--model", folder, "--prompt", "Hello", "--max-new-tokens", "8", "--temperature", "0.9",
            "--top-p", "0.9", "--seed", "7", "--json")
    a, b = kiln_json(*args), kiln_json(*args)
    assert a == b and len(a["ids"]) == 8, (a, b)


models = os.path.join(FX, "models")
for name in sorted(os.listdir(models)):
    folder = os.path.join(models, name)
    has_weights = os.path.exists(os.path.join(folder, "model.safetensors")) or \
        os.path.exists(os.path.join(folder, "model.safetensors.index.json"))
    if os.path.exists(os.path.join(folder, "generate.json")) and has_weights:
        check(f"generate {name} equals generate.json", generation(folder))
for style in ("gpt2", "llama3", "qwen2", "mistral", "bloom"):
    check(f"tokenize {style} equals cases.jsonl", tokenization(style))
check("a .gguf path is refused with a clear error", gguf_refused)
check("a folder without config.json is refused", bad_folder_refused)
check("chat without --model says the GGUF default is not runnable", chat_without_model)
check("the same seed samples the same ids", seeded_sampling_repeats)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
