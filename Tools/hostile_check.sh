#!/usr/bin/env bash
# Hostile-input matrix (issue 18): every crafted file through every command, each under a 2 GB
# address-space cap and a 30 s timeout; prints one row per run (exit code, seconds, peak RSS).
#
#   Tools/hostile_check.sh [--nnr PATH] [--keep DIR]
#
# Inputs: ../shared/hostile/* (when present) and fresh files of the same kinds written by
# Tools/make_hostile_files.py (npz size lies, zip bombs, safetensors lies, aggregates with too many
# units, many small units, unsafe tensor names). Bitstreams (.nnc) go through decode (to .npz),
# check and dump (text, json, xml); model files (.npz, .safetensors, .npy) through encode.
# A run passes when it exits 0 or 1 (never a signal, never the timeout, never 2).
#
# Environment: NNR_AS_LIMIT (bytes, default 2000000000), NNR_TIMEOUT (seconds, default 30).
# Exit status: 0 every run passed, 1 some run did not, 2 usage or setup failure.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
NNR="$ROOT/.build/release/nnr"
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --nnr) NNR=$2; shift 2 ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "hostile_check.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
AS_LIMIT=${NNR_AS_LIMIT:-2000000000}
TIMEOUT=${NNR_TIMEOUT:-30}
if [ ! -x "$NNR" ]; then
    echo "== building nnr (release)"
    swift build -c release --product nnr >/dev/null || exit 2
fi
for tool in prlimit timeout /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "hostile_check.sh: $tool is needed" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nnr-hostile-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FRESH=${KEEP:-$WORK/fresh}
mkdir -p "$FRESH" "$WORK/out"
echo "== writing fresh hostile files into $FRESH"
python3 "$ROOT/Tools/make_hostile_files.py" "$FRESH" >/dev/null || exit 2
# the valid zero bomb at 2^31 elements (exactly the default element limit)
if [ -f "$ROOT/../shared/hostile/rowskip_valid_65536x4096.nnc" ]; then
    python3 "$ROOT/Tools/make_zero_bomb.py" 32768 "$FRESH/rowskip_valid_65536x32768.nnc" \
        "$ROOT/../shared/hostile/rowskip_valid_65536x4096.nnc" || exit 2
fi

FILES=()
if [ -d "$ROOT/../shared/hostile" ]; then
    for f in "$ROOT"/../shared/hostile/*; do [ -f "$f" ] && FILES+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
fi
for f in "$FRESH"/*; do FILES+=("$f"); done

FAILED=0
printf '%-34s %-12s %5s %8s %10s  %s\n' file command exit seconds peak_MB result
run() {  # run FILE LABEL ARGS...
    local file=$1 label=$2; shift 2
    local stats="$WORK/time" status secs kb result
    rm -f "$WORK/out/"*
    /usr/bin/time -o "$stats" -f '%e %M' prlimit --as="$AS_LIMIT" timeout "$TIMEOUT" "$NNR" "$@" \
        >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
    read -r secs kb < <(tail -1 "$stats")
    case "$status" in
        0|1) result=ok ;;
        124) result="TIMEOUT"; FAILED=1 ;;
        *) if [ "$status" -gt 128 ]; then result="SIGNAL $((status - 128))"; else result="exit $status"; fi; FAILED=1 ;;
    esac
    if [ "$result" = ok ] && [ "$status" -ne 0 ] && ls "$WORK/out/"* >/dev/null 2>&1; then
        result="wrote output on failure"; FAILED=1
    fi
    printf '%-34s %-12s %5s %8s %10s  %s\n' "$(basename "$file")" "$label" "$status" "$secs" \
        "$(awk -v k="${kb:-0}" 'BEGIN { printf "%.1f", k / 1024 }')" "$result"
}

for f in "${FILES[@]}"; do
    case "$f" in
        *.nnc)
            run "$f" decode decode -q "$f" -o "$WORK/out/decoded.npz"
            run "$f" check check "$f"
            for fmt in text json xml; do run "$f" "dump $fmt" dump --format "$fmt" "$f"; done ;;
        *.npz|*.npy|*.safetensors)
            run "$f" encode encode -q "$f" -o "$WORK/out/encoded.nnc" ;;
    esac
done

if [ "$FAILED" -ne 0 ]; then
    echo "hostile_check: FAILED (a run ended by a signal, the timeout, exit 2, or wrote output on failure)"
    exit 1
fi
echo "hostile_check: every run exited 0 or 1"
