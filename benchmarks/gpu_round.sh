#!/usr/bin/env bash
# One call on a lent GPU: continue the default restorer for MINUTES on the packed train split, join
# it with the shipped classifier, and evaluate it and the shipped model on the packed validation
# split on the same device, so the call brings back a candidate and the table that decides on it.
#
#   pipir data pack data/photos data/pack                                  # train split, 768 px JPEG
#   pipir data pack data/photos data/pack-val --split validation --side 320 --lossless
#   OUT=... MINUTES=5 bash benchmarks/gpu_round.sh [key=value ...]      # carry data/pack, data/pack-val
#
# $OUT receives: candidate.safetensors (restorer in bf16 + the shipped classifier), train.json (the
# run's speed report), validation.tar (the two models' tables, Markdown and JSON) and round.log.
# LIMIT=N evaluates the first N validation photos only (a trial of the script on a CPU).
set -euo pipefail
: "${OUT:?set OUT to the folder the results go to}"
MINUTES=${MINUTES:-5}  # leaves ~4 of a 10-minute device call for start-up and the two evaluations
ENSEMBLE=${ENSEMBLE:-1}  # views per photo; "auto" as pipir restore, several times slower
LIMIT=${LIMIT:+--limit $LIMIT}
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
exec > >(tee "$OUT/round.log") 2>&1

"$PY" benchmarks/gpu_train.py configs/pipir-small-gpu.yaml --minutes "$MINUTES" --out "$OUT/train" \
    data.images=data/pack model.init_weights=pipir-small optim.lr=3e-4 optim.warmup_steps=50 \
    output=runs/candidate "$@"
mv "$OUT/train/candidate.json" "$OUT/train.json"
"$PY" -m pipir.cli combine "$OUT/train/candidate.safetensors" pipir-small "$OUT/candidate.safetensors"
rm -r "$OUT/train"

mkdir -p "$OUT/validation"
for model in pipir-small "$OUT/candidate.safetensors"; do
    name=$(basename "$model" .safetensors)
    # shellcheck disable=SC2086 # LIMIT is empty or two words
    "$PY" -m pipir.cli eval "$model" --photos data/pack-val --split validation --weights both \
        --ensemble "$ENSEMBLE" --no-baselines $LIMIT --out "$OUT/validation/$name"
done
rm -f "$OUT"/validation/*.png
tar -cf "$OUT/validation.tar" -C "$OUT" validation && rm -r "$OUT/validation"
ls -l "$OUT"
