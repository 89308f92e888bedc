"""cases_failures.py: the default mode, RSTWATCH_EVENTS=failures, on the small test programs: a failing
connection's lifecycle is written with its first error (each line with the time and seq it happened
at), a clean one leaves only a tally, a killing SIGPIPE is never suppressed, and storm control's
counts add up with 8 threads at one call site."""

import signal

from rswlog import case, kv, out_line
from rswtest import MISSING, check, fields, has_sym, only, select, show

DEFAULT = {"RSTWATCH_EVENTS": None}  # the library's own default


@case
def failures_refused(ctx):
    run = ctx.run("t_connect", "block", env=DEFAULT)
    run.expect_rc(0)
    out = out_line(run, "connect ")
    fd, peer = int(out["fd"]), f"127.0.0.1:{out['port']}"
    lines = run.log()
    fields(only(lines, "start"), mode="failures", rate=100)
    c = only(lines, "connect", fd=fd, peer=peer)
    fields(c, call="connect", ret=-1, errno="ECONNREFUSED", nonblock=False, tid=run.pid)
    check(type(c.get("dur")) is int and 0 < c["dur"] < 1_000_000_000 and c["ts"] - c["dur"] >= run.t0,
          f"the blocking connect's held line says how long it took (dur, ns), within the run: {show(c)}")
    check(c.get("local", "").startswith("0.0.0.0:") and isinstance(c.get("cookie"), int),
          f"the held connect line asked the kernel for its local address and cookie when written: {show(c)}")
    err = only(lines, "error", fd=fd)
    fields(err, op="connect", conn=c["conn"], errno="ECONNREFUSED", cookie=c["cookie"])
    check(c["seq"] < err["seq"] and c["ts"] <= err["ts"] and lines.index(c) < lines.index(err),
          f"the connect line keeps its own time and seq, before the error: {show(c)} {show(err)}")
    has_sym(err, "connect_refused_blocking")
    check(not select(lines, "close"), "no close after a failed connect in the default mode")


@case
def failures_epipe_kill(ctx):
    run = ctx.run("t_epipe", env=DEFAULT)
    run.expect_rc(-signal.SIGPIPE)
    conn_out = out_line(run, "conn ")
    fd, peer = int(conn_out["fd"]), f"127.0.0.1:{conn_out['port']}"
    lines = run.log()
    c = only(lines, "connect", fd=fd, peer=peer)
    last = lines[-1]
    fields(last, ev="signal", sig="SIGPIPE", action="kill", call="write", fd=fd, conn=c["conn"], peer=peer)
    has_sym(last, "write_blocks_until_failure")
    check(lines.index(c) < len(lines) - 1 and c["seq"] < last["seq"], "the held connect before the signal")


@case
def failures_clean_lifecycle_tallied(ctx):
    """t_lifecycle's connection ends cleanly on both sides: no lifecycle line, a tally line each
    (client keyed by its peer, server by its local address) with the exact byte counts."""
    run = ctx.run("t_lifecycle", env=DEFAULT)
    run.expect_rc(0)
    port = out_line(run, "conn ")["port"]
    kinds = {e["ev"] for pid_lines in run.all_logs().values() for e in pid_lines}
    check(kinds <= {"start", "tally"}, f"a clean connection left lines of its own: {sorted(kinds)}")
    tallies = [e for pid_lines in run.all_logs().values() for e in pid_lines if e["ev"] == "tally"]
    by_role = {t["role"]: t for t in tallies}
    check(len(tallies) == 2 and set(by_role) == {"client", "server"}, f"one tally per side: {[show(t) for t in tallies]}")
    fields(by_role["client"], peer=f"127.0.0.1:{port}", conns=1, family="inet", local=MISSING)
    fields(by_role["server"], local=f"127.0.0.1:{port}", conns=1, family="inet", peer=MISSING)
    check(by_role["client"]["bytes_out"] == by_role["server"]["bytes_in"]
          and by_role["client"]["bytes_in"] == by_role["server"]["bytes_out"]
          and by_role["client"]["bytes_out"] > 0, f"byte counts of both sides agree: {[show(t) for t in tallies]}")


@case
def failures_threads_storm(ctx):
    """8 threads, 25 refused connects each, at one call site, RSTWATCH_RATE=20: the written errors
    plus the suppressed counts are exactly 200, and every suppressed one was its connection's first."""
    run = ctx.run("t_threads", env={**DEFAULT, "RSTWATCH_RATE": "20"})
    run.expect_rc(0)
    lines = run.log()
    errors, supp = select(lines, "error"), select(lines, "suppressed")
    total = len(errors) + sum(s["count"] for s in supp)
    check(total == 200, f"{len(errors)} written + {sum(s['count'] for s in supp)} suppressed = {total}, expected 200")
    check(supp and all(s["conns"] == s["count"] and s["errno"] == "ECONNREFUSED" for s in supp),
          f"suppressed lines: {[show(s) for s in supp]}")
    check(len(select(lines, "connect")) == len(errors), "a connect line for each written error, no other")
    check(len({kv(line)["tid"] for line in run.out_lines() if line.startswith("thread ")}) == 8, "8 threads ran")
