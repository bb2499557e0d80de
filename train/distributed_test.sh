#!/usr/bin/env bash
# Distributed training test (train/README.md, "Distributed training"), driven by
# tests/trainer.cmake:  train/distributed_test.sh <faceattr_train> <scratch dir>
#
# On the toy dataset, Gloo over loopback, 1 thread per rank:
#  1. 2 ranks through scripts/train_distributed.sh with --sync-bn end with the
#     weights of 1 rank with the same global batch: max |diff| <= 1e-3 after 8
#     steps (fp32 sums in another order). Without it (the default), BatchNorm
#     normalises each rank's half batch and the weights must differ by more.
#  2. Rank 1 SIGKILLed mid-epoch: rank 0 exits with status 3 within the timeout.
#  3. Both restarted with --resume: the final weights equal an uninterrupted
#     2-rank run's bit for bit.
#  4. Rank 1 stopped (SIGSTOP, alive but silent): rank 0 exits with status 3 once
#     the 5 s timeout has passed, not before and not much after.
#  5. Rank 0 (the rendezvous host) killed: rank 1 exits with status 3.
#  6. A generated-batch stage (lnet-pretrain) and a training stage's refusal of a
#     batch that does not split over the ranks.
set -uo pipefail
BIN="$1"
WORK="$2"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$WORK"
mkdir -p "$WORK"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
# A port per run, so that parallel test runs do not meet.
PORT=$(( 20000 + ($$ * 7 + RANDOM) % 30000 ))
next_port() { PORT=$(( PORT + 1 )); }

"$BIN" make-toy-data --out "$WORK/data" --n 48 > /dev/null 2>&1 || fail "make-toy-data"
ARGS=(finetune --data-root "$WORK/data" --device cpu --threads 1 --workers 1 --seed 11 --batch 8
      --input-width 32 --input-height 40 --width-mult 0.5 --max-steps 4 --dropout 0 --init "")

# rank R of 2 in the background: run_rank R RUN_DIR LOG [extra args]; sets RANK_PID
run_rank() {
  local r=$1 dir=$2 log=$3
  shift 3
  "$BIN" "${ARGS[@]}" --run-dir "$dir" --world-size 2 --rank "$r" --master "127.0.0.1:$PORT" "$@" \
    > "$log" 2>&1 &
  RANK_PID=$!
}

# 1. one rank vs two
"$BIN" "${ARGS[@]}" --finetune-epochs 2 --run-dir "$WORK/one" > "$WORK/one.log" 2>&1 || fail "1-rank run"
next_port
FACEATTR_TRAIN_BIN="$BIN" "$ROOT/scripts/train_distributed.sh" -n 2 --port "$PORT" --log-dir "$WORK/two" -- \
  "${ARGS[@]}" --finetune-epochs 2 --sync-bn --run-dir "$WORK/two" > "$WORK/two.log" 2>&1 || {
  cat "$WORK/two.log" "$WORK/two/rank-1.log"
  fail "2-rank run through the launcher"
}
grep -q "2 ranks, batch 4 per rank" "$WORK/two.log" || fail "rank 0 did not report 2 ranks of batch 4"
grep -q "epoch" "$WORK/two/rank-1.log" && fail "rank 1 logged epochs (only rank 0 logs)"
"$BIN" compare-weights "$WORK/one/finetune/anet.pt" "$WORK/two/finetune/anet.pt" --tolerance 1e-3 \
  > "$WORK/cmp12.log" 2>&1 || { cat "$WORK/cmp12.log"; fail "2 ranks differ from 1 rank by more than 1e-3"; }
echo "1 vs 2 ranks, --sync-bn: $(tail -1 "$WORK/cmp12.log")"
next_port
run_rank 0 "$WORK/two-local-bn" "$WORK/lbn0.log" --finetune-epochs 2
P0=$RANK_PID
run_rank 1 "$WORK/two-local-bn" "$WORK/lbn1.log" --finetune-epochs 2
wait "$RANK_PID" || fail "2-rank run without --sync-bn (rank 1)"
wait "$P0" || { cat "$WORK/lbn0.log"; fail "2-rank run without --sync-bn (rank 0)"; }
"$BIN" compare-weights "$WORK/one/finetune/anet.pt" "$WORK/two-local-bn/finetune/anet.pt" --tolerance 1e-3 \
  > "$WORK/cmp12l.log" 2>&1 && fail "per-rank BatchNorm matched 1 rank within 1e-3: is it synchronised?"
echo "1 vs 2 ranks, per-rank BatchNorm: $(tail -1 "$WORK/cmp12l.log")"

# 2. rank 1 killed at step 2 of epoch 2; rank 0 must notice within the timeout (30 s)
next_port
run_rank 0 "$WORK/kill" "$WORK/kill0.log" --finetune-epochs 3 --dist-timeout 30
P0=$RANK_PID
FACEATTR_TRAIN_KILL_AT=step:2:2 run_rank 1 "$WORK/kill" "$WORK/kill1.log" --finetune-epochs 3 --dist-timeout 30
wait "$RANK_PID"
rc1=$?
t_kill=$(now_ms)
wait "$P0"
rc0=$?
dt=$(( $(now_ms) - t_kill ))
[ "$rc1" -eq 137 ] || { cat "$WORK/kill1.log"; fail "rank 1 was not killed at step:2:2 (status $rc1)"; }
[ "$rc0" -eq 3 ] || { cat "$WORK/kill0.log"; fail "rank 0 exited with $rc0 after its peer died, expected 3"; }
grep -q "a rank left or did not answer" "$WORK/kill0.log" || fail "rank 0 gave no clear error"
[ "$dt" -le 30000 ] || fail "rank 0 took $dt ms to exit after rank 1 died (timeout 30 s)"
echo "rank 1 killed: rank 0 exited with status 3 after $dt ms"

# 3. resume both; compare with an uninterrupted 2-rank run
next_port
run_rank 0 "$WORK/kill" "$WORK/res0.log" --finetune-epochs 3 --resume
P0=$RANK_PID
run_rank 1 "$WORK/kill" "$WORK/res1.log" --finetune-epochs 3 --resume
wait "$RANK_PID" || { cat "$WORK/res1.log"; fail "resumed rank 1"; }
wait "$P0" || { cat "$WORK/res0.log"; fail "resumed rank 0"; }
grep -q "resuming after epoch 1" "$WORK/res0.log" || fail "rank 0 did not resume after epoch 1"
next_port
run_rank 0 "$WORK/ref" "$WORK/ref0.log" --finetune-epochs 3
P0=$RANK_PID
run_rank 1 "$WORK/ref" "$WORK/ref1.log" --finetune-epochs 3
wait "$RANK_PID" || fail "reference rank 1"
wait "$P0" || fail "reference rank 0"
"$BIN" compare-weights "$WORK/kill/finetune/anet.pt" "$WORK/ref/finetune/anet.pt" > "$WORK/cmpres.log" 2>&1 ||
  { cat "$WORK/cmpres.log"; fail "killed and resumed 2-rank run differs from the uninterrupted one"; }
echo "resume after the kill: $(tail -1 "$WORK/cmpres.log")"

# 4. rank 1 alive but silent: rank 0 fails after the 5 s timeout
next_port
run_rank 0 "$WORK/hang" "$WORK/hang0.log" --finetune-epochs 400 --dist-timeout 5
P0=$RANK_PID
run_rank 1 "$WORK/hang" "$WORK/hang1.log" --finetune-epochs 400 --dist-timeout 5
P1=$RANK_PID
for _ in $(seq 100); do grep -q "epoch 2 " "$WORK/hang0.log" 2>/dev/null && break; sleep 0.2; done
kill -STOP "$P1"
t_stop=$(now_ms)
wait "$P0"
rc0=$?
dt=$(( $(now_ms) - t_stop ))
kill -KILL "$P1" 2>/dev/null
wait "$P1" 2>/dev/null
[ "$rc0" -eq 3 ] || { tail -c 2000 "$WORK/hang0.log"; fail "rank 0 exited with $rc0 beside a stopped peer, expected 3"; }
[ "$dt" -ge 4000 ] && [ "$dt" -le 20000 ] || fail "rank 0 gave up $dt ms after its peer stopped (timeout 5 s)"
echo "rank 1 stopped: rank 0 exited with status 3 after $dt ms (timeout 5 s)"

# 5. rank 0 killed: rank 1 fails
next_port
FACEATTR_TRAIN_KILL_AT=step:1:2 run_rank 0 "$WORK/kill-root" "$WORK/kr0.log" --finetune-epochs 2 --dist-timeout 30
P0=$RANK_PID
run_rank 1 "$WORK/kill-root" "$WORK/kr1.log" --finetune-epochs 2 --dist-timeout 30
wait "$P0"
rc0=$?
wait "$RANK_PID"
rc1=$?
[ "$rc0" -eq 137 ] || fail "rank 0 was not killed (status $rc0)"
[ "$rc1" -eq 3 ] || { cat "$WORK/kr1.log"; fail "rank 1 exited with $rc1 after rank 0 died, expected 3"; }
echo "rank 0 killed: rank 1 exited with status 3"

# 6. a generated-batch stage on 2 ranks; a batch that does not split is refused
next_port
FACEATTR_TRAIN_BIN="$BIN" "$ROOT/scripts/train_distributed.sh" -n 2 --port "$PORT" --log-dir "$WORK/lnet" -- \
  lnet-pretrain --data-root "$WORK/data" --run-dir "$WORK/lnet" --device cpu --threads 1 \
  --lnet-input-width 64 --lnet-input-height 48 --lnet-width-mult 0.34 --lnet-batch 4 \
  --lnet-pretrain-epochs 1 --lnet-pretrain-steps 2 > "$WORK/lnet.log" 2>&1 ||
  { cat "$WORK/lnet.log"; fail "2-rank lnet-pretrain"; }
[ -f "$WORK/lnet/lnet-pretrain/lnet.pt" ] || fail "2-rank lnet-pretrain wrote no weights"
next_port
FACEATTR_TRAIN_BIN="$BIN" "$ROOT/scripts/train_distributed.sh" -n 2 --port "$PORT" --log-dir "$WORK/odd" -- \
  finetune --data-root "$WORK/data" --device cpu --threads 1 --workers 1 --batch 7 --input-width 32 \
  --input-height 40 --width-mult 0.5 --max-steps 2 --finetune-epochs 1 --init "" --run-dir "$WORK/odd" \
  > "$WORK/odd.log" 2>&1 &&
  fail "--batch 7 over 2 ranks was accepted"
grep -q "does not split over 2 ranks" "$WORK/odd.log" "$WORK/odd/rank-1.log" || fail "no clear error for --batch 7"
echo "distributed training test passed"
