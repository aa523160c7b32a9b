"""Kiln's own generator: the tiny gpt2, bloom, glm (GlmForCausalLM) and chatglm (ChatGLMModel layout) fixture models
converted to F32 GGUF files (and, but for chatglm, Q8_0 ones) by llama.cpp's own converter (`convert_hf_to_gguf.py` and its `conversion/` package, from
the llama.cpp sources vendored in the llama-cpp-python 0.3.36 sdist), so Kiln's GGUF loader is checked against the
real converter's tensor names and layouts (GPT-2's transposed Conv1D weights, BLOOM's q|k|v regrouping, GLM as
llama.cpp's "chatglm" architecture). The reference logits stay those of `models/<family>/reference.safetensors`
(transformers); `models/chatglm` holds the `models/glm` network.

Two things a published checkpoint has and these tiny ones lack are added to a temporary copy of each folder, and
nothing else changes: GPT-2's `n_ctx` (= `n_positions`, as every published GPT-2 config.json has it), ChatGLM's
`vocab_size` (= `padded_vocab_size`). The tiny trained tokenizers match none of the converter's known pre-tokenizer
hashes, so `tokenizer.ggml.pre` is written as "gpt-2" (their split is GPT-2's). Run from the repository root:

    tar xzf llama_cpp_python-0.3.36.tar.gz   # pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36
    LLAMA_CPP=llama_cpp_python-0.3.36/vendor/llama.cpp .venv-bench/bin/python Tests/Fixtures/gguf_archs/make.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
models = os.path.join(os.path.dirname(here), "models")
llama_cpp = os.path.abspath(os.environ["LLAMA_CPP"])

runner = """
import sys
sys.argv = sys.argv[1:]
sys.path.insert(0, %r)
import conversion.base as base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
import runpy
runpy.run_path(%r, run_name="__main__")
""" % (llama_cpp, os.path.join(llama_cpp, "convert_hf_to_gguf.py"))

for family in ("gpt2", "bloom", "glm", "chatglm"):
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, family)
        shutil.copytree(os.path.join(models, family), folder, ignore=shutil.ignore_patterns("lora*", "reference*", "generate.json"))
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        if family == "gpt2":
            config.setdefault("n_ctx", config["n_positions"])
        if family == "chatglm":
            config.setdefault("vocab_size", config["padded_vocab_size"])
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        for outtype in ("f32", "q8_0") if family != "chatglm" else ("f32",):
            out = os.path.join(here, f"{family}.{outtype}.gguf")
            subprocess.run([sys.executable, "-c", runner, "convert", folder, "--outtype", outtype, "--outfile", out], check=True,
                           cwd=llama_cpp)
            print(family, outtype, os.path.getsize(out), "bytes")

# llama.cpp's own logits on the files it can load (it sizes GPT-2's MLP from feed_forward_length, so not gpt2): the
# first reference row's real tokens, every position, through llama-cpp-python 0.3.36 (2 threads, float16 KV cache).
import numpy as np
from llama_cpp import Llama
from safetensors.numpy import load_file, save_file

peer = {}
for family in ("bloom", "glm"):
    reference = load_file(os.path.join(models, family, "reference.safetensors"))
    ids = [int(i) for i, m in zip(reference["input_ids"][0], reference["attention_mask"][0]) if m == 1]
    peer[f"{family}.input_ids"] = np.array(ids, dtype=np.int64)
    for outtype in ("f32", "q8_0"):
        llm = Llama(os.path.join(here, f"{family}.{outtype}.gguf"), n_ctx=64, logits_all=True, verbose=False, n_threads=2)
        llm.eval(ids)
        peer[f"{family}.{outtype}.logits"] = np.array(llm.scores[:len(ids)], dtype=np.float32)
save_file(peer, os.path.join(here, "llama_cpp_logits.safetensors"))
print("llama.cpp logits:", sorted(peer))
