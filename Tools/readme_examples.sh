#!/usr/bin/env bash
# Writes README.md's CLI examples from the real `nnr`, and its quoted files from the repository,
# so that the README cannot drift from the program.
#
#   Tools/readme_examples.sh           rewrite the marked blocks of README.md
#   Tools/readme_examples.sh --check   exit 1, with a diff, if README.md differs (run by
#                                      CommandLineTests.testREADMEExamplesAreCurrent)
#
# NNR=path/to/nnr picks the binary (default .build/release/nnr if it exists, else .build/debug/nnr).
#
# A block  <!-- BEGIN nnr example: NAME --> ... <!-- END nnr example: NAME -->  becomes a ```
# fence holding, for each command of NAME (listed in `commands` below), "$ command" and what it
# prints: standard output and standard error, as a terminal shows them. Progress lines of encode
# ("[3/10] conv2.weight") are left out: on a terminal they are one line, erased at the end.
# Commands run in the repository root with `nnr` on PATH.
# A block  <!-- BEGIN file: PATH LANG --> ... <!-- END file: PATH -->  becomes a ```LANG fence
# holding the file PATH.
#
# Normalisation for --check: timings differ from run to run and between debug and release builds,
# so every figure of seconds ("in 0.14 s", "(0.004 s)") is compared as "N s". Nothing else is.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = "--check" ] && check=1
nnr="${NNR:-}"
if [ -z "$nnr" ]; then
  if [ -x .build/release/nnr ]; then nnr=.build/release/nnr; else nnr=.build/debug/nnr; fi
fi
[ -x "$nnr" ] || { echo "readme_examples: $nnr is not built (swift build)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$(cd "$(dirname "$nnr")" && pwd)/$(basename "$nnr")" "$work/bin/nnr"

commands() {
  case "$1" in
    encode) echo 'nnr encode Examples/small_cnn.npz -o /tmp/small_cnn.nnr --qp -32' ;;
    decode)
      echo 'nnr decode /tmp/small_cnn.nnr -o /tmp/small_cnn.npz'
      echo 'nnr decode Conformance/vectors/gen_inc_hdsp_48x32/step{0,1,2,3}.nnc -o /tmp/hdsp/'
      ;;
    dump) echo 'nnr dump Conformance/vectors/t_tiny_1x1/bitstream.nnc' ;;
    dump-json) echo 'nnr dump Conformance/vectors/t_tiny_1x1/bitstream.nnc --format json | head -n 40' ;;
    dump-xml) echo 'nnr dump Conformance/vectors/t_tiny_1x1/bitstream.nnc --format xml | head -n 12' ;;
    check)
      echo 'nnr check Conformance/vectors/t_tiny_1x1/bitstream.nnc'
      echo 'nnr check Conformance/negative/NNR-H007.nnc; echo "exit $?"'
      ;;
    errors)
      echo 'nnr decode Examples -o /tmp/x.npz; echo "exit $?"'
      echo 'nnr encode Examples/small_cnn.npz -o /tmp/small_cnn.nnr --qp-for conv9.weight=-20; echo "exit $?"'
      ;;
    *) echo "readme_examples: no commands for example '$1'" >&2; exit 2 ;;
  esac
}

# Prints the fence of example $1.
render_example() {
  echo '```'
  commands "$1" | while IFS= read -r cmd; do
    echo "\$ $cmd"
    PATH="$work/bin:$PATH" bash -c "$cmd" 2>&1 </dev/null | sed -E '/^\[[0-9]+\/[0-9]+\] /d' || true
  done
  echo '```'
}

# Prints the fence of file $1 in language $2.
render_file() {
  echo "\`\`\`$2"
  cat "$1"
  echo '```'
}

# README.md with every marked block rewritten.
out="$work/README.md"
: > "$out"
skip=""
while IFS= read -r line || [ -n "$line" ]; do
  if [ -n "$skip" ]; then
    if [ "$line" = "$skip" ]; then echo "$line" >> "$out"; skip=""; fi
    continue
  fi
  echo "$line" >> "$out"
  if [[ "$line" =~ ^\<!--\ BEGIN\ nnr\ example:\ ([a-z0-9-]+)\ --\>$ ]]; then
    name="${BASH_REMATCH[1]}"
    render_example "$name" >> "$out"
    skip="<!-- END nnr example: $name -->"
  elif [[ "$line" =~ ^\<!--\ BEGIN\ file:\ ([^ ]+)\ ([a-z]+)\ --\>$ ]]; then
    render_file "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" >> "$out"
    skip="<!-- END file: ${BASH_REMATCH[1]} -->"
  fi
done < README.md
[ -z "$skip" ] || { echo "readme_examples: README.md has no '$skip'" >&2; exit 2; }

normalise() { sed -E 's/[0-9]+(\.[0-9]+)? s\b/N s/g' "$1"; }

if [ "$check" = 1 ]; then
  if ! diff -u <(normalise README.md) <(normalise "$out") > "$work/diff"; then
    echo "README.md differs from what $nnr prints (run Tools/readme_examples.sh to rewrite it):"
    cat "$work/diff"
    exit 1
  fi
  echo "README.md examples match $nnr"
else
  cp "$out" README.md
  echo "README.md examples rewritten from $nnr"
fi
