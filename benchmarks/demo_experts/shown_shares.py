"""Judge-read joint shares of all shown images (labels.jsonl of a curated folder; diagnostic).

Usage: python shown_shares.py CURATED_DIR
"""
import sys, json, collections, numpy as np, torch
from PIL import Image
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.toy.world import ATTRIBUTES
from diffusion_dro.score.toy import load_toy_taste
d = sys.argv[1]
rows = [json.loads(l) for l in open(f"{d}/labels.jsonl")]
x = torch.from_numpy(np.stack([np.asarray(Image.open(f"{d}/{r['file_name']}").convert("RGB")) for r in rows])).permute(0,3,1,2).float()/255
pr = [r["prompt"] for r in rows]
j = load_judge(); sc = load_toy_taste()
t = sc.score_batch(x, pr).numpy()
p = j.predict(x * 2 - 1)
c = collections.Counter(zip(p["background"], p["level"], p["fill"], p["offset"]))
n = len(rows)
print("n", n, "true taste mean %.2f" % t.mean())
for k in ("background","level","fill","offset"):
    print(k, {v: round(p[k].count(v)/n, 3) for v in ATTRIBUTES[k]})
print("perfect share", c[("gradient","light","filled","centred")]/n)
g = [i for i in range(n) if p["background"][i]=="gradient" and p["fill"][i]=="filled" and p["offset"][i]=="centred"]
print("gfc", len(g)/n, "level among gfc", collections.Counter(p["level"][i] for i in g))
o = np.argsort(-t)[:164]
print("oracle top164 taste %.2f" % t[o].mean(), "light", sum(p["level"][i]=="light" for i in o)/164)
cur = np.argsort([-r["score"] for r in rows])[:164]
print("curated-score top164 taste %.2f" % t[cur].mean())
