#!/usr/bin/env bash
# secure.sh: in secure-execution mode (a setuid program: AT_SECURE) the library must write
# nowhere the environment chose: RSTWATCH_LOG is ignored and no log appears anywhere.
# Needs root (to make a setuid binary and to put the library where ld.so loads it for setuid
# programs); skips with 77 otherwise.
set -u
lib=$1 prog=$2
[ "$(id -u)" = 0 ] || { echo "skip: needs root to build a setuid program" >&2; exit 77; }
id nobody >/dev/null 2>&1 || { echo "skip: no user 'nobody'" >&2; exit 77; }
libdir=$(dirname "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null || echo /lib/x86_64-linux-gnu/x)")
name=librstwatch-securetest-$$.so
work=$(mktemp -d)
cleanup() { rm -f "$libdir/$name"; rm -rf "$work"; }
trap cleanup EXIT
# ld.so preloads, for a setuid program, only setuid libraries from the system directories.
install -m 4755 "$lib" "$libdir/$name"
cp "$prog" "$work/prog" && chown nobody "$work/prog" && chmod 4755 "$work/prog"
chmod 755 "$work"; mkdir -m 777 "$work/logs"
out=$(cd "$work" && LD_PRELOAD=$name RSTWATCH_LOG="$work/logs" "$work/prog" 2>&1)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q "preloaded=1" <<<"$out" || fail "the library was not loaded into the setuid program"
grep -q "secure=1" <<<"$out" || fail "the program did not run in secure-execution mode"
grep -q "connect ret=-1 errno=ECONNREFUSED" <<<"$out" || fail "connect result changed"
[ -z "$(ls -A "$work/logs")" ] || fail "a log was written in secure mode: $(ls "$work/logs")"
[ -z "$(find "$work" -name '*.jsonl')" ] || fail "a log was written in the working directory"
# Control: the same program, not setuid, logs normally (the check above can fail).
chmod 755 "$work/prog"
(cd "$work" && LD_PRELOAD=$libdir/$name RSTWATCH_LOG="$work/logs" "$work/prog" >/dev/null 2>&1)
[ -n "$(ls -A "$work/logs")" ] || fail "control run without setuid wrote no log"
echo "secure mode: nothing written; control run logged $(cat "$work"/logs/* | wc -l) lines"
