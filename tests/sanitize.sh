#!/bin/bash
# tests/sanitize.sh: builds the tree with clang under AddressSanitizer+UndefinedBehaviorSanitizer and
# runs the unit, analyzer and fuzz-regression tests there, then builds it with gcc under
# ThreadSanitizer and runs the multi-threaded torture test (32 threads through librstwatch.so).
# Any sanitizer report fails.
#   tests/sanitize.sh [-b BUILD_PREFIX] [asan] [tsan]     (default: both, in build-asan and build-tsan)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=$src/build
while getopts "b:h" o; do
    case $o in
    b) prefix=$OPTARG ;;
    *) sed -n '2,5p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(asan tsan)
command -v clang >/dev/null || { echo "rstwatch: sanitize: clang is not installed" >&2; exit 1; }

# Every report is fatal and fails the test that met it.
# verify_asan_link_order=0: a preloaded librstwatch.so comes before the runtime in the link order.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:verify_asan_link_order=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1

# The sanitizer runtime is linked as a shared library (-shared-libsan) so that librstwatch.so, which
# links with --no-undefined, can be built and preloaded into the instrumented test programs.
# An rpath finds it, so the tests can also be rerun by hand with ctest in that build dir.
sanlib="-shared-libsan -Wl,-rpath,$(dirname "$(clang -print-file-name=libclang_rt.asan-x86_64.so)")"
configure() { # dir sanitizer cmake-options...
    local d=$1 san=$2
    shift 2
    mkdir -p "$d"
    cmake -S "$src" -B "$d" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRSTWATCH_SANITIZE="$san" "$@" \
        >"$d/sanitize-cmake.log" 2>&1 || { cat "$d/sanitize-cmake.log"; exit 1; }
}

build() { # dir targets...
    local d=$1
    shift
    cmake --build "$d" -j2 "$@" >"$d/sanitize-build.log" 2>&1 || { tail -40 "$d/sanitize-build.log"; exit 1; }
}

status=0
for part in "${parts[@]}"; do
    case $part in
    asan)
        d=$prefix-asan
        echo "== ASan+UBSan (clang): unit, analyzer and fuzz-regression tests in $d"
        configure "$d" address,undefined -DCMAKE_C_COMPILER=clang \
            -DCMAKE_EXE_LINKER_FLAGS="$sanlib" -DCMAKE_SHARED_LINKER_FLAGS="$sanlib" \
            -DCMAKE_MODULE_LINKER_FLAGS="$sanlib"
        build "$d"
        # analyzer.e2e and analyzer.cli also run the ASan-built preload inside ASan-built programs;
        # fuzz.* replay the inputs that once crashed a harness (tests/fuzz/regress/).
        (cd "$d" && ctest -j2 --output-on-failure -L '^(unit|analyzer|fuzz)$' -LE browser) || status=1
        ;;
    tsan)
        d=$prefix-tsan
        # gcc: its TSan runtime is a shared library (clang 14's shared TSan runtime crashes at start).
        echo "== TSan (gcc): torture.threads_inject through a TSan-built librstwatch.so in $d"
        configure "$d" thread -DCMAKE_C_COMPILER=gcc
        build "$d" --target rstwatch_preload tort_threads
        # No backtraces: libunwind (uninstrumented) frees its per-thread cache in a TSD destructor
        # that runs after TSan has retired the thread, and crashes inside TSan's mutex hook.
        (cd "$d" && RSW_TORTURE_ENV=RSTWATCH_BACKTRACE=0 ctest --output-on-failure -R '^torture\.threads_inject$') ||
            status=1
        ;;
    *)
        echo "rstwatch: sanitize: unknown part $part (asan, tsan)" >&2
        exit 2
        ;;
    esac
done
exit $status
