#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of Fuzz/ (see Spec/fuzzing.md).
#
#   Tools/fuzz.sh [TARGET|all] [SECONDS]   build, then fuzz each target SECONDS (default 60)
#   Tools/fuzz.sh ci                       build, replay the regressions, fuzz each target ~20 s
#   Tools/fuzz.sh regress                  build, replay Fuzz/Regressions and Fuzz/Corpus once
#   Tools/fuzz.sh build                    build only
#
# TARGET: parser | payload | decode | check | model.
# Exit status: 0 clean; 1 a target crashed, hung, leaked or ran out of memory (the input is
# copied to Fuzz/Regressions/<target>/); 2 usage or build failure.
#
# Environment: FUZZ_WORK (work corpora and artifacts, default .build-fuzz/work, which git
# ignores), FUZZ_NICE (niceness, default 10), FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (seconds
# per input, default 60), FUZZ_CI_SECONDS (default 20), FUZZ_EXTRA (more libFuzzer flags),
# FUZZ_NO_BUILD (set: use the targets already built).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

TARGETS=(parser payload decode check model)
SCRATCH="$ROOT/.build-fuzz"
WORK=${FUZZ_WORK:-$SCRATCH/work}
NICE=${FUZZ_NICE:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-60}
CI_SECONDS=${FUZZ_CI_SECONDS:-20}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

product() {
    case "$1" in
        parser) echo FuzzParser ;;
        payload) echo FuzzPayload ;;
        decode) echo FuzzDecode ;;
        check) echo FuzzCheck ;;
        model) echo FuzzModel ;;
        *) return 1 ;;
    esac
}

max_len() {
    case "$1" in
        parser) echo 8192 ;;
        payload) echo 16384 ;;
        *) echo 65536 ;;
    esac
}

BUILD_FLAGS=(--package-path Fuzz --scratch-path "$SCRATCH" -c release
             -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)

build() {
    if [ -n "${FUZZ_NO_BUILD:-}" ] && [ -x "$SCRATCH/release/FuzzCheck" ]; then
        BIN="$SCRATCH/release"
        return
    fi
    echo "== building the fuzz targets (release, -sanitize=fuzzer,address) into ${SCRATCH#"$ROOT"/}"
    local tries=0
    until nice -n "$NICE" swift build "${BUILD_FLAGS[@]}"; do
        tries=$((tries + 1))
        if [ "$tries" -ge "${FUZZ_BUILD_TRIES:-1}" ]; then
            echo "fuzz.sh: build failed (this toolchain needs libFuzzer: a swift.org Linux toolchain has it)" >&2
            exit 2
        fi
        echo "fuzz.sh: build failed, retrying in 60 s" >&2
        sleep 60
    done
    BIN=$(swift build "${BUILD_FLAGS[@]}" --show-bin-path) || exit 2
}

FAILED=0
SUMMARY=()

# Moves libFuzzer artifacts (crash-*, timeout-*, oom-*, leak-*) of target $1 from $2 into
# Fuzz/Regressions/$1/; prints how many.
save_artifacts() {
    local target=$1 art=$2 f saved=0
    mkdir -p "$ROOT/Fuzz/Regressions/$target"
    for f in "$art"/crash-* "$art"/timeout-* "$art"/oom-* "$art"/leak-*; do
        [ -f "$f" ] || continue
        cp "$f" "$ROOT/Fuzz/Regressions/$target/" && rm -f "$f"
        echo "fuzz.sh: $target: saved $(basename "$f") to Fuzz/Regressions/$target/" >&2
        saved=$((saved + 1))
    done
    echo "$saved"
}

# Fuzzes target $1 for $2 seconds.
run_target() {
    local target=$1 seconds=$2 exe log art status execs rate
    exe="$BIN/$(product "$target")"
    art="$WORK/artifacts/$target"
    mkdir -p "$WORK/$target" "$art" "$ROOT/Fuzz/Regressions/$target"
    log="$WORK/$target.log"
    echo "== fuzzing $target for $seconds s (log: ${log#"$ROOT"/})"
    # shellcheck disable=SC2086
    nice -n "$NICE" "$exe" -max_total_time="$seconds" -max_len="$(max_len "$target")" \
        -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -timeout="$TIMEOUT" -detect_leaks=1 \
        -print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_EXTRA:-} \
        "$WORK/$target" "$ROOT/Fuzz/Corpus/$target" >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    local result=ok saved
    saved=$(save_artifacts "$target" "$art")
    if [ "$status" -ne 0 ] || [ "$saved" -ne 0 ]; then
        result="FAILED (exit $status, $saved inputs saved)"
        FAILED=1
        grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|nnr fuzz target|Fatal error|SUMMARY' "$log" | head -5 >&2
        # The run stops at the first crash: without stats, count the executions from the log.
        [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    fi
    SUMMARY+=("$(printf '%-8s %6ss %12s execs %8s exec/s  corpus %5s  %s' "$target" "$seconds" "${execs:-?}" \
        "${rate:-?}" "$(find "$WORK/$target" -type f | wc -l)" "$result")")
}

# Replays the saved crashers and the seeds once through each target (no fuzzing).
regress() {
    local target exe files
    for target in "${TARGETS[@]}"; do
        exe="$BIN/$(product "$target")"
        files=()
        while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$ROOT/Fuzz/Regressions" "$ROOT/Fuzz/Corpus/$target" \
            -type f ! -name '.*' ! -name '*.md' -print0 2>/dev/null)
        [ "${#files[@]}" -gt 0 ] || continue
        echo "== replaying ${#files[@]} inputs through $target"
        if ! nice -n "$NICE" "$exe" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
            "${files[@]}" >"$WORK/$target.regress.log" 2>&1; then
            echo "fuzz.sh: $target fails on a saved input:" >&2
            grep -E 'Running:|ERROR|nnr fuzz target|SUMMARY' "$WORK/$target.regress.log" | tail -5 >&2
            FAILED=1
        fi
    done
}

summary() {
    if [ "${#SUMMARY[@]}" -gt 0 ]; then
        echo "== fuzz summary"
        printf '%s\n' "${SUMMARY[@]}"
    fi
    if [ "$FAILED" -ne 0 ]; then
        echo "fuzz: FAILED (inputs saved under Fuzz/Regressions/; add them to git and fix)"
        exit 1
    fi
    echo "fuzz: clean"
}

mode=${1:-all}
seconds=${2:-60}
case "$mode" in
    -h|--help|help) usage; exit 0 ;;
    build) build; exit 0 ;;
    regress) mkdir -p "$WORK"; build; regress; summary ;;
    ci) mkdir -p "$WORK"; FUZZ_BUILD_TRIES=1; build; regress
        for t in "${TARGETS[@]}"; do run_target "$t" "$CI_SECONDS"; done
        summary ;;
    all) mkdir -p "$WORK"; build
         for t in "${TARGETS[@]}"; do run_target "$t" "$seconds"; done
         summary ;;
    *) if ! product "$mode" >/dev/null; then usage >&2; exit 2; fi
       mkdir -p "$WORK"; build; run_target "$mode" "$seconds"; summary ;;
esac
