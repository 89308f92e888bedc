"""cases_misc.py: curl (real and injected faults), a setuid daemon forking children, a socket reset before
it is inherited across exec, and `rstwatch run` on a statically linked program."""

import os
import pwd
import re
import select as _select
import signal
import socket
import subprocess
import time

from progs import (PY, PY_OBJ, ClosedPort, Fail, HttpOnce, Logs, Resetter, Skip, check, expect_error,
                   expect_tree_logged, need, no_rstwatch_noise, same, show, until)

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


CURL = ["/usr/bin/curl", "-sS", "--max-time", "10"]


# ---- curl -----------------------------------------------------------------------------------------

def curl_both(ctx, url, inject=None):
    bare = ctx.run([*CURL, url], False, tag="curl")
    logdir = ctx.logdir("watched")
    watched = ctx.run([*CURL, url], True, logdir, env={"RSTWATCH_INJECT": inject} if inject else None, tag="curl")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    return bare, watched, logs


@case
def curl_refused(ctx):
    """curl to a closed port: exit 7; ECONNREFUSED (libcurl's non-blocking connect, getsockopt)."""
    need("/usr/bin/curl")
    closed = ClosedPort()
    try:
        bare, watched, logs = curl_both(ctx, f"http://127.0.0.1:{closed.port}/")
    finally:
        closed.close()
    same(bare, watched, "curl refused")
    check(watched.rc == 7, f"curl: {watched.describe()}")
    expect_error(logs.lines_of(watched.pid), "curl", "ECONNREFUSED", "connect", f"127.0.0.1:{closed.port}",
                 objs=("libc.so.6", "libcurl.so.4"), count=1)


@case
def curl_reset(ctx):
    """The server reads the request and resets: curl exit 56 'Connection reset by peer'; recv ECONNRESET."""
    need("/usr/bin/curl")
    srv = Resetter(need="http")
    try:
        bare, watched, logs = curl_both(ctx, f"http://127.0.0.1:{srv.port}/")
    finally:
        srv.close()
    same(bare, watched, "curl reset")
    check(watched.rc == 56 and "Connection reset by peer" in watched.stderr, f"curl: {watched.describe()}")
    err = expect_error(logs.lines_of(watched.pid), "curl", "ECONNRESET", "read", f"127.0.0.1:{srv.port}",
                       objs=("libc.so.6", "libcurl.so.4"), count=1)
    check(err.get("injected", False) is False, f"a real reset marked injected: {show(err)}")


def curl_injected(ctx, spec_of, rc, message, outcome, op, errno):
    need("/usr/bin/curl")
    srv = HttpOnce()
    try:
        spec = spec_of(srv.port)
        bare, watched, logs = curl_both(ctx, f"http://127.0.0.1:{srv.port}/", inject=spec)
    finally:
        srv.close()
    check(bare.rc == 0 and bare.stdout == "hello\n", f"curl without the preload: {bare.describe()}")
    check(watched.rc == rc and message in watched.stderr and watched.stdout == "",
          f"curl with RSTWATCH_INJECT={spec}: expected exit {rc} and {message!r}: {watched.describe()}")
    lines = logs.lines_of(watched.pid)
    inj = [e for e in lines if e["ev"] == "inject"]
    check(len(inj) == 1, f"one inject event: {[show(e) for e in inj]}")
    check(inj[0].get("outcome") == outcome and inj[0].get("op") == op and inj[0].get("errno") == errno
          and inj[0].get("spec") == spec and inj[0].get("rule") == 1, f"inject event: {show(inj[0])}")
    err = expect_error(lines, "curl", errno, op, f"127.0.0.1:{srv.port}", objs=("libc.so.6", "libcurl.so.4"), count=1)
    check(err.get("injected") is True and err["seq"] > inj[0]["seq"], f"injected error after the inject: {show(err)}")


@case
def curl_inject_reset(ctx):
    """RSTWATCH_INJECT=reset,on=read,port=P: curl sees a real reset: exit 56."""
    curl_injected(ctx, lambda p: f"reset,on=read,port={p}", 56, "Connection reset by peer", "reset", "read",
                  "ECONNRESET")


@case
def curl_inject_refuse(ctx):
    """RSTWATCH_INJECT=refuse,port=P: curl's connect is refused by the kernel: exit 7."""
    curl_injected(ctx, lambda p: f"refuse,port={p}", 7, "Couldn't connect to server", "refuse", "connect",
                  "ECONNREFUSED")


# ---- a daemon: chdir("/"), setuid(nobody), fork -----------------------------------------------------

DAEMON = r"""
import os, socket, sys
port = int(sys.argv[1])
nobody = __import__("pwd").getpwnam("nobody")
os.chdir("/")
if os.getuid() == 0:
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            os._exit(1)
        except ConnectionRefusedError:
            os._exit(0)
    kids.append(pid)
for pid in kids:
    _, st = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(st))
"""


def daemon_case(ctx, log_setting):
    """log_setting None: the default ./rstwatch.NAME.PID.jsonl; else a relative RSTWATCH_LOG directory."""
    need(PY)
    script = ctx.path("daemon.py")
    with open(script, "w") as f:
        f.write(DAEMON)
    closed = ClosedPort()
    try:
        runs = []
        for preload in (False, True):
            cwd = ctx.mkdir(f"cwd-{'watched' if preload else 'bare'}", 0o1777)  # writable for nobody too
            env = {"RSTWATCH_LOG": log_setting} if log_setting else {}
            if log_setting:
                ctx.mkdir(os.path.join(os.path.basename(cwd), log_setting), 0o1777)
            p = ctx.run([PY, script, str(closed.port)], preload, None, env=env, cwd=cwd, tag="daemon")
            runs.append((p, cwd))
    finally:
        closed.close()
    (bare, _), (watched, cwd) = runs
    same(bare, watched, "daemon")
    check(watched.rc == 0 and watched.stdout == "child 0\nchild 0\n", f"daemon: {watched.describe()}")
    resolved = os.path.join(cwd, log_setting) if log_setting else cwd
    logs = Logs(resolved)
    strays = [f for f in os.listdir("/") if f.startswith("rstwatch.") or f == log_setting]
    check(not strays, f"logs written relative to the daemon's new cwd '/': {strays}")
    parent = logs.lines_of(watched.pid)
    kids = sorted({e["pid"] for evs in logs.files.values() for e in evs if e["ev"] == "start" and e.get("ppid") == watched.pid})
    said = [l for l in watched.stderr.splitlines() if l.startswith("rstwatch:")]
    check(parent[0].get("origin") == "exec", f"daemon start line: {show(parent[0])}")
    if len(kids) != 2:
        check(said, f"the daemon's 2 children (after chdir('/') and setuid(nobody)) left {len(kids)} logs in "
                    f"{resolved} (the directory resolved at start) and no rstwatch: line on stderr says why: "
                    f"silence; logs: {logs.listing()}; stderr: {watched.stderr!r}")
        check(len(said) <= 2 and all(resolved in l or "log" in l for l in said), f"rstwatch: lines: {said}")
        ctx.note(f"children's logs missing, said: {said}")
        return
    for k in kids:
        expect_error(logs.lines_of(k), f"daemon child {k}", "ECONNREFUSED", "connect", f"127.0.0.1:{closed.port}",
                     objs=("libc.so.6", PY_OBJ), count=1)
        start = next(e for e in logs.lines_of(k) if e["ev"] == "start")
        check(start.get("origin") == "fork", f"child start: {show(start)}")


@case
def daemon_default_log(ctx):
    """A daemon (python3) that chdir('/')s and setuid()s to nobody, then forks 2 children, default log
    location: the children log in the directory resolved at start, or one rstwatch: line says why not."""
    daemon_case(ctx, None)


@case
def daemon_relative_log(ctx):
    """The same with RSTWATCH_LOG=logs (a relative directory): resolved at start, not after chdir('/')."""
    daemon_case(ctx, "logs")


# ---- a socket reset before it is inherited ----------------------------------------------------------

INHERIT = r"""
import os, select, socket, subprocess, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"go")                                    # the peer answers with an RST
p = select.poll(); p.register(s, select.POLLIN)
ev = p.poll(5000)
print("poll", "ERR" if ev and ev[0][1] & select.POLLERR else ev, flush=True)
fd = s.fileno()
child = sys.argv[2:]
if child[0] == "python":
    argv = [sys.executable, "-c", "import os\ntry:\n os.read(%d, 10); print('read')\nexcept ConnectionResetError as e:\n print('reset', e.errno)" % fd]
else:
    argv = ["/usr/bin/socat", "-u", "FD:%d" % fd, "-"]
r = subprocess.run(argv, pass_fds=[fd], capture_output=True, text=True)
print("child", r.returncode, r.stdout.strip(), flush=True)
print("stderr", "Connection reset by peer" in r.stderr, flush=True)
"""


def inherited_case(ctx, child):
    need(PY, "/usr/bin/socat")
    script = ctx.path("inherit.py")
    with open(script, "w") as f:
        f.write(INHERIT)
    srv = [Resetter(need=b"go"), Resetter(need=b"go")]
    try:
        bare = ctx.run([PY, script, str(srv[0].port), child], False)
        logdir = ctx.logdir("watched")
        watched = ctx.run([PY, script, str(srv[1].port), child], True, logdir)
    finally:
        for s in srv:
            s.close()
    same(bare, watched, f"inherited reset socket, {child} child")
    # socat 1.7.4 takes ECONNRESET on a read as the end of the stream: exit 0, nothing on stderr
    want = "child 0 reset 104\nstderr False\n" if child == "python" else "child 0 \nstderr False\n"
    check(watched.rc == 0 and watched.stdout == "poll ERR\n" + want, f"parent: {watched.describe()}")
    logs = Logs(logdir)
    kids = [e for e in logs.all() if e["ev"] == "start" and e.get("ppid") == watched.pid]
    check(len(kids) == 1 and kids[0].get("origin") == "exec", f"the child's own log: {logs.listing()}")
    lines = logs.lines_of(kids[0]["pid"])
    port = srv[1].port
    # After the RST the kernel no longer answers getpeername (ENOTCONN): the child can only know the
    # peer if it is carried in; the error must be there, with the fd the child read.
    errs = [e for e in lines if e["ev"] == "error"]
    check(errs, f"the {child} child read the inherited, already reset socket: ECONNRESET expected in its log; "
                f"its events: {[show(e) for e in lines]}")
    err = errs[0]
    check(err.get("errno") == "ECONNRESET" and err.get("op") == "read" and err.get("family") == "inet"
          and err.get("peer", f"127.0.0.1:{port}") == f"127.0.0.1:{port}" and isinstance(err.get("bt"), list),
          f"the child's error: {show(err)}")
    if err.get("peer") is None:
        ctx.note(f"the {child} child's error names no peer (getpeername fails ENOTCONN after an RST)")


@case
def inherited_reset_python(ctx):
    """python3 gets an RST on a connection, then runs a python3 child on the inherited fd: the child's
    os.read raises ConnectionResetError; logged in the child's log."""
    inherited_case(ctx, "python")


@case
def inherited_reset_socat(ctx):
    """The same with socat -u FD:N - as the child: socat's read fails ECONNRESET (socat exits 0)."""
    inherited_case(ctx, "socat")


# ---- rstwatch run on a static program -------------------------------------------------------------

@case
def static_not_observed(ctx):
    """rstwatch run on busybox (statically linked, the preload cannot load): it must say it was not observed
    and exit 125."""
    busybox = "/bin/busybox"
    need(busybox)
    f = subprocess.run(["file", "-L", busybox], capture_output=True, text=True) if os.path.exists("/usr/bin/file") else None
    with open(busybox, "rb") as b:
        head = b.read(1 << 16)
    check(b"ld-linux" not in head or (f and "statically linked" in f.stdout), f"{busybox} is not static")
    rsw = os.path.join(ctx.build, "bin", "rstwatch")
    check(os.access(rsw, os.X_OK), f"{rsw} not built")
    out = ctx.path("rsw-out")
    p = ctx.run([rsw, "run", "-o", out, "--", busybox, "true"], False, tag="rstwatch-run")
    text = p.stdout + p.stderr
    # README: a program the preload never sees makes `rstwatch run` say so and exit 125 (not the program's 0)
    check(p.rc == 125, f"rstwatch run busybox true: exit status {p.rc}, expected 125 (not observed): {p.describe()}")
    want = re.compile(r"rstwatch: busybox \(pid \d+\) was not observed: no log from it \(statically linked, or it "
                      r"cleared LD_PRELOAD\?\)")
    check(any(want.fullmatch(l) for l in text.splitlines()),
          f"rstwatch run on a static program: no line says 'busybox (pid N) was not observed: ...'; it printed:\n{text}")
    ctx.note("rstwatch run said: " + " | ".join(text.splitlines()[:3]))


# ---- the checker itself ---------------------------------------------------------------------------

@case
def helper_frame_objects(ctx):
    """frame_objects() reads both backtrace formats: {"ip","obj","off","sym"} and {"ip","m","off"} with
    "module" lines; and expect_error() rejects a frame object that is not a file."""
    from progs import frame_objects, obj_is
    old = {"v": 1, "ev": "error", "pid": 5, "ts": 10,
           "bt": [{"ip": "0x10", "obj": "/lib/x86_64-linux-gnu/libc.so.6", "off": "0x1"}, {"ip": "0x20"}]}
    check(frame_objects([old], old) == ["/lib/x86_64-linux-gnu/libc.so.6", None], "old format")
    mods = [{"v": 1, "ev": "module", "pid": 5, "ts": 1, "id": 1, "path": "/usr/lib/x86_64-linux-gnu/libssl.so.3", "base": "0x0"},
            {"v": 1, "ev": "module", "pid": 6, "ts": 1, "id": 2, "path": "/other/process", "base": "0x0"},
            {"v": 1, "ev": "module", "pid": 5, "ts": 2, "id": 2, "path": "/lib/x86_64-linux-gnu/libc.so.6", "base": "0x0"}]
    new = {"v": 1, "ev": "error", "pid": 5, "ts": 10, "bt": [{"ip": "0x1", "m": 2, "off": "0x1"},
                                                             {"ip": "0x2", "m": 1, "off": "0x2"}, {"ip": "0x3"}]}
    check(frame_objects(mods + [new], new) == ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                                                None], f"new format: {frame_objects(mods + [new], new)}")
    check(obj_is("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "libpython3") and obj_is("/usr/bin/python3.11", "python3.11")
          and obj_is("/usr/bin/python3", PY_OBJ) and obj_is("/usr/bin/python3.11", PY_OBJ)
          and not obj_is("/usr/bin/redis-server 127.0.0.1:6379", "redis-server") and obj_is("/x/libc.so.6", "libc.so.6")
          and not obj_is("/x/libcurl.so.4", "libc.so.6"), "obj_is")
    bad = dict(old, errno="ECONNRESET", op="read", peer="127.0.0.1:1",
               bt=[{"ip": "0x1", "obj": "/usr/bin/redis-server 127.0.0.1:6379", "off": "0x1"}])
    try:
        expect_error([bad], "self-test", "ECONNRESET", "read", "127.0.0.1:1", objs=())
    except Fail:
        return
    raise Fail("expect_error accepted a frame object that is no file")
