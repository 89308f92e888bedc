#!/usr/bin/env python3
"""e2e.py: records a real client/server pair with `rstwatch run` and checks `rstwatch report`.

usage: e2e.py RSTWATCH E2E_SERVER E2E_CLIENT
The client meets a refused connect, then writes into a connection the server closed until SIGPIPE
kills it. Checks exit statuses, the run summary line, the verdicts, both-ends matching, and that a
backtrace frame names the client's own function with file:line (libdw, offline). Both run with
--events conn: the server's connection is clean, and in the default failures mode it would only
be tallied, leaving nothing to match the client's side with.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    rstwatch, server, client = sys.argv[1:4]
    lib = os.path.join(os.path.dirname(os.path.dirname(rstwatch)), "lib", "librstwatch.so")
    if not os.path.exists(lib) and not os.environ.get("RSTWATCH_PRELOAD"):
        print(f"skip: no preload at {lib}", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory(prefix="rsw-e2e-") as tmp:
        portfile = os.path.join(tmp, "port")
        sdir, cdir = os.path.join(tmp, "server"), os.path.join(tmp, "client")
        srv = subprocess.Popen([rstwatch, "run", "-o", sdir, "--events", "conn", "--", server, portfile],
                               stderr=subprocess.PIPE)
        for _ in range(100):
            if os.path.exists(portfile) and open(portfile).read().endswith("\n"):
                break
            time.sleep(0.05)
        else:
            srv.kill()
            fail("the server never wrote its port")
        port = open(portfile).read().strip()
        cl = subprocess.run([rstwatch, "run", "-o", cdir, "--events", "conn", "--", client, port],
                            stderr=subprocess.PIPE, timeout=60)
        serr = srv.communicate(timeout=60)[1].decode()
        cerr = cl.stderr.decode()
        print(cerr, end="")
        if cl.returncode != 128 + 13:
            fail(f"rstwatch run exit status {cl.returncode}, expected 141 (SIGPIPE)")
        if srv.returncode != 0:
            fail(f"server run exit status {srv.returncode}: {serr}")
        lines = cerr.strip().splitlines()
        want = ("rstwatch: e2e_client was killed by SIGPIPE (status 141): 2 connections "
                "(refused 1, write-after-peer-close 1); errors: ECONNREFUSED 1; "
                "SIGPIPE: yes, it killed the process")
        if lines[-2:] != [want, f"rstwatch: next: rstwatch report {cdir}"]:
            fail(f"summary lines: {lines[-2:]!r}")

        rep = subprocess.run([rstwatch, "report", "--format", "json", sdir, cdir],
                             stdout=subprocess.PIPE, timeout=60)
        if rep.returncode != 0:
            fail(f"report exit status {rep.returncode}")
        doc = json.loads(rep.stdout)
        conns = doc["connections"]
        by_verdict = {c["verdict"]: c for c in conns}
        if sorted(by_verdict) != ["refused", "write-after-peer-close"] or len(conns) != 2:
            fail(f"verdicts: {[c['verdict'] for c in conns]}")
        w = by_verdict["write-after-peer-close"]
        if w["role"] != "client" or w["killed_by"] != "SIGPIPE":
            fail(f"write-after-peer-close conn: role {w['role']}, killed_by {w['killed_by']}")
        if not w["peer_side"] or w["peer_side"]["role"] != "server":
            fail("the server's side was not matched")
        if not w["bytes_after_peer_close"] or w["bytes_after_peer_close"] <= 0:
            fail(f"bytes_after_peer_close = {w['bytes_after_peer_close']}")
        sides = {e["side"] for e in w["events"]}
        if sides != {"local", "peer"}:
            fail(f"two-sided timeline expected, sides {sides}")
        frames = [f for e in w["events"] if e["ev"] == "signal" for f in e.get("bt", [])]
        pump = [f for f in frames if f.get("func") == "pump_blocks"]
        if not pump:
            fail(f"no frame names pump_blocks: {[f.get('func') for f in frames]}")
        if not (pump[0]["file"] or "").endswith("e2e_client.c") or not pump[0]["line"]:
            fail(f"pump_blocks frame without file:line: {pump[0]}")
        # The signal trampoline is hand-written assembly without line info: it must not borrow
        # another unit's file:line.
        for f in frames:
            if f.get("func") == "__restore_rt" and f.get("file"):
                fail(f"__restore_rt given a source line: {f}")
        r = by_verdict["refused"]
        rframes = [f for e in r["events"] if e["ev"] == "error" for f in e.get("bt", [])]
        if not any(f.get("func") == "try_refused" for f in rframes):
            fail(f"no frame names try_refused: {[f.get('func') for f in rframes]}")
        sites = [s["site"] for s in doc["summary"]["call_sites"]]
        if not any(s.startswith("pump_blocks (e2e_client.c:") for s in sites):
            fail(f"call sites: {sites}")

        # default log directory: rstwatch-<name>-<pid>/ in the current directory
        d = os.path.join(tmp, "d")
        os.mkdir(d)
        cl = subprocess.run([rstwatch, "run", client, "1"], cwd=d, stderr=subprocess.PIPE,
                            timeout=60)
        if cl.returncode != 1:
            fail(f"client without server: exit status {cl.returncode}, expected 1")
        dirs = glob.glob(os.path.join(d, "rstwatch-e2e_client-*"))
        if len(dirs) != 1:
            fail(f"default log directory: {os.listdir(d)}")
        pid = dirs[0].rsplit("-", 1)[1]
        if not os.path.exists(os.path.join(dirs[0], f"e2e_client.{pid}.jsonl")):
            fail(f"log file in {dirs[0]}: {os.listdir(dirs[0])}")
        if f"rstwatch: next: rstwatch report rstwatch-e2e_client-{pid}/" not in cl.stderr.decode():
            fail(f"next-command line: {cl.stderr.decode()!r}")
    print("e2e: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
