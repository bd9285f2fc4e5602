#!/usr/bin/env bash
# Trains every bundled tiny model in order, the way they were trained: one tower pretraining per tower type, then
# the families that use it. Each step resumes where it stopped (train.py keeps checkpoints in artifacts/train/), so
# the script can be interrupted and run again. About an hour per family on 2 cores; nothing else should run meanwhile.
#
#   bash eng/train/train_all.sh [family ...]      # default: every family, in the order below
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
py=/usr/bin/python3
log=artifacts/train
mkdir -p "$log"

tower() {  # pretrains a tower type once (6,000 steps: 96.9% shape identity at patch centres for CLIP)
  [ -f "$log/tower-$1.pt" ] || $py eng/train/pretrain_tower.py --kind "$1" --steps 6000 2>&1 | tee "$log/tower-$1.log"
}

family() {  # family [steps [train.py options]]: trains, saves to models/<family>-tiny, writes tests/data/eval/<family>/ goldens, exports to ONNX
  $py eng/train/train.py --family "$1" --steps "${2:-3000}" "${@:3}" 2>&1 | tee -a "$log/$1.log"
  $py eng/train/prompt_goldens.py  # the exported tokenizer feeds the prompt goldens
  $py eng/onnx/export.py --family "$1" --check 2>&1 | grep -v Warning | tail -2  # models/<family>-tiny/onnx (python3-onnx)
}

families=("$@")
[ ${#families[@]} -gt 0 ] || families=(llava llava-mpt longva auroracap minicpmv aria)
for f in "${families[@]}"; do
  case "$f" in
    llava|llava-mpt|longva|auroracap) tower clip ;;
    minicpmv) tower timm ;;
    aria) tower idefics ;;
    *) echo "unknown family '$f'" >&2; exit 1 ;;
  esac
  case "$f" in
    llava) family "$f" 6000  # 3,000 steps, then resumed to 6,000 (train.py: the rate jumps back up)
           # Second stage, the bundled model: one decoder layer more, colour questions first (docs/families.md).
           family "$f" 1200 --from-bundled --grow-layers 1 --stage grow --data-round 2 --every-colour --max-turns 4 \
             --colour-phase 400 --lr 1e-3
           $py eng/onnx/quantize_int4.py models/llava-tiny/onnx ;;  # the int4 variant ONNX Runtime's int4 tests run
    aria) family "$f" 4000 --pdf-from 2000 ;;  # scenes alone first: PDF batches from the start kept it from reading shapes
    *) family "$f" ;;
  esac
done
