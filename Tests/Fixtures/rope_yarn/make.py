"""YaRN references for Kiln's tests, made with transformers (run with .venv-bench/bin/python from the repo root).

The shared fixtures have no YaRN model, so this loads Tests/Fixtures/models/llama (weights unchanged) with its
config's rope switched to YaRN, and runs transformers' eager forward on the batch of llama/reference.safetensors.
Writes llama_yarn.safetensors: `logits` [2, 12, 1000] F32 and `inv_freq` [8] F32 (the rotary buffer), plus
llama_yarn.json with the config used and transformers' attention_scaling.
"""
import json, os
import torch
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA = os.path.join(HERE, "..", "models", "llama")

config_dict = json.load(open(os.path.join(LLAMA, "config.json")))
config_dict["rope_parameters"] = {"rope_type": "yarn", "rope_theta": 500000.0, "factor": 4.0,
                                  "original_max_position_embeddings": 64, "beta_fast": 16.0, "beta_slow": 2.0}
config = LlamaConfig(**{k: v for k, v in config_dict.items() if k not in ("architectures", "transformers_version")})
config._attn_implementation = "eager"
torch.manual_seed(0)
model = LlamaForCausalLM(config).eval()
model.load_state_dict(load_file(os.path.join(LLAMA, "model.safetensors")), strict=False)
ref = load_file(os.path.join(LLAMA, "reference.safetensors"))
with torch.no_grad():
    out = model(input_ids=ref["input_ids"], attention_mask=ref["attention_mask"], position_ids=ref["position_ids"])
rotary = model.model.rotary_emb
save_file({"logits": out.logits.contiguous(), "inv_freq": rotary.inv_freq.float().contiguous()},
          os.path.join(HERE, "llama_yarn.safetensors"))
json.dump({"rope_parameters": config_dict["rope_parameters"], "attention_scaling": rotary.attention_scaling,
           "torch": torch.__version__, "transformers": __import__("transformers").__version__},
          open(os.path.join(HERE, "llama_yarn.json"), "w"), indent=1)
print("attention_scaling", rotary.attention_scaling, "inv_freq", rotary.inv_freq.tolist())
