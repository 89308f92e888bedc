"""cases_net.py: integration cases about connections: connect outcomes, lifecycle, resets, threads, errno fidelity, start line."""

import os
import re
import subprocess

from rswlog import case, conn_of, kv, out_line, start_line, tcp_fields
from rswtest import MISSING, WATCHED_ERRNOS, Fail, check, fields, has_sym, load_log, only, select, show


# 1. refused blocking connect ---------------------------------------------------------------------

def refused(ctx, mode, family, peer_of, sym):
    run, bare = ctx.both("t_connect", mode)
    run.expect_rc(0)
    out = out_line(run, "connect ")
    check(out["ret"] == "-1" and out["errno"] == "ECONNREFUSED", f"test program: connect {out}")
    fd, peer = int(out["fd"]), peer_of(out)
    lines = run.log()
    start = start_line(lines, run)
    fields(start, argv=[run.argv[0], mode], ppid=os.getpid(), host=os.uname().nodename,
           exe=os.path.realpath(run.argv[0]))
    c = conn_of(lines, fd, peer)
    fields(c, call="connect", family=family, ret=-1, errno="ECONNREFUSED", nonblock=False, tid=run.pid)
    err = only(lines, "error", call="connect")
    fields(err, op="connect", fd=fd, conn=c["conn"], family=family, peer=peer, ret=-1, errno="ECONNREFUSED",
           tid=run.pid)
    check(err.get("injected", False) is False, f"injected set on a real refusal: {show(err)}")
    if family != "unix":
        tcp_fields(err)
    has_sym(err, sym)
    close = only(lines, "close", fd=fd)
    fields(close, conn=c["conn"], call="close", ret=0, bytes_in=0, bytes_out=0)
    check(lines.index(c) < lines.index(close) and lines.index(err) < lines.index(close), "close logged before connect/error")


@case
def connect_refused(ctx):
    refused(ctx, "block", "inet", lambda o: f"127.0.0.1:{o['port']}", "connect_refused_blocking")


@case
def connect_refused_v6(ctx):
    refused(ctx, "v6", "inet6", lambda o: f"[::1]:{o['port']}", "connect_refused_blocking")


@case
def connect_refused_unix(ctx):
    refused(ctx, "unix", "unix", lambda o: o["path"], "connect_unix_refused")


# 2. non-blocking connect -------------------------------------------------------------------------

@case
def connect_nonblock_refused(ctx):
    run, _ = ctx.both("t_connect", "nonblock")
    run.expect_rc(0)
    out = out_line(run, "connect ")
    check(out["errno"] == "EINPROGRESS", f"test program: non-blocking connect to a closed port: {out}")
    check(out_line(run, "getsockopt ")["so_error"] == "ECONNREFUSED", "test program: SO_ERROR not ECONNREFUSED")
    fd, peer = int(out["fd"]), f"127.0.0.1:{out['port']}"
    lines = run.log()
    c = conn_of(lines, fd, peer)
    fields(c, call="connect", family="inet", ret=-1, errno="EINPROGRESS", nonblock=True)
    err = only(lines, "error")
    fields(err, call="getsockopt", op="connect", fd=fd, conn=c["conn"], family="inet", peer=peer,
           errno="ECONNREFUSED")
    tcp_fields(err)
    has_sym(err, "connect_nonblocking_then_poll")
    check(lines.index(c) < lines.index(err), "error logged before its connect")
    check(not select(lines, "connected"), "connected event for a refused connect")


@case
def connect_nonblock_ok(ctx):
    run, _ = ctx.both("t_connect", "nonblock_ok")
    run.expect_rc(0)
    out = out_line(run, "connect ")
    fd, peer = int(out["fd"]), f"127.0.0.1:{out['port']}"
    lines = run.log()
    c = conn_of(lines, fd, peer)
    fields(c, call="connect", family="inet", nonblock=True, ret=int(out["ret"]))
    check(not select(lines, "error"), "error event on a successful connect")
    if out["errno"] == "EINPROGRESS":
        fields(c, errno="EINPROGRESS")
        done = only(lines, "connected", fd=fd)
        fields(done, conn=c["conn"], peer=peer)
        check(isinstance(done.get("local"), str) and done["local"].startswith("127.0.0.1:"), f"connected.local: {show(done)}")
    else:
        fields(c, errno=MISSING)
    acc = only(lines, "accept")
    fields(acc, call="accept", local=peer, peer=done["local"] if out["errno"] == "EINPROGRESS" else acc["peer"])


# lifecycle ---------------------------------------------------------------------------------------

def lifecycle_logs(ctx, env=None):
    run, _ = ctx.both("t_lifecycle", env=env)
    run.expect_rc(0)
    out = out_line(run, "conn ")
    fd, port, server = int(out["fd"]), int(out["port"]), int(out["server"])
    check(out_line(run, "read at eof")["ret"] == "0", "test program: no EOF")
    client, srv = run.log(), run.log(server)
    return run, fd, port, server, client, srv


@case
def lifecycle(ctx):
    run, fd, port, server, client, srv = lifecycle_logs(ctx)
    c = conn_of(client, fd, f"127.0.0.1:{port}")
    fields(c, call="connect", family="inet", ret=0, errno=MISSING, nonblock=False)
    check(isinstance(c.get("local"), str) and c["local"].startswith("127.0.0.1:"), f"connect.local: {show(c)}")
    check(isinstance(c.get("cookie"), int) and c["cookie"] > 0, f"connect.cookie: {show(c)}")
    conn = c["conn"]
    fields(only(client, "shutdown", fd=fd), conn=conn, how="SHUT_WR", ret=0, errno=MISSING)
    fields(only(client, "eof", fd=fd), conn=conn, call="read", bytes_in=5, bytes_out=10)
    fields(only(client, "close", fd=fd), conn=conn, call="close", bytes_in=5, bytes_out=10, ret=0, errno=MISSING)
    check(not select(client, "error") and not select(srv, "error"), "error events in a clean conversation")
    order = [client.index(e) for e in (c, only(client, "shutdown"), only(client, "eof"), only(client, "close", fd=fd))]
    check(order == sorted(order), "client events out of order (connect, shutdown, eof, close)")
    # The server: a forked child with its own log.
    fields(srv[0], ev="start", origin="fork", pid=server, ppid=run.pid)
    acc = only(srv, "accept")
    fields(acc, call="accept", family="inet", local=f"127.0.0.1:{port}", peer=c["local"])
    check(isinstance(acc.get("lfd"), int) and isinstance(acc.get("cookie"), int), f"accept lfd/cookie: {show(acc)}")
    check(acc["cookie"] != c["cookie"], "both ends of a connection with the same cookie")
    fields(only(srv, "eof", fd=acc["fd"]), conn=acc["conn"], bytes_in=10, bytes_out=5)
    fields(only(srv, "close", fd=acc["fd"]), conn=acc["conn"], bytes_in=10, bytes_out=5, ret=0)
    check(all(e["pid"] == server for e in srv) and all(e["pid"] == run.pid for e in client), "lines of another pid")


@case
def lifecycle_all_events(ctx):
    run, fd, port, server, client, srv = lifecycle_logs(ctx, {"RSTWATCH_EVENTS": "all"})
    conn = conn_of(client, fd, f"127.0.0.1:{port}")["conn"]
    writes = select(client, "io", fd=fd, call="write")
    check(len(writes) == 1, f"expected one io line for the client's write, seen {len(writes)}")
    fields(writes[0], op="write", conn=conn, ret=10)
    reads = select(client, "io", fd=fd, call="recv")
    check(reads and sum(e["ret"] for e in reads) == 5, f"io lines for recv don't add up to 5: {reads}")
    check(all(e["op"] == "read" and e["conn"] == conn for e in reads), f"io recv op/conn: {reads}")
    srv_reads = select(srv, "io", call="read")
    check(sum(e["ret"] for e in srv_reads) == 10, f"server io reads don't add up to 10: {srv_reads}")


# 4. read after an RST ----------------------------------------------------------------------------

def reset(ctx, prog, mode, call):
    run, _ = ctx.both(prog, mode, "64")
    run.expect_rc(0)
    out = out_line(run, "conn ")
    res = out_line(run, mode + " ")
    check(res["ret"] == "-1" and res["errno"] == "ECONNRESET", f"test program: {mode} after reset: {res}")
    fd, peer = int(out["fd"]), f"127.0.0.1:{out['port']}"
    lines = run.log()
    c = conn_of(lines, fd, peer)
    err = only(lines, "error")
    fields(err, call=call, op="read", fd=fd, conn=c["conn"], family="inet", peer=peer, ret=-1,
           errno="ECONNRESET", bytes_in=50, bytes_out=102)
    tcp_fields(err)
    fields(err["tcp"], state="CLOSE")
    has_sym(err, "read_after_reset")
    fields(only(lines, "close", fd=fd), conn=c["conn"], bytes_in=50, bytes_out=102, ret=0)
    peer_log = run.log(int(out["peer_pid"]))
    acc = only(peer_log, "accept")
    fields(acc, peer=c["local"], local=peer)
    fields(only(peer_log, "close", fd=acc["fd"]), bytes_in=102, bytes_out=50)


@case
def reset_read(ctx):
    reset(ctx, "t_reset", "read", "read")


@case
def reset_fortified(ctx):
    prog = ctx.prog("t_reset_fortify")
    nm = subprocess.run(["nm", "-D", prog], capture_output=True, text=True)
    if nm.returncode == 0:
        check("__read_chk" in nm.stdout and "__recv_chk" in nm.stdout, "t_reset_fortify is not fortified")
    reset(ctx, "t_reset_fortify", "read", "__read_chk")
    reset(ctx, "t_reset_fortify", "recv", "__recv_chk")


# 8. threads --------------------------------------------------------------------------------------

@case
def threads(ctx):
    run = ctx.run("t_threads")
    run.expect_rc(0)
    port = out_line(run, "port=")["port"]
    tids = [int(kv(line)["tid"]) for line in run.out_lines() if line.startswith("thread ")]
    check(len(tids) == 8 and len(set(tids)) == 8, f"test program: {tids}")
    check(all(kv(line)["refused"] == "25" for line in run.out_lines() if line.startswith("thread ")),
          "test program: not every connect refused")
    lines = run.log()
    errors = select(lines, "error")
    check(len(errors) == 200, f"{len(errors)} error events, expected 200 (8 threads x 25)")
    for e in errors:
        fields(e, call="connect", errno="ECONNREFUSED", peer=f"127.0.0.1:{port}", pid=run.pid)
    per_tid = {t: len([e for e in errors if e["tid"] == t]) for t in tids}
    check(all(n == 25 for n in per_tid.values()), f"errors per thread: {per_tid}; tids in log "
          f"{sorted(set(e['tid'] for e in errors))}")
    has_sym(errors[0], "thread_meets_refusals")
    conns = [e["conn"] for e in select(lines, "connect")]
    check(len(conns) == 200 and len(set(conns)) == 200, f"connect events {len(conns)}, distinct conn ids {len(set(conns))}")


# 11. same return values and errno ----------------------------------------------------------------

OP_OF_CALL = {"connect": "connect", "getsockopt": "connect", "accept": "accept", "accept4": "accept"}
OP_OF_CALL.update({c: "read" for c in ("read", "readv", "recv", "recvfrom", "recvmsg")})
OP_OF_CALL.update({c: "write" for c in ("write", "writev", "send", "sendto", "sendmsg", "sendfile", "splice")})


@case
def same_errno(ctx):
    run, _ = ctx.both("t_errno")
    run.expect_rc(0)
    want = []
    for line in run.out_lines():
        f = kv(line)
        if f.get("errno") in WATCHED_ERRNOS:
            want.append((f["call"], OP_OF_CALL[f["call"]], f["errno"]))
        if f.get("so_error") in WATCHED_ERRNOS:
            want.append(("getsockopt", "connect", f["so_error"]))
    check(len(want) >= 15, f"test program: only {len(want)} watched errors: {run.stdout}")
    lines = run.log()
    seen = [(e.get("call"), e.get("op"), e.get("errno")) for e in select(lines, "error")]
    if seen != want:
        import difflib
        diff = "\n".join(difflib.unified_diff([str(w) for w in want], [str(s) for s in seen], "expected", "logged", lineterm=""))
        raise Fail(f"error events (call, op, errno) differ from the calls that failed:\n{diff}")
    families = [e.get("family") for e in select(lines, "error")]
    check({"inet", "inet6", "unix", "pipe"} >= set(families) >= {"inet", "unix", "pipe"}, f"families: {families}")
    first_reset = select(lines, "error", errno="ECONNRESET")[0]
    fields(first_reset, call="read", family="inet", bytes_in=5, bytes_out=12)  # after readv 5, write 10 + send 2
    sigpipes = int(out_line(run, "done ")["sigpipes"])
    sig = select(lines, "signal")
    check(len(sig) == sigpipes and all(s.get("action") == "handler" for s in sig),
          f"{len(sig)} signal events, the program's handler ran {sigpipes} times")


# start line: argv and exe escaping ----------------------------------------------------------------

@case
def start_escaping(ctx):
    """Odd bytes in the program's path and argv: the start line is still one valid JSON line."""
    odd_dir = os.path.join(ctx.tmp.encode(), b'we ird "dir"\\ \xff\x01')
    os.makedirs(odd_dir)
    prog = os.path.join(odd_dir, b"t_connect")
    with open(ctx.prog("t_connect"), "rb") as src, open(prog, "wb") as dst:
        dst.write(src.read())
    os.chmod(prog, 0o755)
    args = [b"block", b'quote"back\\slash', b"ctl\x01\t\n\x7f", b"\xff\xfe invalid", "\u00fc\u20ac\U0001f600".encode(),
            b"A" * 3000]
    run = ctx.run(os.fsdecode(prog), *[os.fsdecode(a) for a in args])
    run.expect_rc(0)
    import glob as _glob
    files = _glob.glob(os.path.join(run.logdir, f"*.{run.pid}.jsonl"))
    check(len(files) == 1, f"log files: {run.log_files()}")
    lines = load_log(files[0], run.t0, run.t1)
    want = [a.decode("utf-8", "replace") for a in [prog] + args]
    seen = lines[0].get("argv")

    def squash(s):  # one U+FFFD per invalid byte or per invalid sequence: both are fine
        return re.sub("\ufffd+", "\ufffd", s)
    check(isinstance(seen, list) and [squash(a) for a in seen] == [squash(a) for a in want],
          f"start.argv: expected {want!r}\n  seen {seen!r}")
    check(squash(lines[0].get("exe", "")) == squash(prog.decode("utf-8", "replace")),
          f"start.exe: expected {prog!r}, seen {lines[0].get('exe')!r}")
    fields(only(lines, "error"), errno="ECONNREFUSED")
