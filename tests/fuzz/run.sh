#!/bin/bash
# tests/fuzz/run.sh: builds the libFuzzer harnesses with clang (-fsanitize=fuzzer,address,undefined)
# into their own build dir, replays every regression input, then fuzzes each harness for SECONDS,
# two at a time. Exits non-zero on any crash, leak, timeout or sanitizer report.
#   tests/fuzz/run.sh [-t SECONDS] [-b BUILD_DIR] [HARNESS...]      (defaults: 60, build-fuzz, all)
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
secs=60
bdir=$src/build-fuzz
while getopts "t:b:h" o; do
    case $o in
    t) secs=$OPTARG ;;
    b) bdir=$OPTARG ;;
    *) sed -n '2,5p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_reader fuzz_report fuzz_inject)
command -v clang >/dev/null || { echo "rstwatch: fuzz: clang is not installed" >&2; exit 1; }

echo "== building ${harnesses[*]} in $bdir"
mkdir -p "$bdir"
cmake -S "$src" -B "$bdir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRSTWATCH_SANITIZE=address,undefined -DRSTWATCH_FUZZ=ON \
    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >"$bdir/fuzz-cmake.log" 2>&1 ||
    { cat "$bdir/fuzz-cmake.log"; exit 1; }
cmake --build "$bdir" -j2 --target "${harnesses[@]}" >"$bdir/fuzz-build.log" 2>&1 ||
    { tail -40 "$bdir/fuzz-build.log"; exit 1; }

# Seed corpora: the analyzer's golden logs (whole, and line by line), both ends of a pair as one
# input split at a NUL (fuzz_report), and the injection specs of tests/fuzz/inject.seeds.
seed() {
    local h=$1 dir=$bdir/corpus/$1
    mkdir -p "$dir"
    case $h in
    fuzz_reader | fuzz_report)
        for f in "$src"/tests/analyzer/logs/*.jsonl "$src"/tests/analyzer/logs/*/*.jsonl; do
            [ -f "$f" ] || continue
            cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
            [ $h = fuzz_reader ] && split -l 1 -a 3 "$f" "$dir/line-$(basename "$f" .jsonl)-"
        done
        if [ $h = fuzz_report ]; then
            for d in "$src"/tests/analyzer/logs/*/; do
                set -- "$d"*.jsonl
                [ $# -ge 2 ] && { cat "$1"; printf '\0'; cat "$2"; } >"$dir/pair-$(basename "$d")"
            done
        fi
        ;;
    fuzz_inject)
        local n=0
        while IFS= read -r spec; do
            case $spec in '#'*) continue ;; esac
            n=$((n + 1))
            printf '%s' "$spec" >"$dir/spec-$n"
        done <"$src/tests/fuzz/inject.seeds"
        ;;
    esac
}

status=0
run_one() {
    local h=$1 exe=$bdir/tests/fuzz/$1 art=$bdir/artifacts/$1 log=$bdir/$1.log dict=()
    mkdir -p "$art"
    case $h in fuzz_reader | fuzz_report) dict=(-dict="$src/tests/fuzz/log.dict") ;; esac
    local regress=("$src"/tests/fuzz/regress/"$h"/*)
    if [ -e "${regress[0]}" ]; then # every past crash, replayed once
        "$exe" "${regress[@]}" >"$log.regress" 2>&1 ||
            { echo "FAIL: $h: a regression input crashes again:"; tail -30 "$log.regress"; return 1; }
    fi
    if ! "$exe" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "$bdir/corpus/$h" >"$log" 2>&1; then
        echo "FAIL: $h: see $log; the input is in $art/ (copy it to tests/fuzz/regress/$h/)"
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20
        return 1
    fi
    stat() { awk -v k="stat::$1:" '$1 == k { print $2; exit }' "$log"; }
    echo "ok: $h: $(stat number_of_executed_units) runs in ${secs} s, $(stat new_units_added) new inputs," \
        "corpus $(ls "$bdir/corpus/$h" | wc -l) files, peak RSS $(stat peak_rss_mb) MB"
}

for h in "${harnesses[@]}"; do
    rm -rf "$bdir/corpus/$h"
    seed "$h"
done
echo "== fuzzing each harness for $secs s, two at a time"
pids=()
names=()
for h in "${harnesses[@]}"; do
    if [ ${#pids[@]} -ge 2 ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
    run_one "$h" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || status=1
done
exit $status
