#!/usr/bin/env python3
"""The baselines `kiln-bench knowledge` measures Kiln against, in .venv-bench (scripts/bench-setup):

  ann        hnswlib and faiss-cpu HNSW (inner product) on the same float32 vectors: build time, then recall@10 and
             queries/s over an ef sweep; also writes the exact top-10 of every query (numpy) for Kiln's recall.
  embed      sentence-transformers all-MiniLM-L6-v2 throughput (sentences/s) on the same sentences, same batch size.
  retrieval  known-item search over a JSON corpus: rank_bm25 BM25Okapi (with Kiln's tokenisation, re.findall(r"\\w+",
             lower)) and sentence-transformers + faiss exact inner product; nDCG@10 and recall@10.

Each prints one JSON line last. Threads: --threads for every library (OpenMP, torch and hnswlib alike).
"""
import argparse, json, math, os, re, sys, time


def ann(args):
    import numpy as np
    import hnswlib, faiss
    data = np.fromfile(args.vectors, dtype="<f4").reshape(-1, args.dim)
    queries = np.fromfile(args.queries, dtype="<f4").reshape(-1, args.dim)
    truth = np.empty((len(queries), 10), dtype="<i4")
    for start in range(0, len(queries), 256):
        scores = queries[start:start + 256] @ data.T
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        truth[start:start + 256] = np.take_along_axis(top, order, axis=1)
    truth.tofile(args.truth)
    truth_sets = [set(row) for row in truth]
    efs = [int(x) for x in args.efs.split(",")]

    def sweep(search):
        rows = []
        for ef in efs:
            best = 0.0
            for _ in range(args.repeats):
                began = time.perf_counter()
                labels = search(ef)
                best = max(best, len(queries) / (time.perf_counter() - began))
            recall = sum(len(truth_sets[i] & set(labels[i].tolist())) for i in range(len(queries))) / (10 * len(queries))
            rows.append({"ef": ef, "recall": recall, "qps": best})
        return rows

    results = {}
    index = hnswlib.Index(space="ip", dim=args.dim)
    index.init_index(max_elements=len(data), M=args.m, ef_construction=args.ef_construction, random_seed=100)
    index.set_num_threads(args.threads)
    began = time.perf_counter()
    index.add_items(data, np.arange(len(data)), num_threads=args.threads)
    build = time.perf_counter() - began

    def hnsw_search(ef):
        index.set_ef(max(ef, 10))
        return index.knn_query(queries, k=10, num_threads=args.threads)[0]
    results["hnswlib"] = {"version": hnswlib.__version__ if hasattr(hnswlib, "__version__") else "?", "build_s": build, "sweep": sweep(hnsw_search)}
    del index

    faiss.omp_set_num_threads(args.threads)
    flat = faiss.IndexHNSWFlat(args.dim, args.m, faiss.METRIC_INNER_PRODUCT)
    flat.hnsw.efConstruction = args.ef_construction
    began = time.perf_counter()
    flat.add(data)
    build = time.perf_counter() - began

    def faiss_search(ef):
        flat.hnsw.efSearch = max(ef, 10)
        return flat.search(queries, 10)[1]
    results["faiss"] = {"version": faiss.__version__, "build_s": build, "sweep": sweep(faiss_search)}
    print(json.dumps(results))


def embed(args):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(args.threads)
    sentences = json.load(open(args.sentences))
    model = SentenceTransformer(args.model, device="cpu")
    model.encode(sentences[:args.batch], batch_size=args.batch)
    best = 0.0
    for _ in range(args.repeats):
        began = time.perf_counter()
        model.encode(sentences, batch_size=args.batch, normalize_embeddings=True)
        best = max(best, len(sentences) / (time.perf_counter() - began))
    import sentence_transformers
    print(json.dumps({"sentences_per_s": best, "torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__}))


def metrics(ranked, relevant):
    ndcg = recall = 0.0
    for ids, answer in zip(ranked, relevant):
        if answer in ids[:10]:
            rank = ids.index(answer)
            ndcg += 1 / math.log2(rank + 2)
            recall += 1
    return {"ndcg10": ndcg / len(relevant), "recall10": recall / len(relevant)}


def retrieval(args):
    import numpy as np
    import faiss, torch
    from rank_bm25 import BM25Okapi
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    corpus = json.load(open(args.corpus))
    documents, queries = corpus["documents"], corpus["queries"]
    relevant = [q["document"] for q in queries]
    tokenize = lambda text: re.findall(r"\w+", text.lower())
    began = time.perf_counter()
    bm25 = BM25Okapi([tokenize(d) for d in documents])
    lexical = []
    for q in queries:
        scores = bm25.get_scores(tokenize(q["text"]))
        top = np.argsort(-scores, kind="stable")[:10]
        lexical.append([int(i) for i in top])
    bm25_s = time.perf_counter() - began
    model = SentenceTransformer(args.model, device="cpu")
    began = time.perf_counter()
    doc_vectors = model.encode(documents, batch_size=32, normalize_embeddings=True).astype("float32")
    query_vectors = model.encode([q["text"] for q in queries], batch_size=32, normalize_embeddings=True).astype("float32")
    flat = faiss.IndexFlatIP(doc_vectors.shape[1])
    flat.add(doc_vectors)
    dense = [[int(i) for i in row] for row in flat.search(query_vectors, 10)[1]]
    dense_s = time.perf_counter() - began
    print(json.dumps({"rank_bm25": {**metrics(lexical, relevant), "seconds": bm25_s},
                      "sentence_transformers_faiss": {**metrics(dense, relevant), "seconds": dense_s}}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("ann")
    a.add_argument("--vectors", required=True); a.add_argument("--queries", required=True); a.add_argument("--truth", required=True)
    a.add_argument("--dim", type=int, default=384); a.add_argument("--m", type=int, default=16)
    a.add_argument("--ef-construction", type=int, default=200); a.add_argument("--efs", default="10,16,24,32,48,64,96,128,192,256,384,512")
    a.add_argument("--threads", type=int, default=os.cpu_count()); a.add_argument("--repeats", type=int, default=2)
    e = sub.add_parser("embed")
    e.add_argument("--sentences", required=True); e.add_argument("--model", required=True); e.add_argument("--batch", type=int, default=32)
    e.add_argument("--threads", type=int, default=os.cpu_count()); e.add_argument("--repeats", type=int, default=2)
    r = sub.add_parser("retrieval")
    r.add_argument("--corpus", required=True); r.add_argument("--model", required=True)
    r.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    {"ann": ann, "embed": embed, "retrieval": retrieval}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
