"""llama.cpp's own quantised matrix products, one matrix at a time, for a Q4_K_M re-quantisation of SmolLM2-135M-Instruct
(tests: KilnModelsTests/LlamaCppMatMulTests.swift). Each case is one weight tensor's raw GGUF blocks (blocks/, the same
for every build), the float32 activations llama.cpp multiplied it by (read from its compute graph through the cb_eval callback) and the float32 product
it wrote, for an 11-token prompt (8 rows of whole 4-row groups and 3 left over, the shape that takes every llama.cpp
kernel: tinyBLAS for Q5_0, the tiled kernel for Q6_K, the CPU_REPACK gemm and gemv for Q4_K) and for the one-token step
after it (tinyBLAS, ggml_vec_dot, repack gemv).

    .venv-bench/bin/python tools/llama_peer.py --quantize SHIPPED_Q4_1.gguf /tmp/q4_k_m.gguf q4_k_m
    .venv-bench/bin/python Tests/Fixtures/llamacpp/make_matmul.py /tmp/q4_k_m.gguf avx512
    LLAMA_CPP_LIB_PATH=/path/to/build-avx2/bin .venv-bench/bin/python Tests/Fixtures/llamacpp/make_matmul.py /tmp/q4_k_m.gguf avx2
"""
import ctypes, json, os, sys

import numpy as np
import gguf
import llama_cpp

PROMPT = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2]
# (graph node of the product, graph node of its input, GGUF weight tensor)
CASES = [("Qcur-0", "attn_norm-0", "blk.0.attn_q.weight"),
         ("ffn_out-0", "ffn_swiglu-0", "blk.0.ffn_down.weight"),
         ("ffn_out-3", "ffn_swiglu-3", "blk.3.ffn_down.weight")]


class Tensor(ctypes.Structure):
    # struct ggml_tensor's leading fields (ggml.h), enough to read a float32 node.
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4),
                ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32),
                ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p), ("view_offs", ctypes.c_size_t),
                ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64)]


def main(model, build):
    root = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(root, build, "matmul")
    os.makedirs(out, exist_ok=True)
    # The weights are the same bytes for every build: one copy beside the builds' folders.
    os.makedirs(os.path.join(root, "blocks"), exist_ok=True)
    wanted = {name for case in CASES for name in case[:2]}
    seen = {}

    def callback(pointer, ask, user):
        if ask:
            return True
        t = Tensor.from_address(pointer)
        name = t.name.decode()
        # The first node of each name is the one computed under it (later ones are its reshapes and views).
        if name in wanted and name not in seen and t.type == 0 and t.nb[0] == 4 and t.nb[1] == 4 * t.ne[0]:
            count = t.ne[0] * t.ne[1]
            seen[name] = np.ctypeslib.as_array((ctypes.c_float * count).from_address(t.data)).copy().reshape(t.ne[1], t.ne[0])
        return True

    hook = llama_cpp.ggml_backend_sched_eval_callback(callback)
    # Loaded through Llama for its quiet logging; the context is made again here for the callback.
    llm = llama_cpp.Llama(model_path=model, n_ctx=64, n_threads=2, verbose=False)
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = 64
    params.n_batch = params.n_ubatch = 64
    params.n_threads = params.n_threads_batch = 2
    params.cb_eval = hook
    params.flash_attn_type = 0
    ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
    reader = gguf.GGUFReader(model)
    tensors = {t.name: t for t in reader.tensors}
    manifest = {"llama_cpp_python": llama_cpp.__version__, "prompt": PROMPT, "cases": []}
    for step, ids in (("prompt", PROMPT), ("step", None)):
        seen.clear()
        if ids is None:
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(49152,))
            ids = [int(np.argmax(logits))]
            manifest["step_token"] = ids[0]
        tokens = (llama_cpp.llama_token * len(ids))(*ids)  # kept alive: the batch points into it
        batch = llama_cpp.llama_batch_get_one(tokens, len(ids))
        assert llama_cpp.llama_decode(ctx, batch) == 0
        for product, source, weight in CASES:
            t = tensors[weight]
            rows, columns = int(t.shape[1]), int(t.shape[0])
            stem = weight.replace(".weight", "").replace(".", "_")
            np.asarray(t.data).view(np.uint8).tofile(os.path.join(root, "blocks", stem + ".blocks"))
            seen[source].astype("<f4").tofile(os.path.join(out, f"{stem}.{step}.x.f32"))
            seen[product].astype("<f4").tofile(os.path.join(out, f"{stem}.{step}.y.f32"))
            manifest["cases"].append({"tensor": weight, "type": t.tensor_type.name, "rows": rows, "columns": columns,
                                      "blocks": "blocks/" + stem + ".blocks", "x": f"{stem}.{step}.x.f32", "y": f"{stem}.{step}.y.f32",
                                      "x_rows": int(seen[source].shape[0])})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
