#!/bin/bash
# tests/install.sh: CTest install.run. Installs the build into a scratch prefix (cmake --install), then
# checks the installed layout (the preload only in the private directory, no public libdir copy) and
# that the installed `rstwatch run` finds it there by itself: /bin/true records and exits 0, the
# preload mapped is the installed one, curl against a closed loopback port is refused and
# `rstwatch report` says so.
#   tests/install.sh CMAKE BUILD_DIR SCRATCH BINDIR PRELOADDIR    (the last two relative to the prefix)
set -euo pipefail
[ $# -eq 5 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
cmake=$1 build=$2 scratch=$3 bindir=$4 preloaddir=$5
root=$scratch/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$scratch"
mkdir -p "$scratch"
"$cmake" --install "$build" --prefix "$root" >"$scratch/install.log" 2>&1 ||
    { cat "$scratch/install.log" >&2; fail "cmake --install $build --prefix $root"; }

lib=$root/$preloaddir/librstwatch.so
cli=$root/$bindir/rstwatch
[ -f "$lib" ] && [ ! -L "$lib" ] || fail "no $lib after the install"
[ -x "$cli" ] || fail "no $cli after the install"
found=$(find "$root" -name 'librstwatch*' | sort)
[ "$found" = "$lib" ] || fail "librstwatch installed elsewhere than $lib: $found"
echo "ok: installed $cli and $lib (nothing else named librstwatch*)"

# Only what the install put there: no override, no preload inherited from whoever runs the test.
unset RSTWATCH_PRELOAD LD_PRELOAD RSTWATCH_LOG RSTWATCH_INJECT RSTWATCH_EVENTS RSTWATCH_BACKTRACE
cd "$scratch"

"$cli" run -o "$scratch/true" -- /bin/true 2>"$scratch/true.err" ||
    { cat "$scratch/true.err" >&2; fail "installed rstwatch run -- /bin/true failed"; }
grep -qs '"ev":"start"' "$scratch"/true/*.jsonl || fail "rstwatch run -- /bin/true left no start line"
echo "ok: rstwatch run -- /bin/true: exit 0, $(cat "$scratch"/true/*.jsonl | wc -l) log lines"

"$cli" run -o "$scratch/maps" -- /bin/cat /proc/self/maps >"$scratch/maps.out" 2>"$scratch/maps.err" ||
    { cat "$scratch/maps.err" >&2; fail "installed rstwatch run -- cat /proc/self/maps"; }
real=$(realpath "$lib")
grep -q " $real\$" "$scratch/maps.out" || fail "the program did not map $real:
$(grep -i rstwatch "$scratch/maps.out" || echo '(no librstwatch mapped)')"
echo "ok: the recorded program mapped $real"

if ! command -v curl >/dev/null; then
    echo "note: curl is not installed; the refused-connection check did not run" >&2
    exit 0
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
set +e
"$cli" run -o "$scratch/curl" -- curl -sS --max-time 10 "http://127.0.0.1:$port/" >"$scratch/curl.out" 2>&1
rc=$?
set -e
[ $rc -eq 7 ] || fail "curl against closed port $port under the installed rstwatch: exit $rc, expected 7:
$(cat "$scratch/curl.out")"
grep -qs '"errno":"ECONNREFUSED"' "$scratch"/curl/*.jsonl || fail "curl's log has no ECONNREFUSED"
"$cli" report "$scratch/curl" >"$scratch/report.txt" 2>&1 || fail "installed rstwatch report failed: $(cat "$scratch/report.txt")"
grep -q 'verdict: refused' "$scratch/report.txt" || fail "the report has no refused verdict:
$(cat "$scratch/report.txt")"
echo "ok: curl to closed port $port: exit 7, ECONNREFUSED logged, rstwatch report says refused"
