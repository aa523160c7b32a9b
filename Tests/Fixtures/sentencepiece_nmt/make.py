"""Kiln's own generator: two tiny SentencePiece models trained with normalization rules that carry a precompiled
charsmap, and `sentencepiece`'s own encoding of texts where the charsmap and plain NFKC disagree. Run from the
repository root with a Python that has sentencepiece (0.2.x):

    .venv-bench/bin/python Tests/Fixtures/sentencepiece_nmt/make.py

- `unigram_nmt_nfkc.model`: Unigram, `nmt_nfkc` (NFKC plus the NMT rules: control characters dropped, the many
  space characters folded to " "), default whitespace handling.
- `bpe_nmt_nfkc_cf.model`: BPE, `nmt_nfkc_cf` (the same with case folding), byte fallback, `add_dummy_prefix` off.
`cases.jsonl`: per text and model, `sp.normalize(text)`, `sp.encode(text)` ids and pieces.
"""
import io
import json
import os
import random

import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
random.seed(7)
words = ("the quick brown fox jumps over lazy dogs while tokenizers learn pieces from text and numbers like 12 345 "
         "café naïve résumé Straße ﬁle ﬂow Ｆｕｌｌ ｗｉｄｔｈ ①②③ Ⅻ ㎏ ｶﾀｶﾅ 한국어 日本語 テキスト ½ ¼ ™ … – — ‘quotes’ “double”").split()
lines = [" ".join(random.choice(words) for _ in range(random.randint(3, 12))) for _ in range(3000)]
corpus = "\n".join(lines)

specs = {
    "unigram_nmt_nfkc": dict(model_type="unigram", vocab_size=400, normalization_rule_name="nmt_nfkc"),
    "bpe_nmt_nfkc_cf": dict(model_type="bpe", vocab_size=400, normalization_rule_name="nmt_nfkc_cf", byte_fallback=True,
                            add_dummy_prefix=False),
}
texts = [
    "Hello world", "  leading and   inner  spaces ", "no\u00a0break\u00a0space", "ideographic\u3000space",
    "thin\u2009space and en\u2002space", "zero\u200bwidth\u200cjoiner\u200d", "soft\u00adhyphen", "tab\tand\nnewline\r\n",
    "control\x01\x02\x7fchars", "ﬁle ﬂow ﬀ", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "①②③ ⑩", "Ⅻ ⅻ", "㎏ ㎞ ℃", "ｶﾀｶﾅ ﾊﾟ",
    "e\u0301 cafe\u0301", "Straße STRASSE", "½ ¼ ™ …", "‘quotes’ “double” – —", "한국어 日本語", "\ufeffbom",
    "x\u2028line\u2029para", "", "   ", "MiXeD CaSe Words", "emoji 😀 here",
]
rows = []
for name, options in specs.items():
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, character_coverage=1.0,
                                   bos_id=-1, eos_id=-1, unk_id=0, hard_vocab_limit=False, **options)
    with open(os.path.join(here, f"{name}.model"), "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    for text in texts:
        ids = sp.encode(text)
        rows.append({"model": name, "text": text, "normalized": sp.normalize(text), "ids": ids,
                     "pieces": [sp.id_to_piece(i) for i in ids]})
with open(os.path.join(here, "cases.jsonl"), "w") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(len(rows), "cases")

# The unigram model as a tokenizer.json with the `Precompiled` normalizer (the T5/ALBERT/XLM-R shape transformers'
# converters write), built and run by the tokenizers library: `precompiled` is that normalizer alone on each text,
# `ids` the whole pipeline's encoding.
from sentencepiece import sentencepiece_model_pb2
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import Unigram

proto = sentencepiece_model_pb2.ModelProto()
with open(os.path.join(here, "unigram_nmt_nfkc.model"), "rb") as f:
    proto.ParseFromString(f.read())
charsmap = proto.normalizer_spec.precompiled_charsmap
tokenizer = Tokenizer(Unigram([(p.piece, p.score) for p in proto.pieces], unk_id=0))
tokenizer.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
tokenizer.save(os.path.join(here, "precompiled_tokenizer.json"))
alone = normalizers.Precompiled(charsmap)
with open(os.path.join(here, "precompiled_cases.jsonl"), "w") as f:
    for text in texts + ["e\u0301\u0301x", "a\u200d\u200db", "\u1100\u1161\u11a8 한"]:
        f.write(json.dumps({"text": text, "precompiled": alone.normalize_str(text), "ids": tokenizer.encode(text).ids},
                           ensure_ascii=False) + "\n")
print("precompiled cases written")
