#!/bin/bash
# Two `dro train` runs side by side (one thread each, as in the demo's training stage) for $MIN minutes (default 4),
# objective $OBJ (default dro), then one `dro eval` of both against the base (16 held-out prompts x 8 seeds).
# Usage: side_by_side.sh OUT NAME1 EXPERTS1 NAME2 EXPERTS2 [more dro train flags]
# $FLAGS_A / $FLAGS_B: more flags for the first / second run only (e.g. different seeds or learning rates).
# $MODEL: the base model (default toy). $BASE_IMAGES: optional folder of the base's evaluation images (an earlier OUT/eval/images/base) to reuse.
set -e
O=$1; A=$2; EA=$3; B=$4; EB=$5; shift 5
mkdir -p $O
C="dro train --objective ${OBJ:-dro} --model ${MODEL:-toy} --snr-gamma 5 --prompt-dropout 0 --max-minutes ${MIN:-4} --no-progress --seed 0 $@"
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $C $FLAGS_A --experts $EA --out $O/$A > $O/$A.log 2>&1 &
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $C $FLAGS_B --experts $EB --out $O/$B > $O/$B.log 2>&1
wait
mkdir -p $O/eval/images
if [ -n "$BASE_IMAGES" ]; then cp -r "$BASE_IMAGES" $O/eval/images/base; fi
M=${MODEL:-toy}
dro eval --model base=$M $A=$M,$O/$A/final $B=$M,$O/$B/final --prompts toy:heldout --seeds 8 --protocol per-seed --scorers toy-taste,toy-adherence --out $O/eval > $O/eval.log 2>&1
python - $O $A $B <<'PY'
import json, sys
o, *ms = sys.argv[1:]
r = json.load(open(f"{o}/eval/results.json"))["protocols"]["per-seed"]
print(f"base: taste {r['means']['toy-taste']['base']['mean']:.3f} adh {100*r['means']['toy-adherence']['base']['mean']:.1f}%")
for m in ms:
    w = r["win_rates"]["toy-taste"][m]["base"]; u = json.load(open(f"{o}/{m}/final/training_summary.json"))["updates"]
    print(f"{m}: {u} upd, win {100*w['win_rate']:.1f}% [{100*w['ci_low']:.1f}, {100*w['ci_high']:.1f}] taste {r['means']['toy-taste'][m]['mean']:.3f} adh {100*r['means']['toy-adherence'][m]['mean']:.1f}%")
PY
