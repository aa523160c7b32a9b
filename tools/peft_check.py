#!/usr/bin/env python3
"""PEFT loads Kiln's adapters, and the torch backend trains as Kiln's engine does.

First, `kiln train --backend torch` (tools/torch_train.py) on the whole fixture run: its metrics equal `--backend kiln`'s
within 1e-4. Then a `kiln train` run on each fixture family, loaded with `PeftModel.from_pretrained`.

For each family (llama, qwen2, gpt2, bloom, glm): `kiln train` runs 3 steps on Tests/Fixtures/training/dataset.jsonl
(as plain-text items; fresh PEFT init, seed 1, lr 5e-3 so B moves off zero) into a fresh folder; then, in PyTorch:
  - PeftModel.from_pretrained(base, folder) loads every tensor (no missing or unexpected adapter keys);
  - its logits on a fixed prompt equal Kiln's (`kiln generate --logits`) within 1e-4;
  - greedy generation of 12 tokens equals `kiln generate --adapter folder --greedy`.

Needs torch, transformers and peft: run it in the environment scripts/bench-setup creates, from the project root:
    .venv-bench/bin/python tools/peft_check.py [family ...]      (KILN_BIN names the binary, default .build/debug/kiln)
Ends with "N passed, M failed"; exits non-zero on any failure.
"""
import json, os, subprocess, sys, tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
KILN = os.path.abspath(os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "debug", "kiln")))
FX = os.path.join(ROOT, "Tests", "Fixtures")
TARGETS = {"llama": "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", "qwen2": "all-linear",
           "gpt2": "c_attn,c_proj,c_fc", "bloom": "query_key_value,dense,dense_h_to_4h,dense_4h_to_h",
           "glm": "q_proj,k_proj,v_proj,o_proj,gate_up_proj,down_proj"}
PROMPT = "Kiln fine-tunes models with LoRA"


def kiln(*args):
    r = subprocess.run([KILN, *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"kiln {args[0]} exit {r.returncode}: {r.stderr[-400:]}"
    return r.stdout


def check(family, work):
    import numpy as np
    import peft
    import torch
    import transformers

    base = os.path.join(FX, "models", family)
    out = os.path.join(work, family)
    data = os.path.join(work, "train.jsonl")
    # Plain-text items, so families whose fixture has no chat template (gpt2, bloom) train too.
    items = [json.loads(l) for l in open(os.path.join(FX, "training", "dataset.jsonl")).read().splitlines()[:12]]
    open(data, "w").write("".join(json.dumps({"text": i["instruction"] + "\n" + i["response"]}) + "\n" for i in items))
    kiln("train", "--base", base, "--data", data, "--out", out, "--lora-r", "4", "--lora-alpha", "8", "--target-modules", TARGETS[family],
         "--learning-rate", "5e-3", "--epochs", "1", "--max-steps", "3", "--micro-batch-size", "4", "--max-length", "48",
         "--lr-scheduler", "constant", "--seed", "1")
    mine = json.loads(kiln("generate", "--model", base, "--adapter", out, "--prompt", PROMPT, "--max-new-tokens", "12", "--greedy",
                           "--json", "--logits", os.path.join(work, f"{family}-logits.json")).strip().splitlines()[-1])
    kiln_logits = np.array(json.load(open(os.path.join(work, f"{family}-logits.json")))["logits"], dtype=np.float32)

    model = transformers.AutoModelForCausalLM.from_pretrained(base, attn_implementation="eager", dtype=torch.float32)
    model = peft.PeftModel.from_pretrained(model, out)
    model.eval()
    ids = torch.tensor([mine["prompt_ids"]])
    with torch.no_grad():
        logits = model(ids).logits[0].numpy()
        generated = model.generate(ids, do_sample=False, max_new_tokens=12, min_new_tokens=12, pad_token_id=0)[0, ids.shape[1]:].tolist()
    diff = float(np.max(np.abs(logits - kiln_logits)))
    assert diff <= 1e-4, f"{family}: logits differ by {diff}"
    assert generated == mine["ids"], f"{family}: PEFT greedy {generated} != Kiln {mine['ids']}"
    return diff


def torch_backend(work):
    """`kiln train --backend torch` on the whole fixture run: every step's loss, rate and grad norm, and every eval loss,
    equal the Kiln backend's within 1e-4."""
    lines = open(os.path.join(FX, "training", "dataset.jsonl")).read().splitlines()
    train, val = os.path.join(work, "fx-train.jsonl"), os.path.join(work, "fx-val.jsonl")
    open(train, "w").write("\n".join(lines[:20]) + "\n")
    open(val, "w").write("\n".join(lines[20:24]) + "\n")
    flags = ["--base", os.path.join(FX, "models", "llama"), "--data", train, "--validation", val, "--lora-r", "4", "--lora-alpha", "8",
             "--target-modules", TARGETS["llama"], "--learning-rate", "2e-3", "--epochs", "3", "--micro-batch-size", "4",
             "--gradient-accumulation", "2", "--max-length", "64", "--lr-scheduler", "cosine", "--warmup-steps", "2",
             "--weight-decay", "0.01", "--max-grad-norm", "1.0", "--seed", "3"]
    # Both backends start from one adapter: Kiln's PEFT-style init, saved by a single step at learning rate 0.
    init = os.path.join(work, "backend-init")
    r = subprocess.run([KILN, "train", *flags, "--out", init, "--max-steps", "1", "--learning-rate", "0", "--lr-scheduler", "constant",
                        "--weight-decay", "0"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"init run exit {r.returncode}: {r.stderr[-600:]}"
    flags += ["--init-adapter", init]
    metrics = {}
    for backend in ("kiln", "torch"):
        out = os.path.join(work, f"backend-{backend}")
        env = dict(os.environ, KILN_TORCH_PYTHON=sys.executable)
        r = subprocess.run([KILN, "train", *flags, "--out", out, "--backend", backend], capture_output=True, text=True, timeout=900, env=env)
        assert r.returncode == 0, f"--backend {backend} exit {r.returncode}: {r.stderr[-600:]}"
        metrics[backend] = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
    kiln_lines, torch_lines = metrics["kiln"], metrics["torch"]
    assert [(l["step"], "eval_loss" in l) for l in kiln_lines] == [(l["step"], "eval_loss" in l) for l in torch_lines], (kiln_lines, torch_lines)
    worst = 0.0
    for a, b in zip(kiln_lines, torch_lines):
        for key in ("loss", "grad_norm", "learning_rate", "eval_loss"):
            if key in a:
                worst = max(worst, abs(a[key] - b[key]))
                assert abs(a[key] - b[key]) <= 1e-4, f"step {a['step']} {key}: kiln {a[key]} torch {b[key]}"
    return worst


def main():
    families = sys.argv[1:] or list(TARGETS)
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="kiln-peft-") as work:
        if not sys.argv[1:]:
            try:
                worst = torch_backend(work)
                passed += 1
                print(f"PASS --backend torch equals --backend kiln on the fixture run (max diff {worst:.2e})", flush=True)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"FAIL --backend torch: {e}", flush=True)
        for family in families:
            try:
                diff = check(family, work)
                passed += 1
                print(f"PASS {family}: PEFT loads Kiln's adapter; logits max abs diff {diff:.2e}; greedy ids equal", flush=True)
            except Exception as e:  # noqa: BLE001 - every family is reported
                failed += 1
                print(f"FAIL {family}: {e}", flush=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
