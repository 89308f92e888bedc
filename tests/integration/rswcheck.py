#!/usr/bin/env python3
"""rswcheck.py: the integration driver: runs the t_* programs under librstwatch.so and checks their logs field by field."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases_failures  # noqa: E402,F401  (each module registers its cases)
import cases_log  # noqa: E402,F401
import cases_net  # noqa: E402,F401
import cases_proc  # noqa: E402,F401
import cases_sig  # noqa: E402,F401
import rswtest  # noqa: E402
from rswlog import CASES, Ctx  # noqa: E402

if __name__ == "__main__":
    sys.exit(rswtest.main(__doc__, CASES, lambda a: Ctx(a.lib, os.path.abspath(a.bindir)), ["--bindir"]))
