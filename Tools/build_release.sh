#!/usr/bin/env bash
# Release build of the nnr CLI as one fully static executable (no dynamic loader, no shared library).
#
#   Tools/build_release.sh [swift build options]   # -> .build/release/nnr
#
# -static-executable links the Swift runtime, Foundation, libxml2 (with the ICU, lzma and zlib it
# needs), libstdc++ and glibc into the binary: nothing is looked up, mapped or relocated at start,
# and the parts of Foundation and ICU that a run does not touch are never paged in. On a 2-core AMD
# EPYC, taskset -c 1, `perf stat -r 20` (best of 3): `nnr --version` took 1.2 ms of CPU linked
# this way instead of 2.7 ms with only the Swift runtime static (--static-swift-stdlib) and 4.9 ms
# linked dynamically (0.6 ms since it no longer goes through ArgumentParser: Sources/nnr/FastPath);
# decoding the 0.6 MB MiniLM query tensor 13.5 ms instead of 15.3 ms (before FastPath).
# glibc's warnings about getpwnam, getaddrinfo and dlopen in a static binary concern code nnr
# does not run (Foundation's home-directory lookup, libxml2's HTTP/FTP loaders) and are filtered.
# The binary is about 118 MB (mostly ICU data, never read by nnr). Output is identical to the
# dynamically linked build (same code; only the linking differs).
# The static compile flags differ from a plain `swift build -c release`: switching between the two
# rebuilds the release objects.
set -euo pipefail
cd "$(dirname "$0")/.."
# libxml2's static archive needs these after it on the link line (pkg-config --static).
static_libs=(icuuc icudata lzma z m stdc++)
# The static archives come from Debian's -dev packages (libxml2-dev pulls in libicu-dev, not liblzma-dev).
declare -A package=([xml2]=libxml2-dev [icuuc]=libicu-dev [icudata]=libicu-dev [lzma]=liblzma-dev [z]=zlib1g-dev [m]=libc6-dev [stdc++]=libstdc++-12-dev)
cc=$(command -v cc || command -v clang)
for l in xml2 "${static_libs[@]}"; do
    [ -e "$("$cc" -print-file-name="lib$l.a")" ] || { echo "lib$l.a is missing: apt-get install ${package[$l]}" >&2; exit 2; }
done
linker_flags=()
for l in "${static_libs[@]}"; do linker_flags+=(-Xlinker "-l$l"); done
# -disable-concrete-type-metadata-mangled-name-accessors: the compiler reaches the metadata of
# concrete generic types (Set<String>, ArgumentParser's option storage) through accessor functions
# instead of mangled names, so the runtime does not demangle them and scan the binary's
# conformance records for their Hashable/Sequence requirements on first use (about 0.35M
# instructions each in this static binary). `nnr decode` of the 0.6 MB query tensor: 83.26M ->
# 82.43M instructions, 7.48 -> 7.29 ms task-clock (perf stat -r 40, taskset -c 1, 3 alternating runs).
swift build -c release --product nnr --static-swift-stdlib -Xswiftc -static-executable \
    -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
    "${linker_flags[@]}" "$@" 2>&1 \
    | { grep -v "in statically linked applications requires at runtime\|the use of \`mktemp' is dangerous" || true; }
if ldd .build/release/nnr >/dev/null 2>&1; then
    echo ".build/release/nnr is not a static executable:" >&2
    ldd .build/release/nnr >&2
    exit 1
fi
echo ".build/release/nnr (fully static): $(.build/release/nnr --version)"
