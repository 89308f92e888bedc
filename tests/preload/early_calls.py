#!/usr/bin/env python3
"""early_calls.py LIB EARLY: /bin/true with LD_PRELOAD="LIB EARLY": EARLY's constructor runs before the
preload's and calls sigaction/getsockopt; they must pass straight through to libc (they used to call
a real-function pointer not yet resolved: SIGSEGV). Same exit status and stderr as with EARLY alone."""
import os
import subprocess
import sys

lib, early = sys.argv[1], sys.argv[2]
env = {k: v for k, v in os.environ.items() if not k.startswith("RSTWATCH_") and k != "LD_PRELOAD"}
want = subprocess.run(["/bin/true"], env={**env, "LD_PRELOAD": early}, capture_output=True, text=True)
got = subprocess.run(["/bin/true"], env={**env, "LD_PRELOAD": f"{lib} {early}", "RSTWATCH_LOG": "stderr"},
                     capture_output=True, text=True)
got_lines = [l for l in got.stderr.splitlines() if not l.startswith("{")]  # the log went to stderr too
if want.returncode != 0 or got.returncode != 0 or got_lines != want.stderr.splitlines():
    print(f"rstwatch: early calls: without the preload rc={want.returncode} {want.stderr!r}; "
          f"with it rc={got.returncode} {got.stderr[:500]!r}", file=sys.stderr)
    sys.exit(1)
print("early calls: ok:", want.stderr.strip())
