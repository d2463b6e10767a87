"""Oracle expert sets from a curated folder's labels (all shown images), by the judge (diagnostic only).

Usage: python oracle_experts.py CURATED_DIR OUT perfect|top K  (CURATED_DIR: a demo round's curated/, whose labels.jsonl lists every shown image)
"""
import sys, json, shutil, numpy as np, torch
from pathlib import Path
from PIL import Image
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.score.toy import load_toy_taste
d, out, mode, K = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rows = [json.loads(l) for l in open(f"{d}/labels.jsonl")]
x = torch.from_numpy(np.stack([np.asarray(Image.open(f"{d}/{r['file_name']}").convert("RGB")) for r in rows])).permute(0,3,1,2).float()/255
pr = [r["prompt"] for r in rows]
t = load_toy_taste().score_batch(x, pr).numpy()
p = load_judge().predict(x * 2 - 1)
idx = np.argsort(-t)
if mode == "perfect":
    idx = [i for i in idx if (p["background"][i], p["level"][i], p["fill"][i], p["offset"][i]) == ("gradient", "light", "filled", "centred")]
idx = list(idx)[:K]
shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
with open(out / "metadata.jsonl", "w") as f:
    for n, i in enumerate(idx):
        shutil.copy(f"{d}/{rows[i]['file_name']}", out / f"{n:05d}.png")
        f.write(json.dumps({"file_name": f"{n:05d}.png", "prompt": rows[i]["prompt"], "score": float(t[i])}) + "\n")
print(out, len(idx), "taste %.3f" % t[idx].mean())
