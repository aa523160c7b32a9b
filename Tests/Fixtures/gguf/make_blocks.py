# Expected values for Tests/KilnModelsTests/LoadingGGUFExpected.swift: 2 blocks per type, dequantised with
# gguf 0.19.0 gguf.quants.dequantize (numpy 2.4.6, Python 3.11). Run: python3 make_blocks.py > blocks.txt, then the
# (type, hex, values) triples are pasted into LoadingGGUFExpected.swift.
import numpy as np, gguf
from gguf.quants import dequantize
from gguf.constants import GGMLQuantizationType as T, GGML_QUANT_SIZES
rng = np.random.RandomState(1234)
out = []
def f16bytes(v): return np.array([v], dtype='<f2').tobytes()
for name, t in [('q4_0', T.Q4_0), ('q4_1', T.Q4_1), ('q8_0', T.Q8_0), ('q4_K', T.Q4_K), ('q6_K', T.Q6_K)]:
    bs, ts = GGML_QUANT_SIZES[t]
    blocks = bytearray()
    for b in range(2):
        raw = bytearray(rng.randint(0, 256, size=ts, dtype=np.uint8).tobytes())
        d = f16bytes(0.0123 * (b + 1)); m = f16bytes(-0.25 + 0.1 * b)
        if t in (T.Q4_0, T.Q8_0): raw[0:2] = d
        elif t == T.Q4_1: raw[0:2] = d; raw[2:4] = m
        elif t == T.Q4_K: raw[0:2] = d; raw[2:4] = f16bytes(0.004 * (b + 1))
        elif t == T.Q6_K: raw[208:210] = d
        blocks += raw
    arr = np.frombuffer(bytes(blocks), dtype=np.uint8).reshape(1, -1)
    vals = dequantize(arr, t).reshape(-1)
    assert vals.size == 2 * bs
    out.append((name, bytes(blocks).hex(), ', '.join(np.format_float_positional(np.float32(v), unique=True, trim='-') for v in vals)))
for name, hx, vals in out:
    print(f'"{name}": ("{hx}",\n [{vals}]),')
