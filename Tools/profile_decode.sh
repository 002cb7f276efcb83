#!/usr/bin/env bash
# Instructions per context-coded bin of `nnr decode` (release build), repeatable on a noisy machine.
#
#   Tools/profile_decode.sh [FILE.nnc ...]     (default: the 1024x1024 and MiniLM query vectors)
#
# Per file: bins counted from `nnr dump --trace` (context-coded bins: trace lines with a context
# index; bypass bins: lines without one), then `valgrind --tool=callgrind` on `nnr decode
# --sequential` gives the instructions of the whole process and of the coding loop (functions of
# NNRCoding's LevelLoop; the arithmetic decoder is inlined into it). Prints Ir per context-coded bin.
# NNR_BIN overrides the binary (default .build/release/nnr).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
nnr="${NNR_BIN:-$root/.build/release/nnr}"
shared="$(dirname "$root")/shared/conformance"
[ -x "$nnr" ] || { echo "$nnr missing: swift build -c release --product nnr" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 2; }
[ $# -gt 0 ] || set -- "$shared/t2d_1024x1024_qp-32_dq/bitstream.nnc" "$shared/t2d_minilm_l0_query_qp-32_dq/bitstream.nnc"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '| bitstream | context bins | bypass bins | Ir total | Ir coding loop | Ir/ctx bin (loop) | Ir/ctx bin (process) |\n|---|---:|---:|---:|---:|---:|---:|\n'
for f in "$@"; do
  # trace line: unit tensor pos row,col dq ctx bins element = value
  read -r ctx byp < <("$nnr" dump --trace "$f" | awk '$1 ~ /^[0-9]+$/ && NF >= 9 && $7 != "-" { if ($6 != "-") c += length($7); else b += length($7) } END { print c + 0, b + 0 }')
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$nnr" decode "$f" -o "$work/out.safetensors" --sequential --quiet >/dev/null 2>&1
  total=$(callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  loop=$(callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/LevelLoopV/ && $1 ~ /^[0-9,]+$/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
  awk -v n="$(basename "$(dirname "$f")")/$(basename "$f")" -v c="$ctx" -v b="$byp" -v t="$total" -v l="$loop" \
    'BEGIN { printf "| %s | %d | %d | %d | %d | %.1f | %.1f |\n", n, c, b, t, l, (c ? l / c : 0), (c ? t / c : 0) }'
done
