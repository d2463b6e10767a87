"""Continue pre-training the shipped toy base from its EMA weights (diagnostic; `dro toy pretrain --init toy` now does
the same: this run is `--init toy --steps 900 --lr 3e-4 --warmup-steps 50 --seed 1`).

Usage: python continue_base.py OUT STEPS MAX_MINUTES(0: none)
"""
import sys, torch, numpy as np, torch.nn.functional as F
from pathlib import Path
from diffusers import UNet2DConditionModel
from diffusion_dro.toy.components import build_components, save_components
from diffusion_dro.toy.recipe_loop import LoopSettings, run_recipe
from diffusion_dro.toy.render import render_batch
from diffusion_dro.toy.world import prompts_for, sample_specs
from diffusion_dro.toy.pretrain import _embed
from diffusion_dro.toy.assets import asset_path
out, steps, minutes = Path(sys.argv[1]), int(sys.argv[2]), (float(sys.argv[3]) or None)
out.mkdir(parents=True, exist_ok=True)
shipped = asset_path("base")
comps = build_components(0)
comps["unet"] = UNet2DConditionModel.from_pretrained(shipped, subfolder="unet")
from transformers import CLIPTextModel, CLIPTokenizer
comps["text_encoder"] = CLIPTextModel.from_pretrained(shipped, subfolder="text_encoder")
comps["tokenizer"] = CLIPTokenizer.from_pretrained(shipped, subfolder="tokenizer")
unet, sched = comps["unet"], comps["scheduler"]
unet.train(); comps["text_encoder"].requires_grad_(False)
prompts = prompts_for("train") + [""]
table = _embed(comps, prompts); index = {p: i for i, p in enumerate(prompts)}
def loss_fn(rng):
    specs = sample_specs(rng, 64, "train"); x0 = render_batch(specs)
    keys = ["" if u < 0.1 else s.prompt for s, u in zip(specs, rng.random(len(specs)))]
    noise = torch.randn_like(x0); t = torch.randint(0, 1000, (len(specs),))
    return F.mse_loss(unet(sched.add_noise(x0, noise, t), t, table[[index[k] for k in keys]]).sample, noise)
torch.manual_seed(1)
res = run_recipe(unet, loss_fn, LoopSettings(out, steps, 3e-4, 50, 0.999, 250, minutes, 1), desc="continue")
print(res)
save_components(out / "final", comps, card="continued toy base (diagnostic)\n")
print("wrote", out / "final")
