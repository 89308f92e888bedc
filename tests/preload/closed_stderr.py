#!/usr/bin/env python3
"""closed_stderr.py LIB: RSTWATCH_LOG=stderr into a pipe nobody reads. The library's own log write
meets EPIPE and raises SIGPIPE; the program (a real /bin/sh, SIGPIPE at its default) must not die
of it: exit status and output exactly as without the preload."""
import os
import subprocess
import sys

lib = sys.argv[1]
r, w = os.pipe()
os.close(r)  # the reader is gone before the program starts
results = []
for preload in (False, True):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env.update(LD_PRELOAD=lib, RSTWATCH_LOG="stderr")
    p = subprocess.run(["/bin/sh", "-c", "echo out; exit 3"], stdout=subprocess.PIPE, stderr=w, env=env,
                       timeout=30)
    results.append((p.returncode, p.stdout))
if results[0] != results[1] or results[0] != (3, b"out\n"):
    print(f"rstwatch: closed stderr: without the preload {results[0]}, with it {results[1]}", file=sys.stderr)
    sys.exit(1)
print("closed stderr: ok, exit 3 and the same output with and without the preload")
