#!/usr/bin/env python3
"""check_scenario.py: runs one samples/run scenario end to end and checks its logs and report.

usage: check_scenario.py REPO BUILD OUTDIR SCENARIO

Asserts, for the scenario's client process: the exact error/eof/signal events in its log (call,
op, errno, family, peer, byte counts), its exit status, the analyzer's verdict for its connection,
and that a symbolized backtrace frame of the report names the sample's own function. Exit 0 =
pass, 1 = fail, 77 = skipped (network namespaces truly unavailable here).
"""
import glob
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402

# Per scenario: the client's log events that matter, in order (each a dict of fields that must match
# exactly), its exit status, its connection's verdict, and the function a backtrace must name.
SCENARIOS = {
    "refused": dict(
        events=[dict(ev="error", call="connect", op="connect", errno="ECONNREFUSED", family="inet")],
        exit=1, verdict="refused", func="client_connect", peer=r"127\.0\.0\.1:\d+"),
    "write-after-close": dict(
        events=[dict(ev="signal", sig="SIGPIPE", action="kill", disposition="default", call="write")],
        exit=141, verdict="write-after-peer-close", func="client_write_loop",
        peer=r"127\.0\.0\.1:\d+", killed_by="SIGPIPE"),
    "write-after-close-read": dict(
        events=[dict(ev="eof", call="read", bytes_out=5000),
                dict(ev="error", call="send", op="write", errno="EPIPE", family="inet", bytes_out=5000)],
        exit=1, verdict="write-after-peer-close", func="client_write_then_read",
        peer=r"127\.0\.0\.1:\d+"),
    "abort": dict(
        events=[dict(ev="error", call="read", op="read", errno="ECONNRESET", family="inet", bytes_out=6)],
        exit=1, verdict="reset-by-peer", func="client_read_until_end", peer=r"127\.0\.0\.1:\d+"),
    "peer-reboot": dict(
        events=[dict(ev="error", call="write", op="write", errno="ECONNRESET", family="inet",
                     peer="10.231.0.2:7000", bytes_out=5006)],
        exit=1, verdict="stale-after-peer-restart", func="client_write_after_reboot",
        peer=r"10\.231\.0\.2:7000", netns=True),
    "unreachable": dict(
        events=[dict(ev="error", call="connect", op="connect", errno="EHOSTUNREACH", family="inet",
                     peer="10.231.1.5:7000")],
        exit=1, verdict="unreachable", func="client_connect", peer=r"10\.231\.1\.5:7000", netns=True),
    "blackhole": dict(
        events=[dict(ev="error", call="connect", op="connect", errno="ETIMEDOUT", family="inet",
                     peer="10.231.0.2:7000")],
        exit=1, verdict="timeout", func="client_connect", peer=r"10\.231\.0\.2:7000", netns=True),
    "unix-epipe": dict(
        events=[dict(ev="eof", call="read"),
                dict(ev="error", call="write", op="write", errno="EPIPE", family="unix")],
        exit=1, verdict="write-after-peer-close", func="unix_client_write_after_eof",
        peer=r"/.*/rstwatch-unix\.\w+/sock"),
    "pipe-sigpipe": dict(
        events=[dict(ev="signal", sig="SIGPIPE", action="kill", disposition="default", call="write")],
        exit=141, verdict="write-after-peer-close", func="pipe_writer_loop", peer=r"pipe:\[\d+\]",
        killed_by="SIGPIPE"),
}
NOTABLE = ("error", "eof", "signal")
soft = rswtest.Soft()
check = soft.check


def read_log(path):
    """The log's events, every line valid (rswtest.load_log); [] and a failure if it is not."""
    try:
        return rswtest.load_log(path)
    except rswtest.Fail as e:
        check(False, str(e))
        return []


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} REPO BUILD OUTDIR SCENARIO ({' '.join(SCENARIOS)})")
    repo, build, outdir, name = sys.argv[1:]
    want = SCENARIOS[name]
    env = dict(os.environ, RSTWATCH_BUILD=build)
    run = subprocess.run([os.path.join(repo, "samples", "run"), "--out", outdir, name], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=90)
    sys.stdout.write(run.stdout)
    sdir = os.path.join(outdir, name)
    result = open(os.path.join(sdir, "result")).read().strip().split("|")
    if result[0] == "skip":
        if want.get("netns"):
            print(f"SKIP: {result[1]}")
            sys.exit(77)
        sys.exit(f"FAIL: a scenario without namespaces was skipped: {result[1]}")
    check(run.returncode == 0, f"samples/run exited {run.returncode}, want 0")
    check(result[0] == "pass", f"the runner's verdict is {result}")
    row = re.search(rf"^{re.escape(name)} .* pass$", run.stdout, re.M)
    check(row is not None, "the runner's table has no passing row for the scenario")
    check(f"verdict: {want['verdict']}" in run.stdout, "the text report does not show the verdict")

    # The client process's own log (not a forked child's).
    client = None
    for path in client_logs(sdir):
        events = read_log(path)
        if events and events[0].get("ev") == "start" and events[0].get("origin") == "exec":
            client = events
    if not check(client is not None, "no log of the client process"):
        return
    pid = client[0]["pid"]
    check(int(result[3]) == want["exit"], f"client exit status {result[3]}, want {want['exit']}")

    notable = [e for e in client if e["ev"] in NOTABLE]
    check(len(notable) == len(want["events"]),
          f"client log has {len(notable)} error/eof/signal events, want {len(want['events'])}: {notable}")
    for got, exp in zip(notable, want["events"]):
        for key, value in exp.items():
            check(got.get(key) == value, f"{got['ev']} event: {key} = {got.get(key)!r}, want {value!r}")
        if got["ev"] in ("error", "signal"):
            check(re.fullmatch(want["peer"], got.get("peer", "")) is not None,
                  f"{got['ev']} event: peer {got.get('peer')!r} does not match {want['peer']}")
            frames = got.get("bt") or []
            modules = {e["id"] for e in client if e["ev"] == "module"}
            check(len(frames) >= 2 and all(f.get("m") in modules and "off" in f for f in frames),
                  f"{got['ev']} event: backtrace missing, or a frame without off or a module line: {frames}")
    if want.get("killed_by"):
        check(client[-1]["ev"] == "signal" and client[-1].get("action") == "kill",
              "the last line of a process killed by SIGPIPE is not its signal event")
        sig = notable[-1] if notable else {}
        check(sig.get("bytes_out", 0) >= 5000 and sig.get("bytes_out", 0) % 5000 == 0,
              f"before SIGPIPE the first 5000-byte writes succeeded: bytes_out = {sig.get('bytes_out')}")
    scenario_specific(name, sdir, client, run.stdout)

    # The analyzer's view of the same run.
    rep = subprocess.run([os.path.join(build, "bin", "rstwatch"), "report", "--format", "json",
                          os.path.join(sdir, "logs")],
                         stdout=subprocess.PIPE, text=True, timeout=30)
    check(rep.returncode == 0, f"rstwatch report exited {rep.returncode}")
    report = json.loads(rep.stdout)
    mine = [c for c in report["connections"] if c["pid"] == pid]
    if not check(len(mine) == 1, f"report: {len(mine)} connections of the client, want 1"):
        return
    conn = mine[0]
    check(conn["verdict"] == want["verdict"], f"report verdict {conn['verdict']!r}, want {want['verdict']!r}")
    check(conn.get("killed_by") == want.get("killed_by"),
          f"report killed_by {conn.get('killed_by')!r}, want {want.get('killed_by')!r}")
    funcs = [f.get("func") or f.get("sym") or "" for e in conn["events"] for f in (e.get("bt") or [])]
    check(any(f == want["func"] for f in funcs),
          f"no backtrace frame names {want['func']}: {sorted(set(funcs))}")
    # A connect that blocked: its line says how long (dur), and the timeline starts when it began.
    if name in ("blackhole", "unreachable"):
        line = next(e for e in client if e["ev"] == "connect")
        low = 2.0e9 if name == "blackhole" else 0.9e9
        check(low <= line.get("dur", -1) <= 20e9, f"connect dur {line.get('dur')} ns, want at least {low / 1e9} s")
        lasted = conn["end_ts"] - conn["start_ts"]
        check(lasted >= line["dur"], f"the report's connection lasted {lasted} ns, less than connect blocked")
        first = conn["events"][0]
        check(first["t"] == 0 and first["ev"] == "error" and "(blocked " in first["text"]
              and first["ts"] == line["ts"] - line["dur"],
              f"the timeline's first event: the connect, shown when it began, saying how long it blocked: {first}")
    # Both ends matched: the server's log is given too, whichever side finished first.
    if name in ("abort", "write-after-close", "write-after-close-read", "peer-reboot"):
        check(conn.get("peer_side") is not None, "report: the server's side was not matched")


def client_logs(sdir):
    """Every program of a scenario logs into logs/: the client's side is every log but the
    servers'."""
    return [p for p in sorted(glob.glob(os.path.join(sdir, "logs", "*.jsonl")))
            if not os.path.basename(p).startswith("sample-server.")]


def scenario_specific(name, sdir, client, output):
    programs = open(os.path.join(sdir, "programs.txt")).read()
    if name == "write-after-close":
        # the kernel accepted the first writes; the process died inside a later one
        check(re.search(r"^client .* write #1 \(fd \d+, 5000 B\) = 5000$", programs, re.M),
              "the first write did not succeed")
    if name == "write-after-close-read":
        check(re.search(r"read\(fd \d+, 512 B\) = (0|-1 ECONNRESET)", programs),
              "the read after the RST returned neither 0 nor ECONNRESET")
        err = [e for e in client if e["ev"] == "error"]
        check(err and err[0].get("tcp", {}).get("unacked") == 5000,
              f"the 5000 B written after the peer closed are not reported unacked: {err}")
    if name == "peer-reboot":
        starts = [e for p in glob.glob(os.path.join(sdir, "logs", "sample-server.*.jsonl"))
                  for e in read_log(p) if e["ev"] == "start"]
        check(len(starts) == 2, f"want one server start before and one after the reboot, got {len(starts)}")
        check(re.search(r"^client .* write #1 \(fd \d+, 5000 B\) = 5000$", programs, re.M),
              "the first write after the reboot did not succeed")
        check(re.search(r"^client .* write #2 \(fd \d+, 5000 B\) = -1 ECONNRESET", programs, re.M),
              "the second write after the reboot did not fail with ECONNRESET")
    if name == "blackhole":
        start = next(e["ts"] for e in client if e["ev"] == "start")
        err = next((e["ts"] for e in client if e["ev"] == "error"), start)
        check(2.0 <= (err - start) / 1e9 <= 20.0,
              f"ETIMEDOUT after {(err - start) / 1e9:.1f} s, want about 3 s (TCP_SYNCNT=1)")
    if name == "pipe-sigpipe":
        adopt = [e for e in client if e["ev"] == "adopt"]
        check(adopt and adopt[0].get("family") == "pipe", f"the pipe was not adopted: {adopt}")
        forks = [p for p in client_logs(sdir)
                 if read_log(p)[0].get("origin") == "fork"]
        check(len(forks) == 1, f"want the reader child's own log, got {len(forks)}")


if __name__ == "__main__":
    main()
    sys.exit(soft.finish(sys.argv[4], sys.argv[4]))
