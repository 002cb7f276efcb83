#!/usr/bin/env bash
# Rebuilds Conformance/: the positive vectors (NNCodec 2.1.3, through Python) and then the
# negative vectors and Conformance/manifest.json (Swift: the nnr-conformance-generator executable of
# Tools/ConformanceGenerator; `swift run nnr-conformance-generator --check` only compares).
#
#   Tools/make-conformance-vectors.sh              # both
#   Tools/make-conformance-vectors.sh --negative   # negative vectors + manifest only (no Python)
#   Tools/make-conformance-vectors.sh --positive   # positive vectors only
#
# Environment:
#   NNC_VENV      virtual environment for nncodec (default /tmp/nnc-venv; created if missing,
#                 always outside the repository)
#   NNC_SHARED    the public reference vectors (default ../shared/conformance)
#   SCRATCH       SwiftPM scratch path (default .build-vectors)
#
# The test suite never runs Python: it only reads what this script wrote.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode="${1:-all}"
venv="${NNC_VENV:-/tmp/nnc-venv}"
shared="${NNC_SHARED:-$(dirname "$root")/shared/conformance}"
scratch="${SCRATCH:-.build-vectors}"

positive() {
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating $venv with nncodec==2.1.3 (this downloads packages)"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "numpy==1.26.4" "nncodec==2.1.3"
    fi
    "$venv/bin/python" -c "import nncodec, numpy" || {
        echo "error: $venv has no working nncodec/numpy" >&2
        exit 2
    }
    "$venv/bin/python" Tools/make-conformance-vectors.py --shared "$shared" --out Conformance/vectors
}

negative() {
    swift run --scratch-path "$scratch" nnr-conformance-generator --root Conformance
}

case "$mode" in
    all|--all) positive; negative ;;
    --positive) positive ;;
    --negative) negative ;;
    *) echo "usage: $0 [--positive|--negative]" >&2; exit 2 ;;
esac
echo "done: $(du -sh Conformance | cut -f1) in Conformance/"
