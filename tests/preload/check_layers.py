#!/usr/bin/env python3
"""check_layers.py: the preload's written rules (docs/HACKING.md "Layers"), checked.

  layers   every #include "..." in preload/ points to the same or a lower layer, and the
           modules (x.c with its x.h) depend on each other without a circle
  exports  librstwatch.so exports exactly the functions of hooks.def (hook names from --names)
  core     the recording core (librsw_core.a) calls no hooked function: its undefined symbols
           and the hook names are disjoint
  portable the portable build (RSW_PORTABLE_SYSCALL) issues no syscall instruction of its own
           (x86_64: no 0f 05 in its code): every raw call goes through libc's syscall()
"""
import argparse
import os
import re
import subprocess
import sys

# Bottom to top. A file may include headers of its own layer or below, never above.
LAYERS = {
    "base": ["hooks.def", "real", "guard", "sys"],
    "core": ["fdtable", "jsonw", "addr", "say", "config", "proc", "line", "logwriter", "modmap",
             "backtrace", "stackid", "span", "storm", "tally", "event", "ownfd", "track", "inject"],
    "shim": ["shim", "hooks_io", "hooks_conn", "hooks_fd", "hooks_proc", "sigpipe", "unwind_pipe"],
    "start": ["init"],
}
RANK = {m: i for i, layer in enumerate(LAYERS.values()) for m in layer}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module(name):
    return name if name == "hooks.def" else os.path.splitext(name)[0]


def check_layers(src):
    errors, deps = [], {}
    common = set(os.listdir(os.path.join(src, "..", "common")))
    for f in sorted(os.listdir(src)):
        if not f.endswith((".c", ".h", ".def")):
            continue
        m = module(f)
        if m not in RANK:
            errors.append(f"{f}: in no layer (add it to LAYERS here and to docs/HACKING.md)")
            continue
        with open(os.path.join(src, f)) as fh:
            for inc in INCLUDE.findall(fh.read()):
                if inc in common:
                    continue  # common/ is below every layer
                t = module(inc)
                if t not in RANK:
                    errors.append(f"{f}: includes {inc}, which is in no layer")
                elif RANK[t] > RANK[m]:
                    errors.append(f"{f} ({layer_of(m)}) includes {inc} ({layer_of(t)}): upward")
                elif t != m:
                    deps.setdefault(m, set()).add(t)
    # a circle among modules: depth-first search
    state = {}

    def visit(m, path):
        state[m] = 1
        for t in sorted(deps.get(m, ())):
            if state.get(t) == 1:
                errors.append("circle: " + " -> ".join(path[path.index(t):] + [t]) if t in path else t)
            elif not state.get(t):
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(deps):
        if not state.get(m):
            visit(m, [m])
    return errors


def layer_of(m):
    return next(k for k, v in LAYERS.items() if m in v)


def dynamic_symbols(lib, undefined=False):
    flag = ["--undefined-only"] if undefined else ["--defined-only", "-D"]
    out = subprocess.run(["nm", *flag, lib], capture_output=True, text=True, check=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[-1].endswith(":"):
            continue
        kind, name = parts[-2], parts[-1].split("@")[0]
        if undefined or kind in "TtWiI":
            syms.add(name)
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["layers", "exports", "core", "portable"])
    ap.add_argument("--src", default=os.path.join(os.path.dirname(__file__), "..", "..", "preload"))
    ap.add_argument("--names", help="a program printing the hook names of hooks.def, one a line")
    ap.add_argument("--lib", help="librstwatch.so (exports) or librsw_core.a (core)")
    a = ap.parse_args()
    if a.what == "layers":
        errors = check_layers(a.src)
    elif a.what == "portable":
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", a.lib], capture_output=True, text=True, check=True).stdout
        errors = [f"syscall instruction in the portable build: {l.strip()}" for l in out.splitlines()
                  if re.search(r"\tsyscall\s*$", l)]
    else:
        hooks = set(subprocess.run([a.names], capture_output=True, text=True, check=True).stdout.split())
        if len(hooks) < 30:
            errors = [f"only {len(hooks)} hook names from {a.names}"]
        elif a.what == "exports":
            exported = dynamic_symbols(a.lib) - {"_init", "_fini"}
            errors = [f"exported but not in hooks.def: {n}" for n in sorted(exported - hooks)]
            errors += [f"in hooks.def but not exported: {n}" for n in sorted(hooks - exported)]
        else:
            errors = [f"the core calls the hooked function {n}" for n in sorted(dynamic_symbols(a.lib, True) & hooks)]
    for e in errors:
        print(f"rstwatch: {a.what}: {e}", file=sys.stderr)
    print(f"{a.what}: {'FAIL' if errors else 'ok'} ({len(errors)} problems)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
