#!/usr/bin/env python3
"""inject_check.py: the fault-injection integration cases: runs ti_prog (and curl) under librstwatch.so
with RSTWATCH_INJECT against real peers on loopback (this driver's own threads: another process than
the program), then checks what the program saw, what the peer saw, and the log's inject/error events."""

import glob
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402
from rswtest import Fail, Scratch, Skip, check, fields, load_log, only, select, show, watched_env  # noqa: E402

CASES, case = rswtest.registry()


# ---- peers ---------------------------------------------------------------------------------------

def peer_outcome(sock):
    """Reads until EOF or an error; returns (outcome, bytes): 'EOF', 'ECONNRESET', ..."""
    got = 0
    sock.settimeout(10)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return "EOF", got
            got += len(data)
    except ConnectionResetError:
        return "ECONNRESET", got
    except socket.timeout:
        return "TIMEOUT", got
    except OSError as e:
        return f"errno {e.errno}", got


class Server:
    """A listening socket served by a thread: behave(conn) runs for every accepted connection and its
    return value is appended to results."""

    def __init__(self, family=socket.AF_INET, behave=None, path=None):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX:
            self.sock.bind(path)
            self.target = path
        else:
            self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.target = f"[::1]:{self.port}" if family == socket.AF_INET6 else f"127.0.0.1:{self.port}"
        self.sock.listen(64)
        self.behave = behave or (lambda c: "accepted")
        self.results = []
        self.done = threading.Event()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.results.append(self.behave(conn))
            except Exception as e:  # recorded, checked by the case
                self.results.append(f"peer error {e!r}")
            finally:
                conn.close()
            self.done.set()

    def wait(self, n=1, timeout=10):
        end = time.monotonic() + timeout
        while len(self.results) < n and time.monotonic() < end:
            time.sleep(0.01)
        return self.results

    def close(self):
        self.sock.close()


def send_then_read(n):
    def behave(conn):
        conn.sendall(b"s" * n)
        return peer_outcome(conn)
    return behave


# ---- running the program -------------------------------------------------------------------------

class Run:
    def __init__(self, proc, out, err, logdir):
        self.rc, self.stdout, self.stderr = proc, out, err
        self.lines = [dict(kv.split("=", 1) for kv in line.split()[1:]) | {"what": line.split()[0]}
                      for line in out.splitlines() if line.strip()]
        self.log = []
        for path in sorted(glob.glob(os.path.join(logdir, "*.jsonl"))):
            self.log += load_log(path)
        self.log.sort(key=lambda e: (e["pid"], e["seq"]))

    def of(self, what):
        return [line for line in self.lines if line["what"] == what]

    def __str__(self):
        return f"rc={self.rc}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


class Ctx(Scratch):
    def __init__(self, lib, prog):
        super().__init__("rsw-inject-")
        self.lib, self.prog = lib, prog
        self.nrun = 0

    def run(self, argv, inject, timeout=30):
        self.nrun += 1
        logdir = os.path.join(self.tmp, f"log{self.nrun}")
        os.mkdir(logdir)
        # every lifecycle line is checked: conn mode (an injected fault is never suppressed in any)
        env = watched_env(self.lib, RSTWATCH_LOG=logdir, RSTWATCH_INJECT=inject, RSTWATCH_EVENTS="conn")
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        return Run(p.returncode, p.stdout, p.stderr, logdir)

    def prog_run(self, *args, inject, timeout=30):
        return self.run([self.prog, *map(str, args)], inject, timeout)


def injected_error(run, outcome, rule, spec, call, op, errno, error_call=None):
    """One inject event with these fields, followed by the injected error it caused; returns both."""
    inj = only(run.log, "inject")
    fields(inj, rule=rule, spec=spec, outcome=outcome, call=call, op=op, errno=errno)
    check(isinstance(inj.get("conn"), int) and isinstance(inj.get("fd"), int), f"inject fd/conn: {show(inj)}")
    errs = select(run.log, "error", conn=inj["conn"], errno=errno)
    check(errs, f"no {errno} error event on conn {inj['conn']}:\n" + "\n".join(map(show, run.log)))
    err = errs[0]
    fields(err, injected=True, fd=inj["fd"], call=error_call or call)
    check(run.log.index(inj) < run.log.index(err), "the inject event comes after its error event")
    check(all(e.get("injected") is True for e in select(run.log, "error")),
          "an error after an injected fault not marked injected")
    return inj, err


def expect_line(run, what, **want):
    lines = run.of(what)
    check(lines, f"no '{what}' line from the program\n{run}")
    for i, line in enumerate(lines):
        if all(line.get(k) == str(v) for k, v in want.items()):
            return line
    raise Fail(f"no '{what}' line with {want}\n{run}")


# ---- cases ---------------------------------------------------------------------------------------

@case
def reset_after_bytes(ctx):
    """reset,on=read,after=2KiB: the read once 2 KiB are in fails ECONNRESET; the peer gets a real RST."""
    srv = Server(behave=send_then_read(4000))
    spec = f"reset,on=read,port={srv.port},after=2KiB"
    run = ctx.prog_run("read", srv.target, 1000, inject=spec)
    check(run.rc == 0, f"program failed\n{run}")
    reads = run.of("read")
    ok = [r for r in reads if int(r["ret"]) > 0]
    last = reads[-1]
    check(last["ret"] == "-1" and last["errno"] == "ECONNRESET", f"last read not ECONNRESET\n{run}")
    check(ok and int(ok[-1]["total"]) >= 2048 and (len(ok) < 2 or int(ok[-2]["total"]) < 2048),
          f"the reset did not come with the first read after 2048 bytes\n{run}")
    expect_line(run, "again", ret=0, errno=0)          # as after a real RST: then EOF
    expect_line(run, "write", ret=-1, errno="EPIPE")   # and writes EPIPE
    check(srv.wait() and srv.results[0][0] == "ECONNRESET", f"peer did not get an RST: {srv.results}")
    inj, err = injected_error(run, "reset", 1, spec, "read", "read", "ECONNRESET")
    fields(err, op="read", ret=-1, bytes_in=int(ok[-1]["total"]))
    fields(err["tcp"], state="CLOSE")
    fields(only(run.log, "error", errno="EPIPE"), call="send", injected=True)


@case
def reset_on_write(ctx):
    """reset,on=write,nth=2: the 2nd write gets ECONNRESET, the next EPIPE; the peer gets the RST."""
    srv = Server(behave=peer_outcome)
    spec = "reset,on=write,nth=2"
    run = ctx.prog_run("write", srv.target, 3, "nosignal", inject=spec)
    check(run.rc == 0, f"program failed\n{run}")
    expect_line(run, "write", i=1, ret=100, errno=0)
    expect_line(run, "write", i=2, ret=-1, errno="ECONNRESET")
    expect_line(run, "write", i=3, ret=-1, errno="EPIPE")
    check(srv.wait() and srv.results[0][0] == "ECONNRESET", f"peer did not get an RST: {srv.results}")
    injected_error(run, "reset", 1, spec, "send", "write", "ECONNRESET")
    check(not select(run.log, "signal"), "SIGPIPE despite MSG_NOSIGNAL")


def refuse_nth(ctx, nonblock):
    srv = Server()
    key = "nth=2" if nonblock else "conn=3"
    which = 2 if nonblock else 3
    spec = f"refuse,peer=127.0.0.1:{srv.port},{key}"
    args = ["connect", srv.target, 4] + (["nonblock"] if nonblock else [])
    run = ctx.prog_run(*args, inject=spec)
    check(run.rc == 0, f"program failed\n{run}")
    for i in range(1, 5):
        line = expect_line(run, "connect", i=i)
        if i != which:
            check(line["ret"] == "0" or line.get("so_error") == "0", f"connect {i} not connected\n{run}")
        elif nonblock:
            fields(line, errno="EINPROGRESS", so_error="ECONNREFUSED", early="1")
            rev = int(line["revents"], 16)
            check(rev & select_mask("POLLERR") and rev & select_mask("POLLHUP"),
                  f"refused non-blocking connect: revents {line['revents']} lacks POLLERR|POLLHUP")
        else:
            fields(line, ret="-1", errno="ECONNREFUSED")
    check(len(srv.wait(3)) == 3, f"the peer accepted {len(srv.results)} connections, not 3")
    time.sleep(0.1)
    check(len(srv.results) == 3, f"the peer accepted {len(srv.results)} connections, not 3")
    inj, err = injected_error(run, "refuse", 1, spec, "connect", "connect", "ECONNREFUSED",
                              "getsockopt" if nonblock else "connect")
    conn = only(run.log, "connect", conn=inj["conn"])
    fields(conn, ret=-1, errno="EINPROGRESS" if nonblock else "ECONNREFUSED", peer=f"127.0.0.1:{srv.port}")
    check(run.log.index(inj) < run.log.index(conn), "inject event after the connect it changed")
    fields(err, op="connect")
    check(len(select(run.log, "connect")) == 4, "not 4 connect events")


def select_mask(name):
    import select as sel
    return getattr(sel, name)


@case
def refuse_nth_blocking(ctx):
    """refuse,conn=3: the third connection to the port is refused, blocking connects."""
    refuse_nth(ctx, False)


@case
def refuse_nth_nonblocking(ctx):
    """refuse,nth=2: EINPROGRESS, then POLLERR|POLLHUP and SO_ERROR = ECONNREFUSED."""
    refuse_nth(ctx, True)


@case
def refuse_v6(ctx):
    """refuse on an IPv6 connect: a real refusal from [::1]."""
    try:
        srv = Server(socket.AF_INET6)
    except OSError as e:
        raise Skip(f"no IPv6 loopback: {e}")
    spec = f"refuse,peer=[::1]:{srv.port}"
    run = ctx.prog_run("connect", srv.target, 1, inject=spec)
    expect_line(run, "connect", i=1, ret=-1, errno="ECONNREFUSED")
    injected_error(run, "refuse", 1, spec, "connect", "connect", "ECONNREFUSED")
    fields(only(run.log, "connect"), family="inet6", peer=f"[::1]:{srv.port}")
    check(not srv.results, "the peer accepted a refused connection")


@case
def refuse_unix(ctx):
    """refuse on a UNIX path: the kernel's ECONNREFUSED, blocking and non-blocking."""
    path = os.path.join(ctx.tmp, "srv.sock")
    srv = Server(socket.AF_UNIX, path=path)
    spec = f"refuse,peer={path}"
    for mode in ([], ["nonblock"]):
        run = ctx.prog_run("connect", path, 1, *mode, inject=spec)
        expect_line(run, "connect", i=1, ret=-1, errno="ECONNREFUSED")
        injected_error(run, "refuse", 1, spec, "connect", "connect", "ECONNREFUSED")
        fields(only(run.log, "connect"), family="unix", peer=path)
    time.sleep(0.1)
    check(not srv.results, "the peer accepted a refused connection")


def epipe(ctx, nosignal):
    srv = Server(behave=peer_outcome)
    spec = "epipe,on=write,nth=2"
    run = ctx.prog_run("write", srv.target, 3, *(["nosignal"] if nosignal else []), inject=spec)
    expect_line(run, "write", i=1, ret=100, errno=0)
    inj = only(run.log, "inject")
    fields(inj, rule=1, spec=spec, outcome="epipe", op="write", errno="EPIPE",
           call="send" if nosignal else "write")
    if nosignal:
        check(run.rc == 0, f"program with MSG_NOSIGNAL did not survive\n{run}")
        expect_line(run, "write", i=2, ret=-1, errno="EPIPE")
        expect_line(run, "write", i=3, ret=-1, errno="EPIPE")
        check(not select(run.log, "signal"), "signal event despite MSG_NOSIGNAL")
        injected_error(run, "epipe", 1, spec, "send", "write", "EPIPE")
    else:
        check(run.rc == -signal.SIGPIPE, f"program not killed by SIGPIPE\n{run}")
        check(not run.of("write")[1:], f"a write returned after the injected SIGPIPE\n{run}")
        sig = run.log[-1]
        fields(sig, ev="signal", sig="SIGPIPE", disposition="default", action="kill", call="write",
               fd=inj["fd"], conn=inj["conn"])
        check(run.log.index(inj) < run.log.index(sig), "inject event after the signal")


@case
def epipe_kill(ctx):
    """epipe on the 2nd write: SIGPIPE kills a program with the default disposition."""
    epipe(ctx, False)


@case
def epipe_nosignal(ctx):
    """epipe with MSG_NOSIGNAL: the write fails EPIPE and the program lives."""
    epipe(ctx, True)


@case
def timeout_connect_blocking(ctx):
    """timeout,delay=300ms: a blocking connect fails ETIMEDOUT after the delay; nothing reaches the peer."""
    srv = Server()
    spec = f"timeout,port={srv.port},delay=300ms"
    run = ctx.prog_run("connect", srv.target, 1, inject=spec)
    line = expect_line(run, "connect", i=1, ret=-1, errno="ETIMEDOUT")
    check(300 <= int(line["ms"]) < 2300, f"timeout after {line['ms']} ms, wanted 300 ms")
    injected_error(run, "timeout", 1, spec, "connect", "connect", "ETIMEDOUT")
    time.sleep(0.1)
    check(not srv.results, "the peer accepted a timed-out connection")


@case
def timeout_connect_nonblocking(ctx):
    """timeout,delay=1500ms, non-blocking: in progress (not writable), then SO_ERROR = ETIMEDOUT."""
    srv = Server()
    spec = f"timeout,port={srv.port},delay=1500ms"
    run = ctx.prog_run("connect", srv.target, 1, "nonblock", inject=spec)
    line = expect_line(run, "connect", i=1, errno="EINPROGRESS", early=0, so_error="ETIMEDOUT")
    check(1500 <= int(line["ms"]) < 3500, f"timeout after {line['ms']} ms, wanted 1500 ms")
    check(int(line["revents"], 16) & select_mask("POLLERR"), f"no POLLERR: {line}")
    injected_error(run, "timeout", 1, spec, "connect", "connect", "ETIMEDOUT", "getsockopt")
    check(not srv.results, "the peer accepted a timed-out connection")


@case
def timeout_read(ctx):
    """timeout,on=read,delay=250ms: the read fails ETIMEDOUT after the delay; later EOF and EPIPE."""
    srv = Server(behave=send_then_read(10))
    spec = "timeout,on=read,after=10,delay=250ms"
    run = ctx.prog_run("read", srv.target, 1000, inject=spec)
    check(run.rc == 0, f"program failed\n{run}")
    expect_line(run, "read", ret=10, total=10)
    line = expect_line(run, "read", ret=-1, errno="ETIMEDOUT")
    check(250 <= int(line["ms"]) < 2250, f"read timed out after {line['ms']} ms, wanted 250 ms")
    expect_line(run, "again", ret=0)
    expect_line(run, "write", ret=-1, errno="EPIPE")
    injected_error(run, "timeout", 1, spec, "read", "read", "ETIMEDOUT")


def splitmix_fires(seed, k, prob):
    """The preload's prob= draw, rewritten: the k-th matching call fires if this is true."""
    m = (1 << 64) - 1
    x = (seed + k * 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    x ^= x >> 31
    return (x >> 11) < int(prob * (1 << 53))


@case
def prob_seed(ctx):
    """prob=0.5,seed=S: the same seed gives the same schedule twice (and the documented one)."""
    srv = Server()
    patterns = {}
    for seed, attempt in ((7, 1), (7, 2), (8, 1)):
        spec = f"refuse,port={srv.port},prob=0.5,seed={seed}"
        run = ctx.prog_run("connect", srv.target, 24, inject=spec)
        check(run.rc == 0, f"program failed\n{run}")
        pat = "".join("R" if line["errno"] == "ECONNREFUSED" else "." for line in run.of("connect"))
        check(len(pat) == 24 and set(pat) <= {"R", "."}, f"odd results\n{run}")
        injects = select(run.log, "inject")
        check(len(injects) == pat.count("R") and all(e["spec"] == spec for e in injects),
              f"{len(injects)} inject events for {pat.count('R')} refusals")
        want = "".join("R" if splitmix_fires(seed, k, 0.5) else "." for k in range(1, 25))
        check(pat == want, f"seed {seed}: schedule {pat}, the documented draw gives {want}")
        patterns.setdefault(seed, []).append(pat)
    check(patterns[7][0] == patterns[7][1], f"seed 7 gave two schedules: {patterns[7]}")
    check(patterns[7][0] != patterns[8][0], "seeds 7 and 8 gave the same schedule")
    check(0 < patterns[7][0].count("R") < 24, f"prob=0.5 schedule {patterns[7][0]}")


@case
def count_limit(ctx):
    """refuse,count=2: the first two connects are refused, the rest go through."""
    srv = Server()
    run = ctx.prog_run("connect", srv.target, 4, inject=f"refuse,port={srv.port},count=2")
    got = [line["errno"] for line in run.of("connect")]
    check(got == ["ECONNREFUSED", "ECONNREFUSED", "0", "0"], f"count=2 gave {got}\n{run}")
    check(len(select(run.log, "inject")) == 2, "not 2 inject events")


@case
def reset_accept(ctx):
    """reset,on=accept: the server's accepted connection is reset at once; the client gets the RST."""
    env = watched_env(ctx.lib, RSTWATCH_LOG=os.path.join(ctx.tmp, "srvlog"), RSTWATCH_INJECT="reset,on=accept")
    os.mkdir(env["RSTWATCH_LOG"])
    p = subprocess.Popen([ctx.prog, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        first = p.stdout.readline()
        check(first.startswith("listen port="), f"server said {first!r}")
        c = socket.socket()
        try:  # the RST may come before connect() or send() return: then they take the error
            c.connect(("127.0.0.1", int(first.split("=")[1])))
            c.sendall(b"hello")
            outcome = peer_outcome(c)
        except ConnectionResetError:
            outcome = ("ECONNRESET", 0)
        c.close()
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    run = Run(p.returncode, first + out, err, env["RSTWATCH_LOG"])
    check(outcome[0] == "ECONNRESET", f"client saw {outcome}, not an RST")
    expect_line(run, "read", ret=-1, errno="ECONNRESET")
    expect_line(run, "again", ret=0)
    expect_line(run, "write", ret=-1, errno="EPIPE")
    inj, _ = injected_error(run, "reset", 1, "reset,on=accept", "accept", "accept", "ECONNRESET", "read")
    acc = only(run.log, "accept")
    check(acc["conn"] == inj["conn"] and run.log.index(acc) < run.log.index(inj), "inject not after its accept")


@case
def reset_unix(ctx):
    """reset on a UNIX connection (emulated): ECONNRESET once, then EOF and EPIPE; the peer sees EOF."""
    path = os.path.join(ctx.tmp, "u.sock")
    srv = Server(socket.AF_UNIX, behave=send_then_read(10), path=path)
    spec = f"reset,on=read,peer={path},after=10"
    run = ctx.prog_run("read", path, 1000, inject=spec)
    check(run.rc == 0, f"program failed\n{run}")
    expect_line(run, "read", ret=10)
    expect_line(run, "read", ret=-1, errno="ECONNRESET")
    expect_line(run, "again", ret=0)
    expect_line(run, "write", ret=-1, errno="EPIPE")
    check(srv.wait() and srv.results[0][0] == "EOF", f"UNIX peer saw {srv.results}")
    injected_error(run, "reset", 1, spec, "read", "read", "ECONNRESET")


@case
def unreachable(ctx):
    """unreachable: EHOSTUNREACH on connect, nothing reaches the peer."""
    srv = Server()
    spec = f"unreachable,port={srv.port}"
    run = ctx.prog_run("connect", srv.target, 1, inject=spec)
    expect_line(run, "connect", i=1, ret=-1, errno="EHOSTUNREACH")
    injected_error(run, "unreachable", 1, spec, "connect", "connect", "EHOSTUNREACH")
    time.sleep(0.1)
    check(not srv.results, "the peer accepted an unreachable connection")


@case
def bad_spec(ctx):
    """A bad spec: one rstwatch: line naming token and position; nothing injected, the program runs."""
    srv = Server()
    spec = f"refuse,port={srv.port},nth=0"
    run = ctx.prog_run("connect", srv.target, 1, inject=spec)
    pos = spec.index("nth=0") + 5
    want = (f"rstwatch: RSTWATCH_INJECT: bad number '0' for nth at position {pos} "
            "(expected 1 to 9223372036854775807); nothing is injected\n")
    check(run.stderr == want, f"stderr:\n{run.stderr!r}\nwanted:\n{want!r}")
    expect_line(run, "connect", i=1, ret=0)
    check(not select(run.log, "inject") and not select(run.log, "error"), "something was injected")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def http_server(root):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("hello\n")
    handler = lambda *a, **kw: Quiet(*a, directory=root, **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def curl(ctx, spec_of):
    if not shutil.which("curl"):
        raise Skip("curl not installed")
    srv = http_server(os.path.join(ctx.tmp, "www"))
    port = srv.server_address[1]
    url = f"http://127.0.0.1:{port}/index.html"
    clean = ctx.run(["curl", "-sS", "--max-time", "10", url], "")
    check(clean.rc == 0 and clean.stdout == "hello\n", f"curl without injection\n{clean}")
    spec = spec_of(port)
    return spec, ctx.run(["curl", "-sS", "--max-time", "10", url], spec)


@case
def curl_reset(ctx):
    """curl (unmodified) with a reset on read: "Connection reset by peer", exit 56."""
    spec, run = curl(ctx, lambda port: f"reset,on=read,port={port}")
    check(run.rc == 56 and "Connection reset by peer" in run.stderr, f"curl:\n{run}")
    inj, err = injected_error(run, "reset", 1, spec, "recv", "read", "ECONNRESET")
    fields(err, op="read", ret=-1)


@case
def curl_refuse(ctx):
    """curl (unmodified) with refuse: exit 7; the server never sees the connection."""
    spec, run = curl(ctx, lambda port: f"refuse,port={port}")
    check(run.rc == 7, f"curl:\n{run}")
    injected_error(run, "refuse", 1, spec, "connect", "connect", "ECONNREFUSED", "getsockopt")


if __name__ == "__main__":
    sys.exit(rswtest.main(__doc__, CASES, lambda a: Ctx(a.lib, os.path.abspath(a.prog)), ["--prog"]))
