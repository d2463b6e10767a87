"""6-step bf16 previews with known seeds -> the judge-perfect ones -> the same seeds at 20 steps fp32 (diagnostic).

Usage: python preview_rerender.py   (writes prev6/ and hq20/ expert folders in the working directory)
"""
import json, shutil, numpy as np, torch, time
from pathlib import Path
from PIL import Image
from diffusion_dro.models.loading import load_backbone
from diffusion_dro.sample.generate import SampleSettings, generate
from diffusion_dro.data.prompts import load_prompt_set
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.score.toy import load_toy_taste
N = 4096
rng = np.random.default_rng(7)
prompts = load_prompt_set("toy:train").unique().prompts
P = [prompts[i] for i in rng.integers(len(prompts), size=N)]
S = [int(s) for s in rng.integers(2**31 - 1, size=N)]
def gen(dtype, steps, idx):
    b = load_backbone("toy", device="cpu", dtype=dtype)
    out = []
    for k in range(0, len(idx), 32):
        j = idx[k:k+32]
        out.append(((generate(b, [P[i] for i in j], [S[i] for i in j], SampleSettings(steps=steps)).float() + 1) / 2).clamp(0, 1))
    return torch.cat(out)
t0 = time.time(); prev = gen(torch.bfloat16, 6, list(range(N))); print("previews", time.time() - t0)
judge, sc = load_judge(), load_toy_taste()
def perfect(x, idx):
    p = judge.predict(x * 2 - 1)
    return [i for n, i in enumerate(idx) if (p["background"][n], p["level"][n], p["fill"][n], p["offset"][n]) == ("gradient", "light", "filled", "centred")]
idx = perfect(prev, list(range(N)))
t = sc.score_batch(prev, P).numpy()
idx = sorted(idx, key=lambda i: -t[i])
print("perfect previews", len(idx), "taste %.3f" % t[idx].mean())
t0 = time.time(); hq = gen(torch.float32, 20, idx); print("hq", time.time() - t0)
th = sc.score_batch(hq, [P[i] for i in idx]).numpy()
still = perfect(hq, idx)
print("hq taste %.3f" % th.mean(), "still perfect", len(still))
for name, imgs in (("prev6", prev[idx]), ("hq20", hq)):
    out = Path(name); shutil.rmtree(out, ignore_errors=True); out.mkdir()
    with open(out / "metadata.jsonl", "w") as f:
        for n, i in enumerate(idx):
            Image.fromarray((imgs[n].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(out / f"{n:05d}.png")
            f.write(json.dumps({"file_name": f"{n:05d}.png", "prompt": P[i], "seed": S[i]}) + "\n")
