"""Kiln's own generator: the llama-bf16 fixture's logits as PyTorch computes them when every nn.Linear input is rounded
to bfloat16 (round to nearest even) and everything else stays float32 -- the arithmetic of Kiln's fast path for bf16
weights (BF16MatMul). Run with .venv-bench/bin/python (torch, transformers, safetensors) from the repository root:

    .venv-bench/bin/python Tests/Fixtures/bf16_fast/make.py
"""
import torch
from safetensors.numpy import load_file, save_file
from transformers import AutoModelForCausalLM

folder = "Tests/Fixtures/models/llama-bf16"
reference = load_file(f"{folder}/reference.safetensors")
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)


def round_input(module, inputs):
    return (inputs[0].to(torch.bfloat16).float(),)


for module in model.modules():
    if isinstance(module, torch.nn.Linear):
        module.register_forward_pre_hook(round_input)
with torch.no_grad():
    logits = model(input_ids=torch.tensor(reference["input_ids"]), attention_mask=torch.tensor(reference["attention_mask"]),
                   position_ids=torch.tensor(reference["position_ids"])).logits
save_file({"logits": logits.numpy()}, "Tests/Fixtures/bf16_fast/llama_bf16_fast_logits.safetensors")
