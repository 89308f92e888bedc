"""cases_proc.py: integration cases about processes and configuration: fork, exec, RSTWATCH_* variables, fd-closing daemons."""

import os
import re

from rswlog import case, conn_of, normalize, out_line
from rswtest import MISSING, check, fields, has_sym, load_log, only, parse_text, select, show


# 9. fork -----------------------------------------------------------------------------------------

def fork_outputs(run):
    run.expect_rc(0)
    child = int(out_line(run, "child=")["child"])
    return child


@case
def fork_child(ctx):
    run, _ = ctx.both("t_fork")
    child = fork_outputs(run)
    check(len(run.log_files()) == 2, f"expected 2 log files (parent, child), seen {run.log_files()}")
    parent_log, child_log = run.log(), run.log(child)
    check(all(e["pid"] == run.pid for e in parent_log), "parent's file has other pids")
    check(all(e["pid"] == child for e in child_log), "child's file has other pids")
    fields(child_log[0], ev="start", origin="fork", pid=child, ppid=run.pid, seq=0)
    err = only(child_log, "error")
    fields(err, call="connect", errno="ECONNREFUSED", tid=child)
    has_sym(err, "refused_connect")
    check(len(select(parent_log, "error")) == 2, "parent: expected 2 errors (before and after fork)")


@case
def fork_shared_file(ctx):
    log = os.path.join(ctx.tmp, "shared.jsonl")
    run = ctx.run("t_fork", env={"RSTWATCH_LOG": log})
    child = fork_outputs(run)
    lines = load_log(log, run.t0, run.t1)
    mine = [e for e in lines if e["pid"] == child]
    check(mine, "no lines of the child in the shared file")
    fields(mine[0], ev="start", origin="fork", ppid=run.pid)
    check(len(select(mine, "error")) == 1 and len(select(lines, "error", pid=run.pid)) == 2, "errors per pid")


# 12. configuration -------------------------------------------------------------------------------

@case
def config_bad_values(ctx):
    for var, value in (("RSTWATCH_BACKTRACE", "lots"), ("RSTWATCH_BACKTRACE", "257"), ("RSTWATCH_BACKTRACE", "-1"),
                       ("RSTWATCH_EVENTS", "everything"), ("RSTWATCH_SIGPIPE", "sometimes")):
        run = ctx.run("t_connect", "block", env={var: value})
        run.expect_rc(0)
        msgs = [line for line in run.stderr.splitlines() if line.startswith("rstwatch:")]
        check(len(msgs) == 1 and var in msgs[0], f"{var}={value}: expected one rstwatch: line naming {var}, "
              f"stderr:\n{run.stderr}")
        check(run.stderr.splitlines() == msgs, f"{var}={value}: other output on stderr:\n{run.stderr}")
        lines = run.log()
        err = only(lines, "error")
        check(len(err.get("bt", [])) >= 2, f"{var}={value}: default backtrace not used: {show(err)}")
        check(select(lines, "connect"), f"{var}={value}: default events (conn) not used")
    # A log path that cannot be opened: the program still runs as without the preload.
    bare = ctx.run("t_connect", "block", preload=False)
    for bad in ("/nonexistent-rstwatch-dir/x.jsonl", "/proc/version"):
        run = ctx.run("t_connect", "block", env={"RSTWATCH_LOG": bad}, quiet=False)
        run.expect_rc(0)
        check(normalize(run.stdout) == normalize(bare.stdout), f"RSTWATCH_LOG={bad}: output {run.stdout!r}")
        msgs = [line for line in run.stderr.splitlines() if line.startswith("rstwatch:")]
        check(len(msgs) <= 1 and len(run.stderr.splitlines()) == len(msgs),
              f"RSTWATCH_LOG={bad}: stderr:\n{run.stderr}")


@case
def config_events_errors(ctx):
    for mode in ("block", "nonblock_ok"):
        run = ctx.run("t_connect", mode, env={"RSTWATCH_EVENTS": "errors"})
        run.expect_rc(0)
        lines = run.log()
        kinds = {e["ev"] for e in lines}
        check(kinds <= {"start", "error", "signal", "inject", "module", "stack", "suppressed"},
              f"RSTWATCH_EVENTS=errors logged {sorted(kinds)}")
        if mode == "block":
            fields(only(lines, "error"), call="connect", errno="ECONNREFUSED")


@case
def config_no_backtrace(ctx):
    run = ctx.run("t_connect", "block", env={"RSTWATCH_BACKTRACE": "0"})
    run.expect_rc(0)
    fields(only(run.log(), "error"), errno="ECONNREFUSED", bt=MISSING)
    run = ctx.run("t_connect", "block", env={"RSTWATCH_BACKTRACE": "2"})
    run.expect_rc(0)
    err = only(run.log(), "error")
    check(1 <= len(err.get("bt", [])) <= 2, f"RSTWATCH_BACKTRACE=2: {len(err.get('bt', []))} frames")


@case
def config_log_pattern(ctx):
    pattern = os.path.join(ctx.tmp, "log.%n.%p.jsonl")
    run = ctx.run("t_connect", "block", env={"RSTWATCH_LOG": pattern})
    run.expect_rc(0)
    path = os.path.join(ctx.tmp, f"log.t_connect.{run.pid}.jsonl")
    check(os.path.exists(path), f"RSTWATCH_LOG={pattern}: {path} not written; dir holds {os.listdir(ctx.tmp)}")
    fields(only(load_log(path, run.t0, run.t1), "error"), errno="ECONNREFUSED")


@case
def config_log_stderr(ctx):
    run = ctx.run("t_connect", "block", env={"RSTWATCH_LOG": "stderr"})
    run.expect_rc(0)
    lines = parse_text(run.stderr, "stderr", run.t0, run.t1)
    fields(only(lines, "error"), errno="ECONNREFUSED")
    check(run.log_files() == [] and not [f for f in os.listdir(run.cwd) if f.endswith(".jsonl")], "a log file was written")


@case
def config_log_default(ctx):
    run = ctx.run("t_connect", "block", env={"RSTWATCH_LOG": None})
    run.expect_rc(0)
    path = os.path.join(run.cwd, f"rstwatch.t_connect.{run.pid}.jsonl")
    check(os.path.exists(path), f"default log {path} missing; cwd holds {os.listdir(run.cwd)}")
    fields(only(load_log(path, run.t0, run.t1), "error"), errno="ECONNREFUSED")


# 13. exec ----------------------------------------------------------------------------------------

@case
def exec_true(ctx):
    run = ctx.run("t_exec", "true")
    run.expect_rc(0)
    files = run.log_files()
    check(len(files) == 2, f"expected two logs (t_exec, true) for pid {run.pid}: {files}")
    mine = run.log()
    check(len(select(mine, "start")) == 1, "t_exec's own log has more than one start")
    lines = run.log(name="true")
    fields(lines[0], ev="start", origin="exec", pid=run.pid, argv=["true", "arg-one"],
           exe=os.path.realpath("/bin/true"))


@case
def exec_self(ctx):
    log = os.path.join(ctx.tmp, "fixed.jsonl")
    run = ctx.run("t_exec", "self", env={"RSTWATCH_LOG": log})
    run.expect_rc(0)
    lines = load_log(log, run.t0, run.t1)
    starts = select(lines, "start")
    check(len(starts) == 2 and all(s["pid"] == run.pid and s["origin"] == "exec" for s in starts),
          f"start lines: {starts}")
    fields(starts[1], argv=[run.argv[0], "child"])
    err = only(lines, "error")
    check(lines.index(err) > lines.index(starts[1]), "error before the exec")
    has_sym(err, "exec_child_refused")


# 14. daemons that close every fd -----------------------------------------------------------------

def daemon(ctx, mode):
    runs = ctx.both("t_daemon", *([mode] if mode else []))
    for r in runs:
        r.expect_rc(0)
        with open(os.path.join(r.cwd, "app.out"), "rb") as f:
            data = f.read()
        check(set(data.split(b"\n")) <= {b"app", b""}, f"app.out holds more than the program wrote "
              f"(preload={r is runs[0]}): {data[:300]!r}")
    run = runs[0]
    # The fd numbers the program gets must be exactly those it gets without the preload.
    raw = [re.sub(r"port=\d+", "port=N", r.stdout) for r in runs]
    check(raw[0] == raw[1], f"fd numbers differ under the preload:\nwith:\n{raw[0]}\nwithout:\n{raw[1]}")
    out = out_line(run, "holder ")
    check(out["errno"] == "ECONNREFUSED", f"connect: {out}")
    lines = run.log()
    fields(only(lines, "error"), call="connect", fd=int(out["fd"]), errno="ECONNREFUSED",
           peer=f"127.0.0.1:{out_line(run, 'port=')['port']}")


@case
def daemon_close_all(ctx):
    daemon(ctx, None)


@case
def daemon_close_range(ctx):
    daemon(ctx, "close_range")


@case
def daemon_socket_on_fd3(ctx):
    run, _ = ctx.both("t_daemon", "fd3")
    run.expect_rc(0)
    out = out_line(run, "socket ")
    fd, peer = int(out["fd"]), f"127.0.0.1:{out['port']}"
    lines = run.log()
    c = conn_of(lines, fd, peer)
    fields(only(lines, "error"), call="connect", fd=fd, conn=c["conn"], errno="ECONNREFUSED")
    fields(only(lines, "close", fd=fd), conn=c["conn"], ret=0)


@case
def high_fd(ctx):
    run, _ = ctx.both("t_daemon", "high_fd")
    run.expect_rc(0)
    out = out_line(run, "high ")
    fd, peer = int(out["fd"]), f"127.0.0.1:{out['port']}"
    check(fd > 65536, f"test program: fd {fd}")
    lines = run.log()
    c = conn_of(lines, fd, peer)
    fields(only(lines, "error"), call="connect", fd=fd, conn=c["conn"], errno="ECONNREFUSED", peer=peer)
    fields(only(lines, "close", fd=fd), conn=c["conn"], ret=0)


# early -------------------------------------------------------------------------------------------

@case
def early_constructor(ctx):
    run, _ = ctx.both("t_early")
    run.expect_rc(0)
    check(run.out_lines()[0].startswith("constructor ") and "ECONNREFUSED" in run.out_lines()[0], run.stdout)
    lines = run.log()
    fields(lines[0], ev="start")
    err = only(lines, "error")
    fields(err, call="connect", errno="ECONNREFUSED")
    has_sym(err, "early_constructor_connect")
