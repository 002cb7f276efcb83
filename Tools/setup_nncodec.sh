#!/usr/bin/env bash
# Creates a virtual environment OUTSIDE the repository with NNCodec 2.1.3 (pulls PyPI torch).
# Used only by the interop and benchmark scripts in Tools/; builds and tests never need it.
set -euo pipefail
VENV="${NNC_VENV:-/tmp/nnc-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q nncodec==2.1.3
"$VENV/bin/python" -c "import nncodec; print('nncodec at', nncodec.__file__)"
echo "export NNC_VENV=$VENV"
