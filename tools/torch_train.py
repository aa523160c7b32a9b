#!/usr/bin/env python3
"""Kiln's torch backend: runs a `kiln train` run spec (OUT/run_spec.json) on PyTorch + PEFT, for models or datasets that
outgrow one CPU. `kiln train --backend torch` writes the spec and starts this worker; it writes what Kiln's own engine
writes: metrics.jsonl in the same keys, JSON event lines on stdout, checkpoints/step-N/ (PEFT adapter + optimizer.pt)
and the final PEFT adapter in OUT.

Same semantics as Kiln's loop, which equals HF Trainer 5.24 step for step (Tests/Fixtures/README.md §10): the model's
chat template, loss on the last message only, truncation to --max-length, right padding per micro-batch, gradient
accumulation normalised by the step's label tokens, clipping (pre-clip norm logged), torch AdamW with decoupled decay,
constant/constant_with_warmup/linear/cosine with warmup, eval before training and after each epoch.

    python tools/torch_train.py OUT                  (one process: CPU, or one GPU when CUDA is there)
    torchrun --nproc_per_node N tools/torch_train.py OUT     (N GPUs: data parallel, rank 0 writes)

Needs torch, transformers, peft (and bitsandbytes for --qlora nf4 on GPU). GGUF bases are read by transformers'
GGUF loader (dequantised).
"""
import json, math, os, sys


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main(out):
    import torch
    import peft
    import transformers

    spec = json.load(open(os.path.join(out, "run_spec.json")))
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = torch.distributed.get_rank() if distributed else 0
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(spec["seed"])

    base = spec["base"]
    load = {"gguf_file": os.path.basename(base)} if base.endswith(".gguf") else {}
    folder = os.path.dirname(base) if load else base
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **load)
    kwargs = {"attn_implementation": "eager", "dtype": torch.float32}
    if spec.get("qlora") == "nf4" and torch.cuda.is_available():
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32,
            bnb_4bit_use_double_quant=bool(spec.get("double_quantization")))
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, **load, **kwargs).to(device)
    # transformers checkpoints every layer or none: Kiln's partial recompute_layers maps to on when it names any layer.
    recompute = spec.get("recompute_layers")
    if (recompute > 0) if recompute is not None else spec.get("gradient_checkpointing"):
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    targets = spec["target_modules"]
    config = peft.LoraConfig(r=spec["lora_r"], lora_alpha=spec["lora_alpha"], lora_dropout=spec["lora_dropout"],
                             use_rslora=spec["use_rslora"], target_modules="all-linear" if targets == ["all-linear"] else targets,
                             task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, config)
    if spec.get("init_adapter"):
        from safetensors.torch import load_file
        given = load_file(os.path.join(spec["init_adapter"], "adapter_model.safetensors"))
        named = dict(model.named_parameters())
        for key, value in given.items():
            name = key.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight")
            if name not in named or named[name].shape != value.shape:
                sys.exit(f"init adapter tensor {key} does not fit the run's LoRA modules")
            with torch.no_grad():
                named[name].copy_(value)

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def rows(path):
        result = []
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            item = json.loads(line)
            if "text" in item and "instruction" not in item and "messages" not in item:
                ids = tokenizer(item["text"])["input_ids"][:spec["max_length"]]
                result.append((ids, list(ids)))
                continue
            messages = item.get("messages") or [
                {"role": "user", "content": item["instruction"] + ("\n\n" + item["input"] if item.get("input") else "")},
                {"role": "assistant", "content": item["response"]}]
            prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
            full = tokenizer.apply_chat_template(messages, tokenize=False)
            prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            full_ids = tokenizer(full, add_special_tokens=False)["input_ids"]
            labels = [-100] * len(prompt_ids) + full_ids[len(prompt_ids):]
            result.append((full_ids[:spec["max_length"]], labels[:spec["max_length"]]))
        return result

    train = rows(spec["train"]["path"])
    validation = rows(spec["validation"]["path"]) if spec.get("validation") else []

    def batch(chunk):
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in chunk], device=device)
        mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in chunk], device=device)
        labels = torch.tensor([l + [-100] * (width - len(l)) for _, l in chunk], device=device)
        return ids, mask, labels

    micro = spec["micro_batch_size"]
    per_epoch = math.ceil(len(train) / micro)
    steps_per_epoch = math.ceil(per_epoch / spec["gradient_accumulation"])
    total = spec.get("max_steps") or steps_per_epoch * spec["epochs"]
    schedule = {"constant": lambda s: 1.0}
    warm = spec["warmup_steps"]
    schedule["constant_with_warmup"] = lambda s: s / max(1, warm) if s < warm else 1.0
    schedule["linear"] = lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm))
    schedule["cosine"] = lambda s: s / max(1, warm) if s < warm else max(0.0, 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=spec["learning_rate"], weight_decay=spec["weight_decay"])
    metrics = open(os.path.join(out, "metrics.jsonl"), "w") if rank == 0 else None

    def write(line):
        if metrics:
            metrics.write(json.dumps(line) + "\n")
            metrics.flush()

    def order(epoch):
        index = list(range(len(train)))
        if spec.get("shuffle"):
            generator = torch.Generator().manual_seed(spec["seed"] * 1000 + epoch)
            index = torch.randperm(len(train), generator=generator).tolist()
        return index

    def evaluate():
        model.eval()
        total_loss, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(validation), micro):
                chunk = validation[start:start + micro]
                ids, mask, labels = batch(chunk)
                total_loss += model(input_ids=ids, attention_mask=mask, labels=labels).loss.item() * len(chunk)
                count += len(chunk)
        model.train()
        return total_loss / max(1, count)

    log("started", total_steps=total, train_items=len(train), validation_items=len(validation), from_step=0)
    if validation and rank == 0:
        loss = evaluate()
        write({"step": 0, "epoch": 0, "eval_loss": loss, "eval_perplexity": math.exp(min(loss, 700))})
    model.train()
    for step in range(1, total + 1):
        epoch = (step - 1) // steps_per_epoch + 1
        first = ((step - 1) % steps_per_epoch) * spec["gradient_accumulation"]
        indices = order(epoch)
        chunks = [[train[i] for i in indices[m * micro:(m + 1) * micro]]
                  for m in range(first, min(per_epoch, first + spec["gradient_accumulation"]))]
        if distributed:
            chunks = chunks[rank::torch.distributed.get_world_size()] or chunks[:1]
        n = sum(sum(1 for x in l[1:] if x != -100) for _, l in (row for chunk in chunks for row in chunk))
        n_total = torch.tensor(float(n), device=device)
        if distributed:
            torch.distributed.all_reduce(n_total)
        loss_sum = torch.zeros((), device=device)
        for chunk in chunks:
            ids, mask, labels = batch(chunk)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=n_total.clamp(min=1)).loss
            loss.backward()
            loss_sum += loss.detach()
        if distributed:
            for p in trainable:
                torch.distributed.all_reduce(p.grad)
            torch.distributed.all_reduce(loss_sum)
        norm = torch.nn.utils.clip_grad_norm_(trainable, spec["max_grad_norm"])
        rate = spec["learning_rate"] * schedule[spec["scheduler"]](step - 1)
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.step()
        optimizer.zero_grad()
        line = {"step": step, "epoch": epoch, "loss": loss_sum.item(), "learning_rate": rate, "grad_norm": norm.item()}
        write(line)
        log("step", total_steps=total, **line)
        if validation and rank == 0 and (step % steps_per_epoch == 0 or step == total):
            loss = evaluate()
            write({"step": step, "epoch": epoch, "eval_loss": loss, "eval_perplexity": math.exp(min(loss, 700))})
            log("evaluation", step=step, epoch=epoch, eval_loss=loss)
        every = spec.get("checkpoint_every") or 0
        if rank == 0 and (step == total or (every and step % every == 0)):
            folder = os.path.join(out, "checkpoints", f"step-{step:06d}")
            model.save_pretrained(folder)
            torch.save(optimizer.state_dict(), os.path.join(folder, "optimizer.pt"))
            log("checkpoint", step=step, path=folder)
    if rank == 0:
        model.save_pretrained(out)
        log("summary", steps=total, out=out)
    if distributed:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: torch_train.py OUT (the folder holding run_spec.json)")
    main(sys.argv[1])
