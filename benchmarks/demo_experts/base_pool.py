"""A pool of 6-step bf16 images from MODEL on training prompts -> its judge-perfect and true-taste top-K sets (diagnostic).

Usage: python base_pool.py MODEL N K TAG   (writes perf-TAG/ and top-TAG/ expert folders)
"""
import sys, json, shutil, numpy as np, torch, time
from pathlib import Path
from PIL import Image
from diffusion_dro.models.loading import load_backbone
from diffusion_dro.sample.generate import SampleSettings, generate
from diffusion_dro.data.prompts import load_prompt_set
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.score.toy import load_toy_taste
model, N, K, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(7)
prompts = load_prompt_set("toy:train").unique().prompts
P = [prompts[i] for i in rng.integers(len(prompts), size=N)]
S = [int(s) for s in rng.integers(2**31 - 1, size=N)]
b = load_backbone(model, device="cpu", dtype=torch.bfloat16)
t0 = time.time()
x = torch.cat([((generate(b, P[k:k+32], S[k:k+32], SampleSettings(6, 3.0)).float() + 1) / 2).clamp(0, 1) for k in range(0, N, 32)])
print("gen", round(time.time() - t0), "s")
t = load_toy_taste().score_batch(x, P).numpy()
p = load_judge().predict(x * 2 - 1)
order = list(np.argsort(-t))
perf = [i for i in order if (p["background"][i], p["level"][i], p["fill"][i], p["offset"][i]) == ("gradient", "light", "filled", "centred")]
print(f"pool taste {t.mean():.3f}, perfect {len(perf)}/{N}, noisy {np.mean([v == 'noisy' for v in p['background']]):.2f}")
for name, idx in ((f"perf-{tag}", perf[:K]), (f"top-{tag}", order[:K])):
    out = Path(name); shutil.rmtree(out, ignore_errors=True); out.mkdir()
    with open(out / "metadata.jsonl", "w") as f:
        for n, i in enumerate(idx):
            Image.fromarray((x[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(out / f"{n:05d}.png")
            f.write(json.dumps({"file_name": f"{n:05d}.png", "prompt": P[i]}) + "\n")
    print(name, len(idx), f"taste {t[idx].mean():.3f}")
