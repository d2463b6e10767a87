"""Write a copy of a LoRA folder whose update is scaled by S (lora_B x S), a diagnostic of adapter strength.

Usage: python scale_adapter.py ADAPTER_DIR S OUT_DIR
The scaled adapter equals the original loaded at peft scale S (the weight update B@A is linear in B).
"""
import sys
from pathlib import Path
from safetensors import safe_open
from safetensors.torch import save_file
from diffusion_dro.models.lora import WEIGHT_NAME

src, s, out = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
with safe_open(str(src / WEIGHT_NAME), "pt") as f:
    meta = f.metadata()
    tensors = {k: f.get_tensor(k) * (s if "lora_B" in k else 1.0) for k in f.keys()}
out.mkdir(parents=True, exist_ok=True)
save_file(tensors, str(out / WEIGHT_NAME), metadata=meta)
print(f"{out / WEIGHT_NAME}: {len(tensors)} tensors, lora_B x {s}")
