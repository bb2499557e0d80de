#!/usr/bin/env bash
# Data-parallel training with faceattr_train (train/README.md, "Distributed training").
#
#   scripts/train_distributed.sh -n N -- <stage> <train args>
#       starts N ranks on this machine (Gloo over loopback) and waits for them
#   scripts/train_distributed.sh -n N --hosts h1,h2[,...] [--port P] -- <stage> <train args>
#       prints, for each host, the command that starts its N ranks (rank 0 on h1)
#   scripts/train_distributed.sh -n N --world-size W --first-rank R --master HOST:PORT -- ...
#       what those commands are: ranks R..R+N-1 of W on this machine
#
# Each rank gets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT and LOCAL_RANK (its GPU
# on a CUDA machine) in its environment. --batch (and --lnet-batch, --loc-batch)
# stay global: each rank takes 1/W of every batch. The N local ranks are bound to
# N disjoint slices of the CPUs the launcher may use (taskset; --no-bind leaves
# them free): give each rank --threads equal to its share (e.g. --threads 1 for 2
# ranks on 2 cores).
#
# When a rank fails, the launcher stops the others on this machine and exits with
# that rank's status; ranks on other machines stop on their own when their next
# collective fails (at once when the peer's connection drops, else after
# --dist-timeout). Output: rank 0 on the terminal, every other rank in
# rank-<R>.log in the log folder (--log-dir, default the current folder).
# FACEATTR_TRAIN_BIN picks the binary (default build/bin/faceattr_train).
set -euo pipefail

usage() {
  sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

n=0
hosts=""
port=29500
world=0
first=0
master=""
log_dir="."
bind=1
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    --hosts) hosts="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --world-size) world="$2"; shift 2 ;;
    --first-rank) first="$2"; shift 2 ;;
    --master) master="$2"; shift 2 ;;
    --log-dir) log_dir="$2"; shift 2 ;;
    --no-bind) bind=0; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) echo "train_distributed: unknown option $1 (arguments for the trainer go after --)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "train_distributed: no trainer arguments after --" >&2; exit 2; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "train_distributed: -n N (ranks on this machine) is required" >&2; exit 2; }
[[ "$port" =~ ^[0-9]+$ ]] || { echo "train_distributed: --port $port is not a port" >&2; exit 2; }
for a in "$@"; do
  case "$a" in
    --world-size|--world-size=*|--rank|--rank=*|--master|--master=*)
      echo "train_distributed: the launcher sets $a itself" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${FACEATTR_TRAIN_BIN:-$root/build/bin/faceattr_train}"

quote() { printf '%q ' "$@"; }

if [ -n "$hosts" ]; then
  IFS=',' read -r -a hs <<< "$hosts"
  total=$(( n * ${#hs[@]} ))
  echo "# $total ranks, $n on each of ${#hs[@]} machines; rank 0 (and the rendezvous) on ${hs[0]}:$port."
  echo "# Run each line on its machine, from a checkout built the same way, with the data at the same path:"
  for i in "${!hs[@]}"; do
    echo "[${hs[$i]}] scripts/train_distributed.sh -n $n --world-size $total --first-rank $(( i * n )) --master ${hs[0]}:$port -- $(quote "$@")"
  done
  exit 0
fi

if [ "$world" -eq 0 ]; then
  world=$n
  first=0
  master="127.0.0.1:$port"
fi
[ -n "$master" ] || { echo "train_distributed: --world-size needs --master HOST:PORT" >&2; exit 2; }
[ $(( first + n )) -le "$world" ] || { echo "train_distributed: ranks $first..$(( first + n - 1 )) exceed --world-size $world" >&2; exit 2; }
[ -x "$bin" ] || { echo "train_distributed: $bin is not built (run scripts/setup.sh, or set FACEATTR_TRAIN_BIN)" >&2; exit 2; }
mkdir -p "$log_dir"

# CPU binding: local rank i gets the i-th of N equal slices of the CPUs this
# launcher may use. Ranks that share cores delay each other at every collective
# (train/README.md, "Distributed training").
cpus=()
if [ "$bind" -eq 1 ] && command -v taskset > /dev/null; then
  mask_list=$(taskset -cp $$ | sed 's/.*: //')
  for part in ${mask_list//,/ }; do
    if [[ "$part" == *-* ]]; then
      for (( c = ${part%-*}; c <= ${part#*-}; c++ )); do cpus+=("$c"); done
    else
      cpus+=("$part")
    fi
  done
  if [ ${#cpus[@]} -lt "$n" ]; then
    echo "train_distributed: $n ranks on ${#cpus[@]} CPUs: not binding" >&2
    cpus=()
  fi
fi
bind_cmd() {  # the taskset words for local rank $1 (none without binding)
  [ ${#cpus[@]} -gt 0 ] || return 0
  local per=$(( ${#cpus[@]} / n ))
  local slice=("${cpus[@]:$(( $1 * per )):$per}")
  local IFS=,
  printf 'taskset -c %s' "${slice[*]}"
}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap 'cleanup; exit 130' INT TERM

for (( i = 0; i < n; i++ )); do
  r=$(( first + i ))
  # shellcheck disable=SC2046  # $(bind_cmd): the taskset words, or none
  if [ "$r" -eq 0 ]; then
    RANK=$r WORLD_SIZE=$world MASTER_ADDR="${master%:*}" MASTER_PORT="${master##*:}" LOCAL_RANK=$i \
      $(bind_cmd "$i") "$bin" "$@" &
  else
    RANK=$r WORLD_SIZE=$world MASTER_ADDR="${master%:*}" MASTER_PORT="${master##*:}" LOCAL_RANK=$i \
      $(bind_cmd "$i") "$bin" "$@" > "$log_dir/rank-$r.log" 2>&1 &
  fi
  pids+=($!)
done

# The first rank to fail stops the others here; else wait for all.
status=0
live=("${pids[@]}")
while [ ${#live[@]} -gt 0 ]; do
  set +e
  wait -n -p done_pid "${live[@]}"
  rc=$?
  set -e
  rest=()
  for p in "${live[@]}"; do [ "$p" = "$done_pid" ] || rest+=("$p"); done
  live=("${rest[@]}")
  if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
    status=$rc
    for i in "${!pids[@]}"; do
      if [ "${pids[$i]}" = "$done_pid" ]; then
        echo "train_distributed: rank $(( first + i )) exited with status $rc; stopping the others" >&2
      fi
    done
    cleanup
  fi
done
exit "$status"
