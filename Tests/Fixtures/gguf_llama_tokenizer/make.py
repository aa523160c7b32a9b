"""Kiln's own generator: the llama2 fixture's SentencePiece vocabulary written as a "llama"-style GGUF by gguf-py
(gguf 0.19.0, llama.cpp's own writer, as its converter writes tokens/scores/types), and transformers' reading of that
GGUF (`AutoTokenizer.from_pretrained(dir, gguf_file=…)`, transformers 5.25) on the 47 llama2 tokenizer cases. Run from
the repository root with a Python that has gguf, sentencepiece, protobuf and transformers:

    .venv-bench/bin/python Tests/Fixtures/gguf_llama_tokenizer/make.py
"""
import json
import os

import numpy as np
import sentencepiece as spm
from gguf import GGUFWriter, TokenType
from transformers import AutoTokenizer

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sp = spm.SentencePieceProcessor(model_file=os.path.join(root, "tokenizers/llama2/tokenizer.model"))

path = os.path.join(here, "llama_tokenizer.gguf")
w = GGUFWriter(path, "llama")
w.add_block_count(1)
w.add_context_length(64)
w.add_embedding_length(8)
w.add_feed_forward_length(16)
w.add_head_count(2)
w.add_head_count_kv(2)
w.add_layer_norm_rms_eps(1e-5)
w.add_tokenizer_model("llama")
tokens, scores, types = [], [], []
for i in range(sp.vocab_size()):
    tokens.append(sp.id_to_piece(i).encode("utf-8"))
    scores.append(sp.get_score(i))
    if sp.is_unknown(i):
        types.append(TokenType.UNKNOWN)
    elif sp.is_control(i):
        types.append(TokenType.CONTROL)
    elif sp.is_unused(i):
        types.append(TokenType.UNUSED)
    elif sp.is_byte(i):
        types.append(TokenType.BYTE)
    else:
        types.append(TokenType.NORMAL)
w.add_token_list(tokens)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_bos_token_id(sp.bos_id())
w.add_eos_token_id(sp.eos_id())
w.add_unk_token_id(sp.unk_id())
w.add_add_bos_token(True)
w.add_add_eos_token(False)
w.add_tensor("token_embd.weight", np.zeros((sp.vocab_size(), 8), dtype=np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

tok = AutoTokenizer.from_pretrained(here, gguf_file="llama_tokenizer.gguf")
rows = []
with open(os.path.join(root, "tokenizers/llama2/cases.jsonl")) as f:
    for line in f:
        text = json.loads(line)["text"]
        ids = tok(text)["input_ids"]
        plain = tok(text, add_special_tokens=False)["input_ids"]
        rows.append({
            "text": text, "ids": ids, "ids_no_special": plain, "tokens": tok.convert_ids_to_tokens(ids),
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
with open(os.path.join(here, "cases.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(type(tok).__name__, len(rows), "cases")
