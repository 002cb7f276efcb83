#!/usr/bin/env bash
# Speed per core: nnr (whole process) against NNCodec 2.1.3 (in-process) on one core, best of N.
# Prints a Markdown table with the CPU model. See Tools/speed_compare.py for what each row times.
#
#   Tools/setup_nncodec.sh                 # once: venv with nncodec==2.1.3 (NNC_VENV, default /tmp/nnc-venv)
#   swift build -c release --product nnr   # or Tools/build_release.sh
#   Tools/speed_compare.sh [--core N] [--repeat N] [--encode-repeat N] [--no-encode] [--no-whole-model]
#                          [--nnr LABEL=PATH ...]   (several binaries: one column each, e.g. before/after)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${NNC_VENV:-/tmp/nnc-venv}"
core=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --core) core="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
"$venv/bin/python" -c "import nncodec" 2>/dev/null || { echo "NNCodec missing in $venv: run Tools/setup_nncodec.sh" >&2; exit 2; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 2; }
# One pinned process: the reference runs in it, nnr runs as its child (hyperfine inherits the core).
exec taskset -c "$core" env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$venv/bin/python" "$here/speed_compare.py" ${args[@]+"${args[@]}"}
