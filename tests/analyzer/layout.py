#!/usr/bin/env python3
"""layout.py: the text report leads with what went wrong, on logs of real programs.

usage: layout.py --lib LIBRSTWATCH --rstwatch RSTWATCH [--keep] [CASE...]

Each case records real programs with the preload in conn mode (every connection and pipe has a
timeline), then checks `rstwatch report`:
  shell_loop   a bash loop (20 × `echo $(date …) | wc -c`, 105 process images) with one python3
               whose connect is refused in the middle: 41 clean pipes and 1 failure.
  curl_reset   a python3 HTTP server and a bash loop of 30 curls; the server resets the 15th
               connection (SO_LINGER 0): 29 clean matched pairs, 1 pipe and 1 failure.
Checked: every failure's verdict and timeline header within the first 40 lines; the exact group
line of each group of clean connections (count, bytes, shortest and longest); the Processes line
(count by name) and the tree of the failing process; --full shows every connection's timeline and
every process; --errors-only keeps only the failures; --format json keeps every connection.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402
from rswtest import Fail, Skip, check  # noqa: E402

cases, case = rswtest.registry()
PYTHON = os.path.realpath(sys.executable)  # not a pyenv shim: its processes would vary
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
FIRST = 40  # every failure's verdict must be among the report's first lines

SERVER = r"""
import os, socket, struct, sys
RESPONSE = @RESPONSE@
portfile, reset_at, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
got = []
for n in range(1, total + 1):
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            break
        req += d
    if n == reset_at:  # close with an RST: the client's recv fails with ECONNRESET
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        c.sendall(RESPONSE)
        got.append(len(req))
    c.close()
with open(portfile + ".out", "w") as f:  # not stdout: a pipe would be a connection too
    f.write("%d %d\n" % (sum(got), len(got)))
"""


class Ctx(rswtest.Scratch):
    def __init__(self, args):
        super().__init__("rsw-layout-")
        self.lib, self.rstwatch = args.lib, os.path.abspath(args.rstwatch)
        self.logs = os.path.join(self.tmp, "logs")
        os.mkdir(self.logs)

    def env(self):
        return rswtest.watched_env(self.lib, RSTWATCH_EVENTS="conn", RSTWATCH_LOG=self.logs + "/")

    def report(self, *args):
        p = subprocess.run([self.rstwatch, "report", *args, self.logs], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60,
                           env=dict(os.environ, NO_COLOR="1"))
        check(p.returncode == 0, f"report {args}: exit {p.returncode}: {p.stderr}")
        return p.stdout


# ---- what the report should print, computed the way the text renderer prints it ----------------

def fmt_bytes(n):
    if n < 1000:
        return f"{n} B"
    v, units = n / 1000, ["kB", "MB", "GB", "TB", "PB"]
    u = 0
    while v >= 999.95 and u + 1 < len(units):
        v /= 1000
        u += 1
    return f"{v:.1f} {units[u]}"


def fmt_duration(ns):
    a = float(max(ns, 0))
    if a < 1e3:
        return f"{a:.0f} ns"
    if a < 1e6:
        return f"{a / 1e3:.1f} µs"
    if a < 1e9:
        return f"{a / 1e6:.{3 if a < 1e7 else 1}f} ms"
    return f"{a / 1e9:.3f} s"


def lasted(conns):
    d = [c["end_ts"] - c["start_ts"] for c in conns]
    lo, hi = fmt_duration(min(d)), fmt_duration(max(d))
    if lo == hi:
        return lo
    if lo.split(" ")[1] == hi.split(" ")[1]:
        return lo.split(" ")[0] + "–" + hi
    return lo + "–" + hi


def group_lines(groups):
    """groups: [(count, name, what, bytes_in, bytes_out, conns)], in report order."""
    cols = [(f"{n}", name, what, fmt_bytes(i), fmt_bytes(o)) for n, name, what, i, o, _ in groups]
    w = [max(len(c[k]) for c in cols) for k in range(5)]
    return [f"  {c[0]:>{w[0]}}  {c[1]:<{w[1]}}  {c[2]:<{w[2]}}  in {c[3]:>{w[3]}}  out {c[4]:>{w[4]}}"
            f"  lasted {lasted(g[5])}" for c, g in zip(cols, groups)]


def check_report(ctx, nconns, groups, procs_line, tree):
    doc = json.loads(ctx.report("--format", "json"))
    conns = doc["connections"]
    check(len(conns) == nconns, f"json: {len(conns)} connections, want {nconns}")
    failures = [c for c in conns if c["verdict"] != "clean"]
    text = ctx.report()
    lines = text.splitlines()
    head = lines[:FIRST]
    for f in failures:
        check(f"   verdict: {f['verdict']}" in head,
              f"the verdict of {f['id']} ({f['verdict']}) is not in the first {FIRST} lines:\n{text}")
        check(any(ln.startswith(f"── {f['id']}  ") for ln in head),
              f"the timeline of {f['id']} does not start in the first {FIRST} lines:\n{text}")
    check(text.count("   verdict: ") == len(failures),
          f"{text.count('   verdict: ')} timelines by default, want the {len(failures)} failures:\n{text}")
    clean = [c for c in conns if c["verdict"] == "clean"]
    want = group_lines([(n, name, what, i, o, [c for c in clean if pick(c)])
                        for n, name, what, i, o, pick in groups])
    for g, (n, *_, pick) in zip(want, groups):
        check(len([c for c in clean if pick(c)]) == n, f"json: the group {g!r} has another count")
    at = lines.index(want[0]) if want[0] in lines else -1
    check(at > 0 and lines[at:at + len(want)] == want and lines[at - 1].startswith("Clean: "),
          "group lines: want\n" + "\n".join(want) + f"\nin\n{text}")
    total = sum(g[0] for g in groups)
    check(lines[at - 1].startswith(f"Clean: {total} connections in {len(groups)} groups, between "),
          f"Clean line: {lines[at - 1]!r}")
    check(procs_line in lines, f"no line {procs_line!r} in\n{text}")
    pl = lines.index(procs_line)
    got_tree = lines[pl + 1:pl + 1 + len(tree)]
    check(len(got_tree) == len(tree) and all(re.fullmatch(t, g) for t, g in zip(tree, got_tree)),
          f"process tree: want {tree}, seen {got_tree}")
    check(lines[pl + 1 + len(tree):] == [], f"lines after the process tree: {lines[pl + 1 + len(tree):]}")

    full = ctx.report("--full")
    heads = [ln for ln in full.splitlines() if ln.startswith("── ")]
    check(len(heads) == nconns, f"--full: {len(heads)} timelines, want {nconns}")
    check(sorted(h.split()[1] for h in heads) == sorted(c["id"] for c in conns),
          "--full: the timelines are not those of the json report")
    nproc = len(doc["summary"]["processes"])
    alllines = full.splitlines()
    first = [i for i, ln in enumerate(alllines) if ln.startswith("  all:        ")]
    check(len(first) == 1 and len(alllines) - first[0] == nproc,
          f"--full: the process list has {len(alllines) - first[0] if first else 0} lines, want {nproc}")
    check(full.startswith("\n".join(lines[:3])), "--full: another summary head")

    only = ctx.report("--errors-only")
    check(only.count("   verdict: ") == len(failures) and "\nClean: " not in only,
          f"--errors-only: want the failures only:\n{only}")
    return doc, text


# ---- cases ---------------------------------------------------------------------------------------

@case
def shell_loop(ctx):
    """20 × `echo $(date) | wc -c`, and at i = 10 a python3 whose connect is refused: the port is
    bound here but not listening."""
    guard = socket.socket()
    guard.bind(("127.0.0.1", 0))
    port = guard.getsockname()[1]
    script = ("for i in $(seq 20); do echo $(date -u -d @0 +%F) | wc -c; "
              f"if [ $i = 10 ]; then {PYTHON} -c 'import socket; "
              f"socket.create_connection((\"127.0.0.1\", {port}))' 2>/dev/null; fi; done")
    p = subprocess.run(["bash", "-c", script], env=ctx.env(), stdout=subprocess.PIPE, text=True,
                       timeout=60)
    guard.close()
    check(p.returncode == 0 and p.stdout == "11\n" * 20, f"the loop: {p.returncode} {p.stdout!r}")
    py = os.path.basename(PYTHON)
    # bash reads $(seq 20) (51 B) and 20 × $(date …) (11 B each); wc reads 11 B 20 times
    groups = [(21, "bash", "pipe", 20 * 11 + 51, 0, lambda c: c["name"] == "bash"),
              (20, "wc", "pipe", 20 * 11, 0, lambda c: c["name"] == "wc")]
    names = sorted({"bash": 63, "date": 20, "wc": 20, py: 1, "seq": 1}.items(),
                   key=lambda kv: (-kv[1], kv[0]))
    procs = "Processes: 105 — " + ", ".join(f"{n} {c}" for n, c in names)
    tree = [r"  \d+ bash", rf"  └─ \d+ bash → {re.escape(py)}: refused 1"]
    doc, text = check_report(ctx, 42, groups, procs, tree)
    refused = [c for c in doc["connections"] if c["verdict"] == "refused"]
    check(len(refused) == 1, f"{len(refused)} refused connections, want 1")
    check(f"  failed:     refused  {refused[0]['id']} {py} → 127.0.0.1:{port}" in text.splitlines(),
          f"no failed: line for {refused[0]['id']}:\n{text}")


@case
def curl_reset(ctx):
    """A python3 server answers 30 curls from a bash loop; it resets the 15th connection."""
    curl = shutil.which("curl")
    if not curl:
        raise Skip("no curl")
    portfile = os.path.join(ctx.tmp, "port")
    server = SERVER.replace("@RESPONSE@", repr(RESPONSE))
    srv = subprocess.Popen([PYTHON, "-c", server, portfile, "15", "30"], env=ctx.env())
    for _ in range(200):
        if os.path.exists(portfile):
            break
        time.sleep(0.05)
    else:
        srv.kill()
        raise Fail("the server never wrote its port")
    port = int(open(portfile).read())
    script = (f"for i in $(seq 30); do {curl} -s -o /dev/null http://127.0.0.1:{port}/ "
              "|| echo \"$i: $?\"; done")
    p = subprocess.run(["bash", "-c", script], env=ctx.env(), stdout=subprocess.PIPE, text=True,
                       timeout=60)
    srv.wait(timeout=60)
    out = open(portfile + ".out").read().split() if srv.returncode == 0 else []
    check(p.stdout == "15: 56\n", f"curl exit statuses: {p.stdout!r} (want only the 15th, 56)")
    check(srv.returncode == 0 and len(out) == 2 and out[1] == "29", f"the server: {out}")
    py = os.path.basename(PYTHON)
    # seq 30 writes 81 B; each answered curl reads RESPONSE and wrote what the server read
    groups = [(29, "curl", f"to 127.0.0.1:{port} ⇄ {py}", 29 * len(RESPONSE), int(out[0]),
               lambda c: c["name"] == "curl"),
              (1, "bash", "pipe", 81, 0, lambda c: c["name"] == "bash")]
    names = sorted({"bash": 32, "curl": 30, "seq": 1, py: 1}.items(),
                   key=lambda kv: (-kv[1], kv[0]))
    procs = "Processes: 64 — " + ", ".join(f"{n} {c}" for n, c in names)
    tree = [rf"  \d+ {re.escape(py)}: other end of reset-by-peer 1", r"  \d+ bash",
            r"  └─ \d+ bash → curl: reset-by-peer 1"]
    doc, text = check_report(ctx, 31, groups, procs, tree)
    reset = [c for c in doc["connections"] if c["verdict"] != "clean"]
    check([c["verdict"] for c in reset] == ["reset-by-peer"] and reset[0]["peer_side"],
          f"failures: {[(c['id'], c['verdict']) for c in reset]}, want one matched reset-by-peer")


if __name__ == "__main__":
    sys.exit(rswtest.main(__doc__, cases, Ctx, paths=("--rstwatch",)))
