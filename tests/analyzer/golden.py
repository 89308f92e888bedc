#!/usr/bin/env python3
"""golden.py: runs golden cases of `rstwatch report` (see golden/cases.txt) and diffs them.

usage: golden.py [--update] RSTWATCH [NAME...]
Without NAME, every case. Exit 0 when text, json and stderr outputs and the exit status all
match exactly. --update rewrites the golden files of those cases from what RSTWATCH prints
(then review `git diff tests/analyzer/golden`).
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LOGS = os.path.join(HERE, "logs")
GOLDEN = os.path.join(HERE, "golden")


def cases():
    out = {}
    with open(os.path.join(GOLDEN, "cases.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, code, *args = line.split()
            out[name] = (int(code), args)
    return out


def make_too_long(path):
    """Valid lines around one 10 MB line: the reader must skip it without holding it."""
    head = ('{"v":1,"ts":1714564816000000000,"seq":0,"pid":5401,"tid":5401,"ev":"start",'
            '"origin":"exec","exe":"/opt/demo/client","argv":["./client"],"ppid":5400,'
            '"host":"alpha","lib":"0.1.0"}\n'
            '{"v":1,"ts":1714564816000100000,"seq":1,"pid":5401,"tid":5401,"ev":"connect",'
            '"call":"connect","fd":3,"conn":1,"family":"inet","local":"127.0.0.1:40140",'
            '"peer":"127.0.0.1:1","ret":-1,"errno":"ECONNREFUSED","nonblock":false}\n')
    huge = '{"v":1,"pad":"' + "x" * (10 * 1024 * 1024) + '"}\n'
    tail = ('{"v":1,"ts":1714564816000200000,"seq":3,"pid":5401,"tid":5401,"ev":"close",'
            '"call":"close","fd":3,"conn":1,"bytes_in":0,"bytes_out":0,"ret":0}\n')
    with open(path, "w") as f:
        f.write(head + huge + tail)


def run(rstwatch, cwd, args, fmt):
    stdin = subprocess.DEVNULL
    argv = [rstwatch, "report", "--format", fmt]
    for a in args:
        if a.startswith("<"):
            stdin = open(os.path.join(cwd, a[1:]), "rb")
        else:
            argv.append(a)
    p = subprocess.run(argv, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env={**{k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"}, "NO_COLOR": "1"}, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def compare(path, got, update):
    if update:
        with open(path, "w") as f:
            f.write(got)
        return True
    try:
        with open(path) as f:
            want = f.read()
    except FileNotFoundError:
        want = ""
    if want == got:
        return True
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                               path, "actual"))
    return False


def run_case(rstwatch, name, code, args, update):
    ok = True
    with tempfile.TemporaryDirectory(prefix="rsw-golden-") as tmp:
        work = os.path.join(tmp, "logs")
        shutil.copytree(LOGS, work, symlinks=True)
        make_too_long(os.path.join(work, "too-long.jsonl"))
        for fmt, ext in (("text", "txt"), ("json", "json")):
            rc, out, err = run(rstwatch, work, args, fmt)
            if rc != code:
                print(f"{name} ({fmt}): exit status {rc}, expected {code}")
                ok = False
            ok &= compare(os.path.join(GOLDEN, f"{name}.{ext}"), out, update)
            if fmt == "text":
                ok &= compare(os.path.join(GOLDEN, f"{name}.err"), err, update)
    print(f"{name}: {'updated' if update and ok else 'ok' if ok else 'FAILED'}")
    return ok


def main():
    argv = sys.argv[1:]
    update = bool(argv) and argv[0] == "--update"
    if update:
        argv = argv[1:]
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rstwatch, names = os.path.abspath(argv[0]), argv[1:]
    all_cases = cases()
    unknown = [n for n in names if n not in all_cases]
    if unknown:
        print(f"golden.py: no such case: {' '.join(unknown)} (see golden/cases.txt)", file=sys.stderr)
        return 2
    failed = [n for n in names or all_cases
              if not run_case(rstwatch, n, *all_cases[n], update)]
    if len(names) != 1:
        print(f"golden: {len(names or all_cases) - len(failed)} ok, {len(failed)} failed"
              + (f": {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
