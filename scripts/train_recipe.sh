#!/usr/bin/env bash
# One command that reproduces the shipped ANet model (models/anet-*.fam) from
# the raw data: build the trainer, identity pre-training, attribute
# fine-tuning, heads-vs-linear comparison, thresholds, int8 export + SDK check.
# Hyper-parameters live in train/configs/anet.json. See train/README.md.
#
#   scripts/train_recipe.sh                 # CPU (about an hour on 2 cores)
#   scripts/train_recipe.sh --gpu           # CUDA LibTorch (PyTorch 2.x's libtorch)
#   scripts/train_recipe.sh --resume        # continue a killed run
#   scripts/train_recipe.sh --stages export # re-run some stages only
#   scripts/train_recipe.sh --loc           # the shipped face localiser (models/lnet-*.fam), box-supervised:
#                                           # loc-train (train/configs/loc.json) into <run>/base, a second
#                                           # loc-train from it (train/configs/loc-ft.json: 6 epochs, lr 1e-3)
#                                           # into <run>, loc-export (about 40 min on 2 cores)
#   scripts/train_recipe.sh --full          # the shipped ANet end to end: this recipe, then --joint, then
#                                           # anet-concepts and anet-average-maps on both files
#                                           # (about 65 min on 2 cores)
#   scripts/train_recipe.sh --joint         # joint fine-tuning: anet-joint of <out>/anet-fp32.fam on the
#                                           # crops of <out>/lnet-int8.fam, then export --head finetuned
#                                           # (run after the ANet and --loc recipes; about 5 min)
#   scripts/train_recipe.sh --teacher       # the teacher and the distillation comparisons (models/MODEL_CARD.md,
#                                           # "Teacher"): a width-2 ANet (train/configs/teacher.json) fine-tuned
#                                           # and jointly fine-tuned into <run>/models, then anet-joint of
#                                           # <out>/anet-fp32.fam taught by the teacher + itself with LFW, soft
#                                           # (<run>/distill) and pseudo-labels at 0.9 (<run>/pseudo); nothing
#                                           # goes to <out> (about 60 min on 2 cores)
#   scripts/train_recipe.sh --lnet          # the paper's weakly supervised LNet (comparison; its
#                                           # models go to <run>/models unless --out-dir): lnet-pretrain and
#                                           # lnet-train (train/configs/lnet.json) into <run>/base, then
#                                           # lnet-hide = lnet-train fine-tuning that with Hide-and-Seek
#                                           # (train/configs/lnet-hide.json) into <run>, lnet-export
#                                           # (about 25 min on 2 cores)
#   scripts/train_recipe.sh --lnet --box-supervision   # the box-supervised comparison LNet
#                                           # (run folder lnet-box/, models only there, not in models/)
#
# Options: --data DIR (default ../shared/data), --run-dir DIR (default
# build-train/runs/anet), --out-dir DIR (default models), --build DIR,
# --config FILE. FACEATTR_TRAIN_BIN=path skips the build and uses that binary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/../shared/data"
BUILD="$ROOT/build-train"
RUN=""
OUT="$ROOT/models"
CONFIG="$ROOT/train/configs/anet.json"
DEVICE=cpu
STAGES=""
LNET=0
EXTRA=()
FULL=0
PASS=()  # the options --full hands on to each part

while [[ $# -gt 0 ]]; do
  [[ "$1" != --full ]] && PASS+=("$1")
  [[ "$1" =~ ^--(data|out-dir|build|run-dir|config|stages)$ && $# -gt 1 ]] && PASS+=("$2")
  case "$1" in
    --full) FULL=1 ;;
    --gpu) DEVICE=cuda ;;
    --resume) EXTRA+=(--resume) ;;
    --stages) STAGES="${2//,/ }"; shift ;;
    --data) DATA="$2"; shift ;;
    --run-dir) RUN="$2"; shift ;;
    --out-dir) OUT="$2"; shift ;;
    --build) BUILD="$2"; shift ;;
    --config) CONFIG="$2"; shift ;;
    --lnet) LNET=1 ;;
    --loc) LNET=2 ;;
    --joint) LNET=3 ;;
    --teacher) LNET=4 ;;
    --box-supervision) EXTRA+=(--box-supervision) ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ "$FULL" == 1 ]]; then
  if [[ " ${PASS[*]} " =~ \ --(run-dir|stages|lnet|loc|joint|teacher)\  ]]; then
    echo "--full runs its own stages and run folders: no --run-dir, --stages, --lnet, --loc, --joint or --teacher" >&2
    exit 2
  fi
  "$0" "${PASS[@]}"
  "$0" --joint "${PASS[@]}"
  B="${FACEATTR_TRAIN_BIN:-$BUILD/bin/faceattr_train}"
  for m in int8 fp32; do
    echo "== anet-concepts $m ($(date +%T))"
    "$B" anet-concepts --config "$CONFIG" --data-root "$DATA" --model "$OUT/anet-$m.fam" \
      --out "$OUT/anet-$m.fam" --report "$BUILD/runs/concepts-$m" --limit 3000
    echo "== anet-average-maps $m ($(date +%T))"
    "$B" anet-average-maps --config "$CONFIG" --data-root "$DATA" --model "$OUT/anet-$m.fam" \
      --lnet "$OUT/lnet-int8.fam" --out "$OUT/anet-$m.fam"
  done
  exit 0
fi
if [[ "$LNET" == 4 && -n "$STAGES" ]]; then
  echo "--teacher runs its own stages: no --stages" >&2
  exit 2
fi
BASE=""
HIDE_CONFIG="$ROOT/train/configs/lnet-hide.json"
if [[ "$LNET" == 4 ]]; then
  [[ "$CONFIG" == "$ROOT/train/configs/anet.json" ]] && CONFIG="$ROOT/train/configs/teacher.json"
  RUN="${RUN:-$BUILD/runs/teacher}"
  STAGES="teacher"
elif [[ "$LNET" == 3 ]]; then
  RUN="${RUN:-$BUILD/runs/joint}"
  STAGES="${STAGES:-anet-joint export}"
elif [[ "$LNET" == 2 ]]; then
  [[ "$CONFIG" == "$ROOT/train/configs/anet.json" ]] && CONFIG="$ROOT/train/configs/loc.json"
  RUN="${RUN:-$BUILD/runs/loc}"
  STAGES="${STAGES:-loc-train loc-finetune loc-export}"
  BASE="$RUN/base"
elif [[ "$LNET" == 1 ]]; then
  [[ "$CONFIG" == "$ROOT/train/configs/anet.json" ]] && CONFIG="$ROOT/train/configs/lnet.json"
  RUN="${RUN:-$BUILD/runs/lnet}"
  # The weak LNet is a comparison: it must not replace the shipped localiser by default.
  [[ "$OUT" == "$ROOT/models" ]] && OUT="$RUN/models"
  if [[ " ${EXTRA[*]} " == *" --box-supervision "* ]]; then
    STAGES="${STAGES:-lnet-pretrain lnet-train lnet-export}"
    BASE="$RUN"
  else
    # The weak LNet of the model card's comparison: the 16-epoch run in <run>/base,
    # fine-tuned with Hide-and-Seek in <run>.
    STAGES="${STAGES:-lnet-pretrain lnet-train lnet-hide lnet-export}"
    BASE="$RUN/base"
  fi
else
  STAGES="${STAGES:-pretrain finetune linear export}"
  RUN="${RUN:-$BUILD/runs/anet}"
fi

BIN="${FACEATTR_TRAIN_BIN:-}"
if [[ -z "$BIN" ]]; then
  PREFIX=()
  if [[ "$DEVICE" == cuda ]]; then
    # PyTorch 2.x ships a CUDA libtorch; point CMake at it.
    PREFIX=(-DCMAKE_PREFIX_PATH="$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')")
  fi
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFACEATTR_BUILD_TESTS=OFF \
    -DFACEATTR_BUILD_BENCH=OFF "${PREFIX[@]}" >/dev/null
  ninja -C "$BUILD" faceattr_train
  BIN="$BUILD/bin/faceattr_train"
fi

mkdir -p "$RUN" "$OUT"
start=$(date +%s)
if [[ "$STAGES" == teacher ]]; then
  common=(--data-root "$DATA" --device "$DEVICE" "${EXTRA[@]}")
  echo "== teacher: finetune, export ($(date +%T))"
  "$BIN" finetune --config "$CONFIG" --run-dir "$RUN/base" "${common[@]}"
  "$BIN" export --config "$CONFIG" --run-dir "$RUN/base" --head finetuned --out-dir "$RUN/base/models" "${common[@]}"
  echo "== teacher: anet-joint, export ($(date +%T))"
  "$BIN" anet-joint --config "$CONFIG" --run-dir "$RUN" --from-model "$RUN/base/models/anet-fp32.fam" \
    --joint-lnet "$OUT/lnet-int8.fam" "${common[@]}"
  "$BIN" export --config "$CONFIG" --run-dir "$RUN" --head finetuned --out-dir "$RUN/models" "${common[@]}"
  # The student (the shipped ANet config) taught by the teacher and itself, with LFW.
  S=(--config "$ROOT/train/configs/anet.json" --from-model "$OUT/anet-fp32.fam" --joint-lnet "$OUT/lnet-int8.fam"
     --joint-teacher "$RUN/models/anet-fp32.fam,$OUT/anet-fp32.fam" --joint-lfw auto)
  for kind in distill pseudo; do
    echo "== student: anet-joint ($kind), export ($(date +%T))"
    extra=()
    [[ "$kind" == pseudo ]] && extra=(--joint-pseudo 0.9)
    "$BIN" anet-joint "${S[@]}" --run-dir "$RUN/$kind" "${extra[@]}" "${common[@]}"
    "$BIN" export --config "$ROOT/train/configs/anet.json" --run-dir "$RUN/$kind" --head finetuned \
      --out-dir "$RUN/$kind/models" "${common[@]}"
  done
  echo "== done in $(( ($(date +%s) - start) / 60 )) min; run folder: $RUN"
  exit 0
fi
for stage in $STAGES; do
  echo "== $stage ($(date +%T))"
  cmd=("$stage" --config "$CONFIG" --run-dir "$RUN")
  case "$stage" in
    lnet-pretrain|lnet-train) cmd=("$stage" --config "$CONFIG" --run-dir "${BASE:-$RUN}") ;;
    loc-train) cmd=(loc-train --config "$CONFIG" --run-dir "$BASE") ;;
    loc-finetune) cmd=(loc-train --config "$ROOT/train/configs/loc-ft.json" --run-dir "$RUN" --loc-init "$BASE/loc/loc.pt") ;;
    anet-joint) cmd+=(--from-model "$OUT/anet-fp32.fam" --joint-lnet "$OUT/lnet-int8.fam") ;;
    export) [[ "$LNET" == 3 ]] && cmd+=(--head finetuned) ;;
    lnet-hide) cmd=(lnet-train --config "$HIDE_CONFIG" --run-dir "$RUN" --lnet-init "$BASE/lnet/lnet.pt") ;;
    lnet-export) if [[ "$BASE" != "$RUN" ]]; then cmd=(lnet-export --config "$HIDE_CONFIG" --run-dir "$RUN"); fi ;;
  esac
  "$BIN" "${cmd[@]}" --data-root "$DATA" --out-dir "$OUT" --device "$DEVICE" "${EXTRA[@]}"
done
echo "== done in $(( ($(date +%s) - start) / 60 )) min; run folder: $RUN"
