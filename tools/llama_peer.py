"""llama.cpp baseline for `kiln-bench inference` (llama-cpp-python, installed by scripts/bench-setup).

Times llama.cpp on the same GGUF file Kiln runs, with the same thread count, and reports what Kiln's figures are
compared with. Each figure is the best of --repeats runs after one warm-up.

    .venv-bench/bin/python tools/llama_peer.py --model FILE.gguf --prompt-ids 1,2,3,... [--contexts 128,512]
        [--new-tokens 64] [--threads 2] [--repeats 3] [--greedy-prompts JSON] [--json]

  prefill_tokens_per_s[P]   P / the time of one llm.eval over a P-token prompt (cache cleared first)
  decode_tokens_per_s[C]    N / the time of N single-token evals after a C-token prompt (greedy continuation)
  last_logits               the last prompt position's logits (the first prompt of --greedy-prompts, else --prompt-ids)
  greedy[i]                 64 greedy tokens for each prompt id list of --greedy-prompts (a JSON list of lists)

--quantize IN OUT TYPE writes a GGUF re-quantised by llama.cpp's own quantiser (TYPE: q8_0, q4_k_m, q4_0, q4_1) and
exits: the benchmark's Q8_0 and Q4_K_M files are made this way from Kiln's float16 export of the model.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--prompt-ids", default="")
    parser.add_argument("--contexts", default="128")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--greedy-prompts")
    parser.add_argument("--greedy-tokens", type=int, default=64)
    parser.add_argument("--quantize", nargs=3, metavar=("IN", "OUT", "TYPE"))
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def quantize(source, target, kind):
    import llama_cpp

    ftypes = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
              "q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, "q4_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1}
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftypes[kind]
    params.allow_requantize = True  # the shipped file is Q4_1: dequantised and quantised again, as llama-quantize --allow-requantize
    params.nthread = 2
    status = llama_cpp.llama_model_quantize(source.encode(), target.encode(), params)
    if status != 0:
        sys.exit(f"llama.cpp could not quantise {source} to {kind} (status {status})")


def last_logits(llm):
    """The last evaluated position's logits, read from the context: llama-cpp-python keeps `scores` only with
    logits_all, which would make every prefill compute the LM head for every position."""
    import llama_cpp
    import numpy as np

    pointer = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(pointer, shape=(llm.n_vocab(),))


def best(repeats, body):
    body()  # warm-up: first-touch of the mapping, thread pool start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv):
    args = parse_args(argv)
    if args.quantize:
        quantize(*args.quantize)
        return
    import numpy as np
    from llama_cpp import Llama

    ids = [int(t) for t in args.prompt_ids.split(",") if t]
    contexts = [int(c) for c in args.contexts.split(",") if c]
    longest = max(contexts + [len(ids)])
    llm = Llama(model_path=args.model, n_ctx=longest + args.new_tokens + args.greedy_tokens + 8, n_threads=args.threads,
                n_threads_batch=args.threads, n_batch=max(512, longest), n_ubatch=max(512, longest), logits_all=False, verbose=False)
    result = {"threads": args.threads, "prefill_tokens_per_s": {}, "decode_tokens_per_s": {}}
    for context in contexts:
        prompt = (ids * (context // max(1, len(ids)) + 1))[:context]

        def prefill():
            llm.reset()
            llm.eval(prompt)

        result["prefill_tokens_per_s"][str(context)] = context / best(args.repeats, prefill)

        def decode():
            llm.reset()
            llm.eval(prompt)
            start = time.perf_counter()
            for _ in range(args.new_tokens):
                token = int(np.argmax(last_logits(llm)))
                llm.eval([token])
            return time.perf_counter() - start

        decode()
        result["decode_tokens_per_s"][str(context)] = args.new_tokens / min(decode() for _ in range(args.repeats))
    prompts = json.loads(args.greedy_prompts) if args.greedy_prompts else [ids]
    result["greedy"] = []
    for n, prompt in enumerate(prompts):
        llm.reset()
        llm.eval(prompt)
        if n == 0:
            result["last_logits"] = [float(v) for v in last_logits(llm)]
        tokens = []
        for _ in range(args.greedy_tokens):
            token = int(np.argmax(last_logits(llm)))
            tokens.append(token)
            llm.eval([token])
        result["greedy"].append(tokens)
    if args.json:
        print(json.dumps(result))
    else:
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s"):
            for context, value in result[key].items():
                print(f"{key}[{context}]: {value:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
