#!/usr/bin/env python3
"""rswcheck.py: the integration driver: runs the t_* programs under librstwatch.so and checks their logs field by field."""

import argparse
import os
import sys
import traceback

sys.dont_write_bytecode = True  # keep the source tree clean

import cases_net  # noqa: E402,F401  (each module registers its cases)
import cases_proc  # noqa: E402,F401
import cases_sig  # noqa: E402,F401
from rswlog import CASES, Ctx, Fail, Skip  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--table", action="store_true", help="check that the given case names are exactly the driver's")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    if a.table:
        missing, extra = set(CASES) - set(a.cases), set(a.cases) - set(CASES)
        if missing or extra:
            print(f"rswcheck: case table drift: not in CMake table {sorted(missing)}, not in driver {sorted(extra)}")
            return 1
        return 0
    if not os.path.exists(a.lib):
        print(f"rswcheck: {a.lib} not built")
        return 1
    status = 0
    for name in a.cases or sorted(CASES):
        ctx = Ctx(os.path.abspath(a.lib), os.path.abspath(a.bindir))
        try:
            CASES[name](ctx)
            print(f"PASS {name}")
            ctx.cleanup(a.keep)
        except Skip as exc:
            print(f"SKIP {name}: {exc}")
            ctx.cleanup(a.keep)
            status = status or 77
        except Fail as exc:
            print(f"FAIL {name}: {exc}")
            ctx.cleanup(True)
            status = 1
        except Exception:
            print(f"FAIL {name}: driver error\n{traceback.format_exc()}")
            ctx.cleanup(True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
