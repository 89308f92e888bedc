#!/usr/bin/env python3
"""v2_equiv.py: a v1 log and the same run logged in schema v2 give the same report.

usage: v2_equiv.py RSTWATCH             check every golden case (text, json, html, chrome)
       v2_equiv.py --convert IN OUT     write the v2 form of one v1 log

The v2 form of a log: "v":2 on every line, "name" (exe's base name) on start lines, one
"module" line per object its backtraces name (ids from 1, after each start line of that pid),
and frames {"ip","m","off"} instead of {"ip","obj","off","sym"}. v2 logs carry no symbol names,
so the v1 side drops "sym" too, and gets the same module lines (its frames name their objects,
so nothing refers to them): the two trees then hold the same facts on the same line numbers. Every golden case runs on
both trees in all four formats; outputs, messages and exit statuses must be identical.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402


def parse(line):
    try:
        ev = json.loads(line)
    except ValueError:
        return None
    return ev if isinstance(ev, dict) and ev.get("v") == 1 else None


def convert(lines):
    """(v2 lines, v1 lines without sym), both as lists of text lines with their newlines."""
    objs = {}  # pid -> {obj: (id, base)}
    for line in lines:
        ev = parse(line)
        for fr in (ev or {}).get("bt") or []:
            if isinstance(fr, dict) and "obj" in fr:
                mods = objs.setdefault(ev.get("pid"), {})
                if fr["obj"] not in mods:
                    base = int(fr["ip"], 16) - int(fr["off"], 16)
                    mods[fr["obj"]] = (len(mods) + 1, base)
    v2, v1 = [], []
    listed = set()
    for line in lines:
        ev = parse(line)
        if ev is None:
            v2.append(line)
            v1.append(line)
            continue
        pid = ev.get("pid")
        modlines = []
        if ev.get("ev") == "start" or pid not in listed:
            listed.add(pid)
            for obj, (mid, base) in objs.get(pid, {}).items():
                modlines.append(json.dumps(
                    {"v": 2, "ts": ev.get("ts"), "seq": 0, "pid": pid, "tid": pid, "ev": "module",
                     "id": mid, "path": obj, "base": "0x%x" % base}, separators=(",", ":")) + "\n")
        e1 = dict(ev)
        e2 = dict(ev, v=2)
        if ev.get("ev") == "start" and ev.get("exe"):
            e2["name"] = os.path.basename(ev["exe"])
        if isinstance(ev.get("bt"), list):
            e1["bt"], e2["bt"] = [], []
            for fr in ev["bt"]:
                if not isinstance(fr, dict):
                    e1["bt"].append(fr)
                    e2["bt"].append(fr)
                    continue
                e1["bt"].append({k: v for k, v in fr.items() if k != "sym"})
                if "obj" in fr:
                    e2["bt"].append({"ip": fr["ip"], "m": objs[pid][fr["obj"]][0], "off": fr["off"]})
                else:
                    e2["bt"].append({"ip": fr["ip"]})
        end = "\n" if line.endswith("\n") else ""
        if ev.get("ev") == "start":  # module lines follow their start line
            v2 += [json.dumps(e2, separators=(",", ":")) + end] + modlines
            v1 += [json.dumps(e1, separators=(",", ":")) + end] + [m.replace('{"v":2,', '{"v":1,', 1) for m in modlines]
        else:
            v2 += modlines + [json.dumps(e2, separators=(",", ":")) + end]
            v1 += [m.replace('{"v":2,', '{"v":1,', 1) for m in modlines] + [json.dumps(e1, separators=(",", ":")) + end]
    return v2, v1


def convert_tree(src, dst_v2, dst_v1):
    for root, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src)
            with open(os.path.join(root, f), errors="surrogateescape") as fh:
                lines = fh.readlines()
            v2, v1 = convert(lines) if f.endswith(".jsonl") else (lines, lines)
            for dst, out in ((dst_v2, v2), (dst_v1, v1)):
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                with open(os.path.join(dst, rel), "w", errors="surrogateescape") as fh:
                    fh.writelines(out)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--convert":
        with open(sys.argv[2]) as f:
            v2, _ = convert(f.readlines())
        with open(sys.argv[3], "w") as f:
            f.writelines(v2)
        return 0
    rstwatch = os.path.abspath(sys.argv[1])
    failed = 0
    with tempfile.TemporaryDirectory(prefix="rsw-v2eq-") as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(golden.LOGS, src, symlinks=True, ignore=shutil.ignore_patterns("v2"))
        golden.make_too_long(os.path.join(src, "too-long.jsonl"))
        a, b = os.path.join(tmp, "v1", "logs"), os.path.join(tmp, "v2", "logs")
        convert_tree(src, b, a)
        for name, (code, args) in golden.cases().items():
            if any(x.startswith("v2/") or x.startswith("<v2/") for x in args):
                continue
            for fmt in ("text", "json", "html", "chrome"):
                r1 = golden.run(rstwatch, a, args, fmt)
                r2 = golden.run(rstwatch, b, args, fmt)
                if r1 != r2:
                    failed += 1
                    print(f"FAIL {name} ({fmt}): v1 and v2 reports differ")
                    for x, y in zip(r1[1:], r2[1:]):
                        sys.stdout.writelines(golden.difflib.unified_diff(
                            x.splitlines(True), y.splitlines(True), "v1", "v2", n=1))
    print("v2 equivalence:", "ok" if not failed else f"{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
