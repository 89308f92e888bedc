#!/usr/bin/env python3
"""v2_equiv.py: a v1 log and the same run logged in schema v2 (and v3) give the same report.

usage: v2_equiv.py RSTWATCH             check every golden case (text, json, html, chrome)
       v2_equiv.py --convert IN OUT     write the v2 form of one v1 log
       v2_equiv.py --convert3 IN OUT    write the v3 form of one v2 log

The v2 form of a log: "v":2 on every line, "name" (exe's base name) on start lines, one
"module" line per object its backtraces name (ids from 1, after each start line of that pid),
and frames {"ip","m","off"} instead of {"ip","obj","off","sym"}. v2 logs carry no symbol names,
so the v1 side drops "sym" too, and gets the same module lines (its frames name their objects,
so nothing refers to them): the two trees then hold the same facts on the same line numbers. Every golden case runs on
both trees in all four formats; outputs, messages and exit statuses must be identical.

The v3 form of the v2 tree: "v":3, start lines with "mode":"conn", "rate" and "log_max", module
lines with "size" (and "build_id" for a file that is not on this machine), and backtraces
interned: a "stack" line before the first use of each backtrace of a process image, then
"stack":ID in place of "bt" (every fourth use keeps its frames inline, as the writer may). The
v2 side gets a blank line where v3 has a stack line (same line numbers). Every case runs again on
those two trees; the reports must be identical but for the v3 processes' "mode" in json.
Last, each log of V3_COPIES and the v2 log it was written from give the same report.
"""
import hashlib
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


def convert3(lines):
    """(v3 lines, v2 lines with a blank line where v3 has a stack line), from v2 lines."""
    v3, v2 = [], []
    stacks = {}  # pid -> {frames as text: id}, from each start line on
    uses = 0
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            ev = None
        if not isinstance(ev, dict) or ev.get("v") != 2:
            v3.append(line)
            v2.append(line)
            continue
        pid = ev.get("pid")
        e3 = dict(ev, v=3)
        if ev.get("ev") == "start":
            stacks[pid] = {}
            e3.update(mode="conn", rate=100, log_max=268435456)
        elif ev.get("ev") == "module":
            e3["size"] = 65536
            if isinstance(ev.get("path"), str) and not os.path.exists(ev["path"]):
                e3["build_id"] = hashlib.sha1(ev["path"].encode()).hexdigest()
        if isinstance(ev.get("bt"), list):
            table = stacks.setdefault(pid, {})
            key = json.dumps(ev["bt"], sort_keys=True)
            if key not in table:
                table[key] = len(table) + 1
                v3.append(json.dumps({"v": 3, "ts": ev.get("ts"), "seq": ev.get("seq"), "pid": pid,
                                      "tid": ev.get("tid"), "ev": "stack", "id": table[key],
                                      "bt": ev["bt"]}, separators=(",", ":")) + "\n")
                v2.append("\n")
            uses += 1
            if uses % 4:
                del e3["bt"]
                e3["stack"] = table[key]
        v3.append(json.dumps(e3, separators=(",", ":")) + ("\n" if line.endswith("\n") else ""))
        v2.append(line)
    return v3, v2


# v3 logs written from a v2 one (convert3), kept as golden inputs: the same report.
V3_COPIES = [("v3/modules.jsonl", "v2/modules.jsonl")]


def without_mode(out):
    """A json report without the processes' "mode" (v3 start lines carry it, v2 ones do not)."""
    try:
        doc = json.loads(out)
    except ValueError:
        return out
    for p in doc.get("summary", {}).get("processes", []):
        p.pop("mode", None)
    return json.dumps(doc, indent=2)


def same_reports(rstwatch, name, code, args, a, b, fmts, strip_mode):
    failed = 0
    for fmt in fmts:
        r1 = golden.run(rstwatch, a, args, fmt)
        r2 = golden.run(rstwatch, b, args, fmt)
        if strip_mode and fmt == "json":
            r1 = (r1[0], without_mode(r1[1]), r1[2])
            r2 = (r2[0], without_mode(r2[1]), r2[2])
        if r1 != r2:
            failed += 1
            print(f"FAIL {name} ({fmt}): the reports differ")
            for x, y in zip(r1[1:], r2[1:]):
                sys.stdout.writelines(golden.difflib.unified_diff(
                    x.splitlines(True), y.splitlines(True), "older", "newer", n=1))
        elif r1[0] != code:
            failed += 1
            print(f"FAIL {name} ({fmt}): exit status {r1[0]}, expected {code}")
    return failed


def convert_tree3(src, dst_v3, dst_v2):
    for root, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src)
            with open(os.path.join(root, f), errors="surrogateescape") as fh:
                lines = fh.readlines()
            v3, v2 = convert3(lines) if f.endswith(".jsonl") else (lines, lines)
            for dst, out in ((dst_v3, v3), (dst_v2, v2)):
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                with open(os.path.join(dst, rel), "w", errors="surrogateescape") as fh:
                    fh.writelines(out)


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
    if len(sys.argv) == 4 and sys.argv[1] in ("--convert", "--convert3"):
        with open(sys.argv[2]) as f:
            out, _ = (convert if sys.argv[1] == "--convert" else convert3)(f.readlines())
        with open(sys.argv[3], "w") as f:
            f.writelines(out)
        return 0
    rstwatch = os.path.abspath(sys.argv[1])
    fmts = ("text", "json", "html", "chrome")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="rsw-v2eq-") as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(golden.LOGS, src, symlinks=True, ignore=shutil.ignore_patterns("v2", "v3"))
        golden.make_too_long(os.path.join(src, "too-long.jsonl"))
        a, b = os.path.join(tmp, "v1", "logs"), os.path.join(tmp, "v2", "logs")
        convert_tree(src, b, a)
        c, d = os.path.join(tmp, "v3", "logs"), os.path.join(tmp, "v2b", "logs")
        convert_tree3(b, c, d)
        for name, (code, args) in golden.cases().items():
            if any(x.lstrip("<").startswith(("v2/", "v3/")) for x in args):
                continue
            failed += same_reports(rstwatch, name + " v1/v2", code, args, a, b, fmts, False)
            failed += same_reports(rstwatch, name + " v2/v3", code, args, d, c, fmts, True)
        for new, old in V3_COPIES:
            e, f = os.path.join(tmp, "copy-old"), os.path.join(tmp, "copy-new")
            for dst, log in ((e, old), (f, new)):
                os.makedirs(dst)
                shutil.copy(os.path.join(golden.LOGS, log), os.path.join(dst, "log.jsonl"))
            failed += same_reports(rstwatch, f"{new} as {old}", 0, ["log.jsonl"], e, f, fmts, True)
            shutil.rmtree(e)
            shutil.rmtree(f)
    print("v2 equivalence:", "ok" if not failed else f"{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
