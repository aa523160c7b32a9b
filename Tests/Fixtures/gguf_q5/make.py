"""Kiln's own generator: Q5_0 and Q5_1 blocks and their dequantisation by gguf-py (gguf 0.19.0, llama.cpp's own Python
package, `gguf.quants.dequantize`), for the GGUF reader's tests. The blocks are random bytes with finite float16 scales,
so every pattern of low nibbles and high bits occurs. Run from the repository root with a Python that has numpy,
safetensors and gguf:

    .venv-bench/bin/python Tests/Fixtures/gguf_q5/make.py
"""
import numpy as np
from gguf import GGMLQuantizationType, quants
from safetensors.numpy import save_file

rng = np.random.default_rng(5)
tensors = {}
for name, kind, size in (("q5_0", GGMLQuantizationType.Q5_0, 22), ("q5_1", GGMLQuantizationType.Q5_1, 24)):
    rows, blocks = 3, 4  # a (3, 128) matrix
    raw = rng.integers(0, 256, size=(rows, blocks, size), dtype=np.uint8)
    scales = rng.uniform(-0.05, 0.05, size=(rows, blocks, 2)).astype(np.float16)  # d, and m for Q5_1
    raw[..., 0:2] = scales[..., 0:1].view(np.uint8)
    if kind == GGMLQuantizationType.Q5_1:
        raw[..., 2:4] = scales[..., 1:2].view(np.uint8)
    raw = raw.reshape(rows, blocks * size)
    tensors[f"{name}.blocks"] = raw
    tensors[f"{name}.dequantized"] = quants.dequantize(raw, kind).astype(np.float32)
save_file(tensors, "Tests/Fixtures/gguf_q5/q5_blocks.safetensors")
