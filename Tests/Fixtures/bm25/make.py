"""Kiln's BM25 reference: rank_bm25 0.2.2 `BM25Okapi` scores over a generated corpus of 1,200 documents.

Tokenisation, the rule Kiln's lexical index names as its reference: `re.findall(r"\\w+", text.lower())` (Python 3's
Unicode `\\w`: letters, digits, other numeric characters and the underscore). Writes bm25.json:
{reference, tokenizer, tokenize_cases: [{text, tokens}], corpus: [text], runs: [{k1, b, epsilon, average_idf,
queries: [{text, scores}]}]}. Run: python3 make.py (needs rank_bm25 from PyPI; deterministic, seed 20261206).
"""
import json
import random
import re

import rank_bm25
from rank_bm25 import BM25Okapi


def tokenize(text):
    return re.findall(r"\w+", text.lower())


rng = random.Random(20261206)
# A Zipf-like vocabulary: a few very common words (negative idf, which rank_bm25 floors at epsilon·mean idf),
# mixed-script and accented words, numbers, snake_case and words Python lowercases to more than one code point.
common = ["the", "of", "and", "to", "a", "in", "is", "data", "model"]
words = common + [
    "kiln", "datanet", "version", "publish", "review", "contributor", "ledger", "merkle", "receipt", "adapter",
    "lora", "qlora", "rank", "alpha", "gradient", "token", "prompt", "chat", "knowledge", "chunk", "embedding",
    "café", "naïve", "résumé", "Straße", "İstanbul", "ΣΊΣΥΦΟΣ", "東京", "データ", "모델", "Ωmega", "ﬁnance",
    "snake_case", "x86_64", "3.14", "2026", "½", "Ⅻ", "٣٤", "e=mc²", "C++", "node.js", "foo-bar", "can't",
]
words += [f"term{i}" for i in range(400)]
weights = [1.0 / (i + 1) ** 0.9 for i in range(len(words))]

corpus = []
for d in range(1200):
    length = rng.randint(3, 120)
    picked = rng.choices(words, weights=weights, k=length)
    separators = [" ", " ", " ", ", ", ". ", "\n", " — ", "; ", "\t", "  "]
    corpus.append("".join(w + rng.choice(separators) for w in picked).strip())
corpus[17] = ""  # an empty document: length 0, scores 0
corpus[18] = "!!! ... ---"  # no tokens at all

queries = ["the data model", "kiln ledger receipt", "café naïve", "straße istanbul", "東京 データ",
           "snake_case x86_64", "term5 term5 term17", "term399", "unknownword", "Ⅻ ½ 2026",
           "The THE the", "e=mc² c++ node.js"]

tokenized = [tokenize(t) for t in corpus]
runs = []
for k1, b, eps in [(1.5, 0.75, 0.25), (1.2, 0.3, 0.5)]:
    index = BM25Okapi(tokenized, k1=k1, b=b, epsilon=eps)
    picked = queries if k1 == 1.5 else queries[:4]
    runs.append({"k1": k1, "b": b, "epsilon": eps, "average_idf": index.average_idf,
                 "queries": [{"text": q, "scores": [float(s) for s in index.get_scores(tokenize(q))]} for q in picked]})

cases = ["Hello, World!", "café naïve RÉSUMÉ", "Straße İstanbul ΣΊΣΥΦΟΣ", "東京タワー データ 모델", "snake_case x86_64 3.14",
         "½ Ⅻ ٣٤ e=mc² ⁵", "C++ node.js foo-bar can't", "ﬁnance ǅemal", "tab\there\nnew line", "", "   ", "_ __ a_b"]
with open("bm25.json", "w") as f:
    json.dump({"reference": f"rank_bm25 {rank_bm25.__version__ if hasattr(rank_bm25, '__version__') else '0.2.2'} BM25Okapi",
               "tokenizer": "re.findall(r'\\w+', text.lower())",
               "tokenize_cases": [{"text": c, "tokens": tokenize(c)} for c in cases],
               "corpus": corpus, "runs": runs}, f, ensure_ascii=False)
print(len(corpus), "documents;", sum(len(r["queries"]) for r in runs), "queries")
