"""PyTorch baseline for `kiln-bench inference`.

Measures PyTorch/transformers on the same model shapes that Kiln's inference benchmark runs, so
Kiln's numbers can be read next to a well-known peer's on the same machine. The weights are random
(seeded with torch.manual_seed(0)): the shapes, not the values, decide the speed. Run it in the
environment that scripts/bench-setup creates:

    .venv-bench/bin/python tools/torch_peer.py --model gpt2-124m --prompt-tokens 128 \
        --new-tokens 64 [--dtype float32|bfloat16] [--threads 2] [--repeats 3] [--json]
    .venv-bench/bin/python tools/torch_peer.py --sgemm 1024 [--threads 2] [--repeats 3] [--json]

Model mode reports, each the best of --repeats runs after one warm-up:
  prefill_tokens_per_s   P / one forward over a (1, P) prompt without a KV cache
  decode_tokens_per_s    (N - 1) / (model.generate time - one cached prefill of the prompt)
  generate_tokens_per_s  N / model.generate time, greedy, exactly N new tokens (what a user sees)

--train runs LoRA fine-tuning instead (`kiln-bench train`'s peer): PEFT LoRA (r 8, alpha 16, on every projection of
the shape: q/k/v/o/gate/up/down, or GPT-2's c_attn/c_proj/c_fc), a (batch, seq) batch of random ids learned whole,
torch AdamW; one warm-up step, then `train_tokens_per_s` = batch·seq·steps / the time of --steps optimiser steps.

    .venv-bench/bin/python tools/torch_peer.py --train --model smollm2-135m --seq 256 --batch 4 --steps 3 --json

--sgemm N reports numpy's float32 N x N matmul rate. It re-executes itself without
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (which pin OpenBLAS to one kernel and cache size) and with
OPENBLAS_NUM_THREADS set to --threads, since OpenBLAS reads these only when it loads.
"""

import argparse
import json
import os
import sys
import time

STRIPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MODELS = ("gpt2-124m", "smollm2-135m")
DTYPES = ("float32", "bfloat16")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=MODELS)
    parser.add_argument("--sgemm", type=int, metavar="N", help="time numpy's N x N float32 matmul instead")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--dtype", choices=DTYPES, default="float32")
    parser.add_argument("--attn", choices=("eager", "sdpa"), default="eager", help="attention implementation")
    parser.add_argument("--train", action="store_true", help="measure LoRA training instead of inference")
    parser.add_argument("--seq", type=int, default=256, help="training sequence length")
    parser.add_argument("--batch", type=int, default=4, help="training batch rows")
    parser.add_argument("--steps", type=int, default=3, help="timed optimiser steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object (else one key per line)")
    args = parser.parse_args(argv)
    if (args.model is None) == (args.sgemm is None):
        parser.error("give exactly one of --model and --sgemm")
    if args.train and args.model is None:
        parser.error("--train needs --model")
    if args.new_tokens < 2:
        parser.error("--new-tokens must be at least 2 (decode rate needs a token after the first)")
    return args


def best_time(fn, repeats):
    """Runs fn once to warm up, then returns the best wall time of `repeats` runs, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def sgemm_env(threads):
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_sgemm(n, threads, repeats):
    env = sgemm_env(threads)
    if env != dict(os.environ):
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    seconds = best_time(lambda: np.matmul(a, b, out=c), repeats)
    return {"numpy_sgemm_gflops": 2 * n**3 / seconds / 1e9, "n": n, "threads": threads, "numpy": np.__version__}


def model_config(name):
    """The transformers config of one of Kiln's benchmark shapes."""
    import transformers

    if name == "gpt2-124m":
        return transformers.GPT2Config()
    # SmolLM2-135M, as its GGUF (shared/fixtures/smollm2/gguf_info.json) describes it.
    return transformers.LlamaConfig(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        vocab_size=49152,
        rms_norm_eps=1e-5,
        rope_theta=100000.0,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        hidden_act="silu",
    )


def build_model(name, dtype, attn):
    import torch
    import transformers

    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(model_config(name), attn_implementation=attn)
    return model.to(getattr(torch, dtype)).eval()


def measure_model(model, prompt_tokens, new_tokens, repeats):
    import torch

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (1, prompt_tokens), generator=generator)
    with torch.inference_mode():
        prefill = best_time(lambda: model(ids, use_cache=False), repeats)
        cached_prefill = best_time(lambda: model(ids, use_cache=True), repeats)
        generate = best_time(
            lambda: model.generate(
                ids,
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                use_cache=True,
                pad_token_id=0,
            ),
            repeats,
        )
    return {
        "prefill_tokens_per_s": prompt_tokens / prefill,
        "decode_tokens_per_s": (new_tokens - 1) / (generate - cached_prefill),
        "generate_tokens_per_s": new_tokens / generate,
    }


def run_model(args):
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    model = build_model(args.model, args.dtype, args.attn)
    rates = measure_model(model, args.prompt_tokens, args.new_tokens, args.repeats)
    return {
        "model": args.model,
        "dtype": args.dtype,
        "threads": args.threads,
        "attn_implementation": args.attn,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens,
        **rates,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


LORA_TARGETS = {"gpt2-124m": ["c_attn", "c_proj", "c_fc"],
                "smollm2-135m": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}


def run_train(args):
    import peft
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    model = build_model(args.model, "float32", args.attn).train()
    config = peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=LORA_TARGETS[args.model], task_type="CAUSAL_LM",
                             fan_in_fan_out=args.model == "gpt2-124m")
    model = peft.get_peft_model(model, config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.seq), generator=generator)

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()

    step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    return {"model": args.model, "threads": args.threads, "torch": torch.__version__, "peft": peft.__version__,
            "seq": args.seq, "batch": args.batch, "steps": args.steps,
            "train_tokens_per_s": args.batch * args.seq * args.steps / seconds,
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def main(argv):
    args = parse_args(argv)
    if args.train:
        result = run_train(args)
    else:
        result = run_sgemm(args.sgemm, args.threads, args.repeats) if args.sgemm else run_model(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
