#!/usr/bin/env bash
# Large-model benchmark: encodes two LLM-shaped BF16 Hugging Face checkpoints (140M and 1.14B
# parameters, made by Tools/make_sharded_checkpoint.py) from their index files with the release
# build, and prints wall time, CPU time / wall, params/s and peak resident memory
# (/usr/bin/time -f %M) for each, plus the ratio of the two throughputs (issue 14: >= 0.9) and
# whether the 1.14B run stayed within 1 GiB.
#
#   Tools/bench_large.sh [--work DIR] [--keep] [--decode] [--small-only]
#
# --decode also decodes each bitstream back to one BF16 safetensors file (`nnr decode --dtype
#   bfloat16`, streaming: manifest first, each tensor written as it is decoded), checks that every
#   tensor is back with its name, shape and dtype (safetensors headers compared), and measures it;
#   the throughput ratio is then printed for decode too.
# The checkpoints (2.6 GB together) are made under --work (default /tmp/nnr-bench-large) and
# removed at the end unless --keep. Run it on an otherwise idle machine: CPU / wall and
# throughput depend on both cores being free.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work=/tmp/nnr-bench-large
keep=0 decode=0 small_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --decode) decode=1; shift ;;
    --small-only) small_only=1; shift ;;
    *) echo "usage: $0 [--work DIR] [--keep] [--decode] [--small-only]" >&2; exit 2 ;;
  esac
done
nnr="${NNR:-$here/.build/release/nnr}"
if [ -z "${NNR:-}" ]; then (cd "$here" && swift build -c release --product nnr >/dev/null); fi
mkdir -p "$work"
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"/m140m "$work"/m1140m "$work"/*.nnr "$work"/*.safetensors; fi; }
trap cleanup EXIT

models=(m140m:140e6:2)
[ "$small_only" = 1 ] || models+=(m1140m:1.14e9:4)

rows=()
declare -A rate drate peak
for spec in "${models[@]}"; do
  IFS=: read -r name params shards <<<"$spec"
  dir="$work/$name"
  if [ ! -f "$dir/model.safetensors.index.json" ]; then
    python3 "$here/Tools/make_sharded_checkpoint.py" --params "$params" --shards "$shards" --out "$dir"
  fi
  # Parameters and bytes from the index (BF16: 2 bytes per parameter).
  bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["total_size"])' "$dir/model.safetensors.index.json")
  n=$((bytes / 2))
  out="$work/$name.nnr"
  t=$( { /usr/bin/time -f "%e %U %S %M" "$nnr" encode "$dir/model.safetensors.index.json" -o "$out" -q; } 2>&1 | tail -1)
  read -r wall user sys kb <<<"$t"
  size=$(stat -c %s "$out")
  peak[$name encode]=$kb
  rate[$name]=$(python3 -c "print($n / $wall)")
  row=$(python3 -c "
n, wall, cpu, kb, size, b = $n, $wall, $user + $sys, $kb, $size, $bytes
print(f'{\"$name\":8} {\"encode\":7} {n/1e6:9.1f} {wall:8.1f} {cpu/wall:8.2f} {n/wall/1e6:10.2f} {kb/1024:9.0f} {b/size:7.2f}')")
  rows+=("$row")
  if [ "$decode" = 1 ]; then
    dec="$work/$name.safetensors"
    t=$( { /usr/bin/time -f "%e %U %S %M" "$nnr" decode "$out" -o "$dec" --dtype bfloat16 -q; } 2>&1 | tail -1)
    read -r wall user sys kb <<<"$t"
    # All tensors back with their names and shapes (headers compared, data not).
    python3 - "$dir" "$dec" <<'EOF'
import json, os, struct, sys
def header(p):
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"]) for k, v in h.items()}
want = {}
for s in sorted(set(json.load(open(os.path.join(sys.argv[1], "model.safetensors.index.json")))["weight_map"].values())):
    want.update(header(os.path.join(sys.argv[1], s)))
got = header(sys.argv[2])
sys.exit(0 if got == want else f"decoded tensors differ from the checkpoint: {len(got)} vs {len(want)}")
EOF
    drate[$name]=$(python3 -c "print($n / $wall)")
    peak[$name decode]=$kb
    row=$(python3 -c "
n, wall, cpu, kb = $n, $wall, $user + $sys, $kb
print(f'{\"$name\":8} {\"decode\":7} {n/1e6:9.1f} {wall:8.1f} {cpu/wall:8.2f} {n/wall/1e6:10.2f} {kb/1024:9.0f} {\"-\":>7}')")
    rows+=("$row")
    rm -f "$dec"
  fi
done

echo "load average before the table: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "model    step    Mparams   wall s  CPU/wall  Mparams/s   peak MB   ratio"
printf '%s\n' "${rows[@]}"
if [ "$small_only" = 0 ]; then
  python3 -c "print(f'encode params/s 1.14B / 140M: {${rate[m1140m]} / ${rate[m140m]}:.3f} (issue 14: >= 0.9)')"
  for k in "m1140m encode" "m1140m decode"; do
    [ -n "${peak[$k]:-}" ] && python3 -c "print(f'$k peak {${peak[$k]} / 1024:.0f} MB: ' + ('within' if ${peak[$k]} <= 1048576 else 'ABOVE') + ' 1 GiB')"
  done
  if [ "$decode" = 1 ]; then
    python3 -c "print(f'decode params/s 1.14B / 140M: {${drate[m1140m]} / ${drate[m140m]}:.3f} (issue 14: >= 0.9)')"
  fi
fi
