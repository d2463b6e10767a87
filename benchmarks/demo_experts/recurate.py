"""Re-curate a demo round's feedback with other weights; report the true taste of the top-K (diagnostic).

Usage: python recurate.py FEEDBACK_DIR K 'CURATE FLAGS' ...  (each flag string one `dro curate` run)
"""
import sys, json, subprocess, numpy as np, torch, shutil
from PIL import Image
from diffusion_dro.score.toy import load_toy_taste
fb, K = sys.argv[1], int(sys.argv[2])
sc = load_toy_taste()
cache = {}
def truth(folder, rows):
    x = torch.from_numpy(np.stack([np.asarray(Image.open(f"{folder}/{r['file_name']}").convert("RGB")) for r in rows])).permute(0,3,1,2).float()/255
    return sc.score_batch(x, [r["prompt"] for r in rows]).numpy()
for flags in sys.argv[3:]:
    out = "/tmp/recur"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(["dro", "curate", "--data_root", fb, "--out_dir", out, "--app", "demo", "--top_k", str(K), *flags.split()],
                   check=True, capture_output=True)
    rows = [json.loads(l) for l in open(f"{out}/expert/metadata.jsonl")]
    t = truth(f"{out}/expert", rows)
    print(f"{flags!r:50} K={len(rows)} taste {t.mean():.3f}  share 3.5: {(t > 3.4).mean():.2f}")
