"""cases_sig.py: integration cases about SIGPIPE: death by SIGPIPE, the program's own dispositions, pipes, survive."""

import os
import signal
import subprocess
import time

from rswlog import case, conn_of, kv, out_line
from rswtest import check, fields, has_sym, load_log, only, select, show, syms


# 3. write after the peer closed: death by SIGPIPE ------------------------------------------------

@case
def epipe_kill(ctx):
    run, bare = ctx.both("t_epipe")
    run.expect_rc(-signal.SIGPIPE)
    conn_out = out_line(run, "conn ")
    writes = [kv(line) for line in run.out_lines() if line.startswith("write ")]
    check(writes and writes[0]["ret"] == "5000", f"first write did not succeed: {run.stdout}")
    check(all(w["ret"] == "5000" for w in writes), f"a write failed without killing: {run.stdout}")
    total = 5000 * len(writes)
    lines = run.log()
    fd, peer = int(conn_out["fd"]), f"127.0.0.1:{conn_out['port']}"
    c = conn_of(lines, fd, peer)
    last = lines[-1]
    fields(last, ev="signal", sig="SIGPIPE", disposition="default", action="kill", call="write", fd=fd,
           conn=c["conn"], peer=peer, bytes_out=total, tid=run.pid)
    has_sym(last, "write_blocks_until_failure")
    check(syms(last).index("write_blocks_until_failure") < syms(last).index("main"), "bt not innermost first")
    # In a shell, the exit code is 141 as without the preload.
    for preload in (False, True):
        env = ctx.env(preload, None, run.logdir)
        sh = subprocess.run(["sh", "-c", f'"{run.argv[0]}" >/dev/null; echo $?'], env=env, cwd=run.cwd,
                            capture_output=True, text=True, timeout=20)
        check(sh.stdout.strip() == "141", f"shell exit code {sh.stdout.strip()!r} (preload={preload}), expected 141")


# 5/6. the program's own SIGPIPE disposition ------------------------------------------------------

def epipe_conn(lines, run):
    """The first connection provoke_epipe() wrote into: connect event and its peer."""
    port = out_line(run, "conn port=", first=True)["port"]
    peer = f"127.0.0.1:{port}"
    return only(lines, "connect", peer=peer), peer


def handled(ctx, mode, want_rc=0):
    run, bare = ctx.both("t_sigpipe", mode)
    run.expect_rc(want_rc)
    h = out_line(bare, "handler ")
    check(h["calls"] == "1" and h["signo"] == "13", f"test program without preload: handler not called once: {h}")
    check(out_line(bare, "installed:")["handler"].startswith("on_sigpipe"), "test program: handler not installed")
    lines = run.log()
    c, peer = epipe_conn(lines, run)
    sig = select(lines, "signal")
    check(sig, "no signal event")
    fields(sig[0], sig="SIGPIPE", disposition="handler", action="handler", call="write", fd=c["fd"],
           conn=c["conn"], peer=peer, bytes_out=5000)
    has_sym(sig[0], "provoke_epipe")
    err = only(lines, "error", conn=c["conn"])
    fields(err, call="write", op="write", fd=c["fd"], errno="EPIPE", ret=-1, bytes_out=5000, peer=peer)
    check(lines.index(sig[0]) < lines.index(err), "error logged before the signal (the write returns after the handler)")
    has_sym(err, "tu_write_until_failure")
    return run, lines, sig


@case
def handler_signal(ctx):
    run, _, sig = handled(ctx, "signal")
    check(len(sig) == 1, f"{len(sig)} signal events, expected 1")
    check(out_line(run, "installed:")["handler"] == "on_sigpipe", "disposition query does not return the handler")


@case
def handler_siginfo(ctx):
    run, _, sig = handled(ctx, "siginfo")
    check(len(sig) == 1, f"{len(sig)} signal events, expected 1")
    h = out_line(run, "handler ")
    check(h["si_signo"] == "13" and h["si_pid_self"] == "1" and h["ctx"] == "1", f"siginfo seen by the handler: {h}")


@case
def handler_resethand(ctx):
    run, lines, sig = handled(ctx, "resethand", -signal.SIGPIPE)
    check(len(sig) == 2, f"{len(sig)} signal events, expected 2 (handler, then default)")
    check(out_line(run, "after:")["handler"] == "DFL", "SA_RESETHAND: disposition not back to default")
    fields(lines[-1], ev="signal", disposition="default", action="kill", call="write")


def ignored(ctx, *args, sigpipe_ignored=False):
    run, _ = ctx.both("t_sigpipe", *args, sigpipe_ignored=sigpipe_ignored)
    run.expect_rc(0)
    check(out_line(run, "final ")["errno"] == "EPIPE", "write did not return EPIPE")
    lines = run.log()
    check(not select(lines, "signal"), f"signal event although SIGPIPE is {args[0]}: {select(lines, 'signal')}")
    c, peer = epipe_conn(lines, run)
    err = only(lines, "error", conn=c["conn"], pid=c["pid"])
    fields(err, call="write", op="write", errno="EPIPE", ret=-1, fd=c["fd"], peer=peer, bytes_out=5000)
    has_sym(err, "provoke_epipe")
    return run, lines


@case
def sigign(ctx):
    run, _ = ignored(ctx, "ignore")
    check(out_line(run, "ignored:")["handler"] == "IGN", "query after signal(SIG_IGN) is not SIG_IGN")


@case
def sigign_sigaction(ctx):
    run, _ = ignored(ctx, "ignore_sigaction")
    check(out_line(run, "ignored:")["handler"] == "IGN", "query after sigaction(SIG_IGN) is not SIG_IGN")


@case
def sigign_exec(ctx):
    run, lines = ignored(ctx, "ignore_exec")
    check(out_line(run, "report:")["handler"] == "IGN", "SIG_IGN lost across exec")
    starts = select(lines, "start")
    check(len(starts) == 2 and all(s["pid"] == run.pid and s["origin"] == "exec" for s in starts),
          f"expected two start lines (origin exec, same pid): {starts}")


@case
def sigign_inherited(ctx):
    run, _ = ignored(ctx, "report", sigpipe_ignored=True)
    check(out_line(run, "report:")["handler"] == "IGN", "inherited SIG_IGN not reported")


@case
def sigpipe_blocked(ctx):
    run, _ = ctx.both("t_sigpipe", "blocked")
    run.expect_rc(0)
    check(out_line(run, "pending=")["pending"] == "1", "SIGPIPE not pending while blocked")
    check(out_line(run, "sigtimedwait ")["ret"] == "13", "sigtimedwait did not fetch SIGPIPE")
    lines = run.log()
    c, peer = epipe_conn(lines, run)
    fields(only(lines, "error", conn=c["conn"]), call="write", errno="EPIPE", peer=peer)


# 7. pipes ----------------------------------------------------------------------------------------

def pipe_into_head(ctx, mode, sym):
    results = {}
    for preload in (False, True):
        cwd, logdir = ctx.fresh_dir()
        t0 = time.time_ns()
        writer = subprocess.Popen([ctx.prog("t_pipe_writer"), mode], cwd=cwd, env=ctx.env(preload, None, logdir),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        inode = os.fstat(writer.stdout.fileno()).st_ino
        head = subprocess.Popen(["head", "-c1"], stdin=writer.stdout, stdout=subprocess.PIPE,
                                env=ctx.env(False, None, logdir))
        writer.stdout.close()
        head_out, _ = head.communicate(timeout=20)
        err = writer.stderr.read().decode(errors="replace")
        rc = writer.wait(20)
        t1 = time.time_ns()
        check(rc == -signal.SIGPIPE, f"writer (preload={preload}): status {rc}, expected death by SIGPIPE; stderr {err}")
        check(head_out == b"y", f"head printed {head_out!r}")
        results[preload] = (logdir, inode, writer.pid, t0, t1)
    logdir, inode, pid, t0, t1 = results[True]
    lines = load_log(os.path.join(logdir, f"t_pipe_writer.{pid}.jsonl"), t0, t1)
    last = lines[-1]
    fields(last, ev="signal", sig="SIGPIPE", disposition="default", action="kill")
    has_sym(last, sym)
    return lines, last, f"pipe:[{inode}]"


@case
def pipe_head(ctx):
    lines, last, peer = pipe_into_head(ctx, "write", "write_to_pipe_forever")
    fields(last, call="write", fd=1, peer=peer)
    opened = [e for e in lines if e.get("fd") == 1 and e.get("family") == "pipe" and e["ev"] != "signal"]
    check(opened, f"no event introduces fd 1 as a pipe (adopt, family pipe): {[show(e) for e in lines]}")
    fields(opened[0], ev="adopt", call="write", peer=peer, conn=last["conn"])


@case
def pipe_head_stdio(ctx):
    _, last, peer = pipe_into_head(ctx, "stdio", "print_to_pipe_forever")
    fields(last, call="write", fd=1, peer=peer, family="pipe")


@case
def pipe_head_short_write(ctx):
    """A blocked write cut short by the reader leaving: short count + SIGPIPE, no EPIPE."""
    _, last, peer = pipe_into_head(ctx, "huge", "write_one_huge_block")
    fields(last, call="write", fd=1, peer=peer, family="pipe")


@case
def sigpipe_from_kill(ctx):
    """kill(getpid(), SIGPIPE): logged, handler runs, but no write or fd is blamed."""
    run, bare = ctx.both("t_pipe_writer", "kill")
    run.expect_rc(0)
    check(out_line(bare, "handled=")["handled"] == "1", "test program: handler not called without preload")
    check(out_line(run, "handled=")["handled"] == "1", "handler not called under the preload")
    sig = only(run.log(), "signal")
    fields(sig, sig="SIGPIPE", disposition="handler", action="handler")
    for k in ("fd", "call", "conn"):
        check(k not in sig, f"signal from kill() names a {k}: {show(sig)}")


# 10. survive -------------------------------------------------------------------------------------

@case
def survive(ctx):
    run = ctx.run("t_epipe", env={"RSTWATCH_SIGPIPE": "survive"})
    run.expect_rc(0)
    check("rstwatch:" not in run.stderr, f"stderr: {run.stderr}")
    writes = [kv(line) for line in run.out_lines() if line.startswith("write ")]
    check(writes[-1]["ret"] == "-1" and writes[-1]["errno"] == "EPIPE", f"last write: {writes[-1]}")
    total = int(out_line(run, "survived ")["total"])
    conn_out = out_line(run, "conn ")
    lines = run.log()
    c = conn_of(lines, int(conn_out["fd"]), f"127.0.0.1:{conn_out['port']}")
    sig = only(lines, "signal")
    fields(sig, sig="SIGPIPE", disposition="default", action="survive", call="write", fd=c["fd"], conn=c["conn"],
           bytes_out=total)
    err = only(lines, "error")
    fields(err, call="write", errno="EPIPE", conn=c["conn"], bytes_out=total)
    check(lines.index(sig) < lines.index(err), "error before the signal")
