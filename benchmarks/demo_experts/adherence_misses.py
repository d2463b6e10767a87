"""Where held-out adherence is lost: per model, the judge's misses by kind and by prompt (diagnostic).

Usage: python adherence_misses.py EVAL_DIR [MODEL ...]   (EVAL_DIR = a dro eval / dro demo OUT/eval folder)
For each model: adherence, misses split into wrong shape / wrong colour / both, the most common wrong
readings, and the nuisances the judge reads on missed vs adherent images.
"""
import collections, sys
from pathlib import Path

import numpy as np
from diffusion_dro.evaluate.generation import METADATA, read_metadata
from diffusion_dro.evaluate.scoring import load_images
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.toy.world import parse_prompt

ev = Path(sys.argv[1])
models = sys.argv[2:] or sorted(p.name for p in (ev / "images").iterdir() if p.is_dir())
judge = load_judge()
for m in models:
    rows = list(read_metadata(ev / "images" / m / METADATA).values())  # the last row of each file: its image
    x = load_images([ev / "images" / m / r["file_name"] for r in rows], 32) * 2 - 1
    pred = judge.predict(x)
    kinds, wrong, nuis = collections.Counter(), collections.Counter(), {True: collections.Counter(), False: collections.Counter()}
    by_prompt = collections.defaultdict(list)
    for i, r in enumerate(rows):
        p = parse_prompt(r["prompt"])
        ok_s, ok_c = pred["shape"][i] == p.shape, pred["colour"][i] == p.colour
        hit = ok_s and ok_c
        by_prompt[r["prompt"]].append(hit)
        if not hit:
            kinds["shape" if ok_c else "colour" if ok_s else "both"] += 1
            wrong[f"{p.colour} {p.shape} -> {pred['colour'][i]} {pred['shape'][i]}"] += 1
        for a in ("background", "level", "fill", "offset", "size"):
            nuis[hit][f"{a}={pred[a][i]}"] += 1
    n = len(rows)
    hits = sum(sum(v) for v in by_prompt.values())
    print(f"== {m}: adherence {100 * hits / n:.1f}% ({n} images); misses by kind {dict(kinds)}")
    print("   worst prompts:", sorted(((round(np.mean(v), 2), k) for k, v in by_prompt.items()))[:5])
    print("   top wrong readings:", wrong.most_common(6))
    for hit in (False, True):
        tot = sum(v for k, v in nuis[hit].items() if k.startswith("background="))
        if tot:
            print(f"   {'adherent' if hit else 'missed  '} ({tot}):", {k: round(v / tot, 2) for k, v in sorted(nuis[hit].items())})
