#!/usr/bin/env python3
"""run_case.py: the real-program conformance driver: runs one case (or all, or --list) of the
programs table against librstwatch.so. Exit 0 pass, 1 fail, 77 skip (one-line reason)."""

import argparse
import os
import sys
import time
import traceback

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases_misc  # noqa: E402
import cases_prod  # noqa: E402
import cases_report  # noqa: E402
import cases_runtimes  # noqa: E402
import cases_servers  # noqa: E402
from progs import SKIP, Ctx, Fail, Skip  # noqa: E402

CASES = {}
for mod in (cases_servers, cases_runtimes, cases_misc, cases_prod, cases_report):
    for name, fn in mod.CASES.items():
        assert name not in CASES, name
        CASES[name] = fn


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", required=True, help="librstwatch.so")
    ap.add_argument("--build", required=True, help="the build tree (bin/rstwatch)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (also RSW_PROGRAMS_KEEP=1)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--table", nargs="*", help="fail unless these are exactly the driver's cases")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    if a.list:
        print("\n".join(sorted(CASES)))
        return 0
    if a.table is not None:
        missing, extra = set(CASES) - set(a.table), set(a.table) - set(CASES)
        if missing or extra:
            print(f"run_case: table drift: not in CMake {sorted(missing)}, not in the driver {sorted(extra)}")
            return 1
        return 0
    if not os.path.exists(a.lib):
        print(f"run_case: {a.lib} not built")
        return 1
    status = 0
    for name in a.cases or sorted(CASES):
        if name not in CASES:
            print(f"run_case: no case {name!r}")
            return 1
        ctx = Ctx(os.path.abspath(a.lib), os.path.abspath(a.build))
        t0 = time.monotonic()
        keep = a.keep or os.environ.get("RSW_PROGRAMS_KEEP") == "1"
        try:
            CASES[name](ctx)
            verdict = "PASS"
        except Skip as exc:
            verdict = f"SKIP ({exc})"
            status = status or SKIP
        except Fail as exc:
            verdict = f"FAIL: {exc}"
            status = 1
        except Exception:
            verdict = f"FAIL: driver error\n{traceback.format_exc()}"
            status = 1
        finally:
            ctx.cleanup(keep)
        for n in ctx.notes:
            print(f"note: {n}")
        print(f"{name}: {verdict} ({time.monotonic() - t0:.1f} s)", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
