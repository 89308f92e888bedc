"""cases_runtimes.py: language runtimes from Debian (python3, node, java) meeting resets and refusals."""

import os
import signal
import socket
import threading
import time

from progs import (PY, PY_OBJ, ClosedPort, Fail, Logs, Resetter, Skip, check, expect_error, expect_tree_logged,
                   free_port, need, no_rstwatch_noise, rst_close, same, show, wait_port)

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def both(ctx, argv, timeout=15, env=None, cwd=None):
    """argv without, then with the preload (a fresh log dir); (bare, watched, logdir)."""
    bare = ctx.run(argv, False, timeout=timeout, env=env, cwd=cwd)
    logdir = ctx.logdir("watched")
    watched = ctx.run(argv, True, logdir, timeout=timeout, env=env, cwd=cwd)
    return bare, watched, logdir


class GoReset:
    """A loopback server (this driver) that accepts one connection per client, waits for the client's
    b'go', then resets it (SO_LINGER 0): the reset comes exactly when the client asks."""

    def __init__(self):
        self.r = Resetter(need=b"go")
        self.port = self.r.port

    def close(self):
        self.r.close()


def against_resetters(ctx, argv_for_port, env=None, extra=(), peer=GoReset):
    """Runs argv_for_port(port) without, then with the preload (a fresh log dir), each against its own
    resetting peer (a new peer() each); extra: further closers (e.g. a ClosedPort) to close afterwards.
    Returns (bare, watched, logdir, the watched run's peer port)."""
    srv = [peer(), peer()]
    try:
        bare = ctx.run(argv_for_port(srv[0].port), False, env=env)
        logdir = ctx.logdir("watched")
        watched = ctx.run(argv_for_port(srv[1].port), True, logdir, env=env)
    finally:
        for s in (*srv, *extra):
            s.close()
    return bare, watched, logdir, srv[1].port


def python_script(ctx, name, source):
    path = ctx.path(name)
    with open(path, "w") as f:
        f.write(source)
    return path


# ---- python3 ---------------------------------------------------------------------------------------

PY_SUBPROCESS = r"""
import socket, subprocess, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
r = subprocess.run(["true"])          # vfork + exec in CPython 3.11 (_posixsubprocess)
print("child", r.returncode, flush=True)
s.sendall(b"go")                       # now the peer resets the connection
try:
    s.recv(100)
    print("no reset")
except ConnectionResetError as e:
    print("reset", e.errno)
"""


@case
def python_subprocess_reset(ctx):
    """python3 runs subprocess.run(['true']) (vfork+exec) holding a connection, then the peer resets
    it: the parent's recv ECONNRESET is logged in the parent's log; true logs to its own file."""
    script = python_script(ctx, "sub.py", PY_SUBPROCESS)
    bare, watched, logdir, port = against_resetters(ctx, lambda p: [PY, script, str(p)])
    same(bare, watched, "python3 subprocess + reset")
    check(watched.rc == 0 and watched.stdout == "child 0\nreset 104\n", f"python3: {watched.describe()}")
    no_rstwatch_noise(watched)
    logs = Logs(logdir)
    py = logs.lines_of(watched.pid)
    children = [e for e in logs.all() if e["ev"] == "start" and e.get("ppid") == watched.pid]
    check(len(children) == 1 and children[0].get("origin") == "exec" and children[0].get("exe") == "/usr/bin/true",
          f"one exec'd child (true) with its own log, its ppid python's: {[show(c) for c in children]}\n  {logs.listing()}")
    check(len(logs.of_pid(children[0]["pid"])) == 1, f"true's log: {logs.listing()}")
    peer = f"127.0.0.1:{port}"
    err = expect_error(py, "python3", "ECONNRESET", "read", peer, objs=("libc.so.6", PY_OBJ), count=1)
    # The vfork child runs in the parent's memory until it execs: what it does there (closing every fd
    # with close_range) must not reach the parent's table or log.
    conn = [e for e in py if e["ev"] == "connect" and e.get("peer") == peer]
    check(len(conn) == 1, f"one connect event to {peer}: {[show(e) for e in conn]}")
    check(err.get("conn") == conn[0].get("conn") and err.get("bytes_out") == 2,
          f"the reset is on the connection python opened (conn {conn[0].get('conn')}, 2 bytes out), seen conn "
          f"{err.get('conn')} bytes_out {err.get('bytes_out')}: {show(err)}")
    early = [e for e in py if e["ev"] in ("close", "adopt") and e.get("peer") == peer and e["seq"] < err["seq"]]
    check(not early, f"python's log shows the vfork child's doings as its own before the reset: "
                     f"{[show(e) for e in early]}")


PY_ASYNCIO = r"""
import asyncio, sys
async def main():
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[1]))
    w.write(b"go")
    await w.drain()
    try:
        await r.read(100)
        print("no reset")
    except ConnectionResetError as e:
        print("reset", e.errno)
    w.close()
asyncio.run(main())
"""


@case
def python_asyncio_reset(ctx):
    """python3 asyncio streams: the peer resets; StreamReader.read raises ConnectionResetError."""
    script = python_script(ctx, "aio.py", PY_ASYNCIO)
    bare, watched, logdir, port = against_resetters(ctx, lambda p: [PY, script, str(p)])
    same(bare, watched, "python3 asyncio reset")
    check(watched.rc == 0 and watched.stdout == "reset 104\n", f"python3: {watched.describe()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    expect_error(logs.lines_of(watched.pid), "python3 asyncio", "ECONNRESET", "read", f"127.0.0.1:{port}",
                 objs=("libc.so.6", PY_OBJ), count=1)


def subprocess_reset_checks(ctx, logs, watched, peer, exes):
    """What python_subprocess_reset checks, for any way of starting children: each child (exe in exes,
    one each) logs to its own file, started by exec with python as ppid; python's recv ECONNRESET is
    on the connection it opened (same conn as its connect event, 2 bytes out), with no close or adopt
    of that connection before it. Returns {exe: child pid}."""
    py = logs.lines_of(watched.pid)
    children = [e for e in logs.all() if e["ev"] == "start" and e.get("ppid") == watched.pid]
    check(sorted(c.get("exe") for c in children) == sorted(exes) and all(c.get("origin") == "exec" for c in children),
          f"exec'd children {sorted(exes)}, each with its own log and python's pid as ppid: "
          f"{[show(c) for c in children]}\n  {logs.listing()}")
    for c in children:
        check(len(logs.of_pid(c["pid"])) == 1, f"child {c['pid']} ({c.get('exe')}): not one log: {logs.listing()}")
    err = expect_error(py, "python3", "ECONNRESET", "read", peer, objs=("libc.so.6", PY_OBJ), count=1)
    conn = [e for e in py if e["ev"] == "connect" and e.get("peer") == peer]
    check(len(conn) == 1, f"one connect event to {peer}: {[show(e) for e in conn]}")
    check(err.get("conn") == conn[0].get("conn") and err.get("fd") == conn[0].get("fd") and err.get("bytes_out") == 2,
          f"the reset is on the connection python opened (conn {conn[0].get('conn')} fd {conn[0].get('fd')}, 2 bytes "
          f"out), seen conn {err.get('conn')} fd {err.get('fd')} bytes_out {err.get('bytes_out')}: {show(err)}")
    early = [e for e in py if e["ev"] in ("close", "adopt") and e.get("conn") == err.get("conn") and e["seq"] < err["seq"]]
    early += [e for e in py if e["ev"] in ("close", "adopt") and e.get("peer") == peer and e["seq"] < err["seq"]
              and e not in early]
    check(not early, f"python's log shows its children's doings on the connection as its own before the reset: "
                     f"{[show(e) for e in early]}")
    return {c.get("exe"): c["pid"] for c in children}


PY_ASYNCIO_SUBPROCESS = r"""
import asyncio, sys
async def main():
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[1]))
    p = await asyncio.create_subprocess_exec("true")   # subprocess.Popen under a child watcher thread
    print("child", await p.wait(), flush=True)
    w.write(b"go")                                       # now the peer resets the connection
    await w.drain()
    try:
        await r.read(100)
        print("no reset")
    except ConnectionResetError as e:
        print("reset", e.errno)
    w.close()
asyncio.run(main())
"""


@case
def python_asyncio_subprocess_reset(ctx):
    """python3 asyncio: open_connection, then asyncio.create_subprocess_exec('true') while holding it, then
    the peer resets: the parent's ECONNRESET is on its own connection; true logs to its own file."""
    script = python_script(ctx, "aiosub.py", PY_ASYNCIO_SUBPROCESS)
    bare, watched, logdir, port = against_resetters(ctx, lambda p: [PY, script, str(p)])
    same(bare, watched, "python3 asyncio subprocess + reset")
    check(watched.rc == 0 and watched.stdout == "child 0\nreset 104\n", f"python3: {watched.describe()}")
    no_rstwatch_noise(watched)
    subprocess_reset_checks(ctx, Logs(logdir), watched, f"127.0.0.1:{port}", ["/usr/bin/true"])


PY_MP_SPAWN = r"""
import multiprocessing, socket, sys

def child(port):                       # in a fresh interpreter (spawn: fork + exec of python3)
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        sys.exit(3)
    except ConnectionRefusedError:
        sys.exit(0)

if __name__ == "__main__":
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    p = multiprocessing.get_context("spawn").Process(target=child, args=(int(sys.argv[2]),))
    p.start()
    p.join(20)
    print("child", p.exitcode, flush=True)
    s.sendall(b"go")                   # now the peer resets the connection
    try:
        s.recv(100)
        print("no reset")
    except ConnectionResetError as e:
        print("reset", e.errno)
"""


@case
def python_multiprocessing_spawn_reset(ctx):
    """python3 multiprocessing spawn context: a Process (a new python3, plus the resource tracker) started
    while holding a connection the peer later resets. The parent's ECONNRESET is on its own connection;
    the child's refused connect is in the child's own log, not the parent's."""
    script = python_script(ctx, "mpspawn.py", PY_MP_SPAWN)
    closed = ClosedPort()
    bare, watched, logdir, port = against_resetters(ctx, lambda p: [PY, script, str(p), str(closed.port)],
                                                    extra=(closed,))
    same(bare, watched, "python3 multiprocessing spawn + reset")
    check(watched.rc == 0 and watched.stdout == "child 0\nreset 104\n", f"python3: {watched.describe()}")
    no_rstwatch_noise(watched)
    logs = Logs(logdir)
    # spawn starts two interpreters: the resource tracker (-c '...resource_tracker import main...') and the
    # Process itself (-c '...spawn_main(...)' --multiprocessing-fork); both are exec'd /usr/bin/python3.11
    starts = [e for e in logs.all() if e["ev"] == "start" and e.get("ppid") == watched.pid]
    py_exe = starts[0].get("exe") if starts else "?"
    check(py_exe in ("/usr/bin/python3", "/usr/bin/python3.11"), f"the children's exe: {[show(s) for s in starts]}")
    subprocess_reset_checks(ctx, logs, watched, f"127.0.0.1:{port}", [py_exe, py_exe])
    kids = [s for s in starts if "--multiprocessing-fork" in s.get("argv", [])]
    check(len(kids) == 1, f"one spawned Process (argv with --multiprocessing-fork): {[show(s) for s in starts]}")
    refused = f"127.0.0.1:{closed.port}"
    expect_error(logs.lines_of(kids[0]["pid"]), "the spawned Process", "ECONNREFUSED", "connect", refused,
                 objs=("libc.so.6", PY_OBJ), count=1)
    stray = [e for e in logs.all() if e["ev"] == "error" and e.get("peer") == refused and e.get("pid") != kids[0]["pid"]]
    check(not stray, f"the child's refused connect logged by another process: {[show(e) for e in stray]}")


# ---- python3: tcp.unacked on both sides -----------------------------------------------------------

UNACKED_N = 100000

PY_UNACKED = r"""
import socket, sys
mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if mode == "server":
    ls = socket.socket()
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    s, _ = ls.accept()
else:
    s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"x" * n)                    # the peer reads all of it, lets its kernel ACK it, then resets
try:
    got = s.recv(100)
    print("recv", len(got))
except ConnectionResetError as e:
    print("reset", e.errno)
"""


def unacked_run(ctx, script, mode, preload):
    """One run of PY_UNACKED as `mode` against this driver (not preloaded): the driver reads all
    UNACKED_N bytes, waits 0.3 s (its kernel's delayed ACK is at most 0.2 s), then resets. Returns
    (proc, logdir, the driver's address as python sees its peer)."""
    logdir = ctx.logdir(f"{mode}-watched") if preload else None
    if mode == "server":
        port = free_port()
        p = ctx.start([PY, script, mode, str(port), str(UNACKED_N)], preload, logdir, tag=f"py-{mode}")
        wait_port(port, proc=p.p)
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    else:
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(10)
        p = ctx.start([PY, script, mode, str(ls.getsockname()[1]), str(UNACKED_N)], preload, logdir, tag=f"py-{mode}")
        try:
            s, _ = ls.accept()
        finally:
            ls.close()
        s.settimeout(10)
    try:
        me = "%s:%d" % s.getsockname()
        got = 0
        while got < UNACKED_N:
            chunk = s.recv(65536)
            check(chunk, f"python3 {mode} closed after {got} of {UNACKED_N} bytes")
            got += len(chunk)
        check(got == UNACKED_N, f"python3 {mode} sent {got} bytes, expected {UNACKED_N}")
        time.sleep(0.3)
    finally:
        rst_close(s)
    p.wait(10)
    return p, logdir, me


@case
def python_server_unacked(ctx):
    """tcp.unacked is 0 when the peer acknowledged every byte before resetting, on an accepted connection
    (python3 server: sendall N bytes, recv gets ECONNRESET) and on a connected one (python3 client, the
    same). The kernel's bytes_acked counts the SYN on the connecting side only: N+1 there, N when accepted."""
    script = ctx.path("unacked.py")
    with open(script, "w") as f:
        f.write(PY_UNACKED)
    for mode, active in (("server", False), ("client", True)):
        bare, _, _ = unacked_run(ctx, script, mode, False)
        watched, logdir, me = unacked_run(ctx, script, mode, True)
        same(bare, watched, f"python3 {mode} reset after {UNACKED_N} bytes")
        check(watched.rc == 0 and watched.stdout == "reset 104\n", f"python3 {mode}: {watched.describe()}")
        no_rstwatch_noise(watched)
        logs = Logs(logdir)
        expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
        lines = logs.lines_of(watched.pid)
        err = expect_error(lines, f"python3 {mode}", "ECONNRESET", "read", me, objs=("libc.so.6", PY_OBJ), call="recv",
                           count=1)
        opened = [e for e in lines if e["ev"] == ("connect" if active else "accept") and e.get("peer") == me]
        check(len(opened) == 1 and opened[0].get("conn") == err.get("conn"),
              f"python3 {mode}: the error is on the connection it {'connected' if active else 'accepted'}: "
              f"{[show(e) for e in opened]}\n  error: {show(err)}")
        tcp = err.get("tcp") or {}
        check(err.get("bytes_out") == UNACKED_N and err.get("bytes_in") == 0 and err.get("injected", False) is False,
              f"python3 {mode}: bytes_out {UNACKED_N}, bytes_in 0, not injected: {show(err)}")
        check(tcp.get("unacked") == 0, f"python3 {mode} ({'connecting' if active else 'accepting'} side): every byte "
                                       f"was acknowledged before the reset, so tcp.unacked must be 0, seen "
                                       f"{tcp.get('unacked')}: {show(err)}")
        check(tcp.get("state") == "CLOSE" and tcp.get("bytes_acked") == UNACKED_N + (1 if active else 0),
              f"python3 {mode}: tcp {tcp}: expected state CLOSE, bytes_acked {UNACKED_N + (1 if active else 0)}")


# ---- python3 closing every fd it finds ------------------------------------------------------------

PY_CLOSE_ALL = r"""
import os, socket, sys
a, b = socket.socketpair()             # fds of the program's own, watched once used
a.send(b"x")
b.recv(1)
for name in sorted(os.listdir("/proc/self/fd"), key=int):
    fd = int(name)
    if fd < 3:
        continue
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        continue                       # the fd os.listdir read the directory with, closed already
    try:
        os.close(fd)
    except OSError as e:
        print("failed", fd, e.errno, target, flush=True)
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    print("connected")
except ConnectionRefusedError as e:
    print("refused", e.errno)
"""


@case
def python_closes_every_fd(ctx):
    """python3 lists /proc/self/fd and os.close()s every fd >= 3 in it, then connects to a refused port.
    The library's log fd is really open, so it is listed there (README: the library keeps out of the
    program's fds by parking its log fd high, not by hiding it), but close() of it fails EBADF as if it
    were not open: that is the only close that fails, the program exits 0, and the refused connect
    still lands in its log (the log fd survived). Without the preload no close fails."""
    script = ctx.path("closeall.py")
    with open(script, "w") as f:
        f.write(PY_CLOSE_ALL)
    closed = ClosedPort()
    try:
        bare = ctx.run([PY, script, str(closed.port)], False)
        logdir = ctx.logdir("watched")
        # every line (the pair's closes too) and their seq numbers without gaps: conn mode
        watched = ctx.run([PY, script, str(closed.port)], True, logdir, env={"RSTWATCH_EVENTS": "conn"})
    finally:
        closed.close()
    check(bare.rc == 0 and bare.stdout == "refused 111\n", f"python3 without the preload: {bare.describe()}")
    check(watched.rc == 0 and watched.stdout.endswith("\nrefused 111\n"), f"python3 with the preload: {watched.describe()}")
    no_rstwatch_noise(watched)
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    log_file = logs.of_pid(watched.pid)[0]
    failed = [l.split(" ", 3) for l in watched.stdout.splitlines() if l.startswith("failed ")]
    check(len(failed) == 1 and failed[0][2] == "9" and os.path.realpath(failed[0][3]) == os.path.realpath(log_file),
          f"exactly one close failed, with EBADF (9), on the library's log fd ({log_file}); python printed:\n"
          f"{watched.stdout}")
    lines = logs.lines_of(watched.pid)
    seqs = [e["seq"] for e in lines]
    check(seqs == list(range(len(lines))), f"lines lost from python's log (seq gaps): {seqs}")
    log_fd = int(failed[0][1])
    check(not [e for e in lines if e.get("fd") == log_fd], f"the log fd {log_fd} appears as a program fd in the log: "
          f"{[show(e) for e in lines if e.get('fd') == log_fd]}")
    pair = [e for e in lines if e["ev"] == "close" and e.get("family") == "unix"]
    check(len(pair) == 2 and all(e.get("ret") == 0 and e.get("call") == "close" for e in pair),
          f"the socketpair's two fds closed by the loop: two close events, ret 0: {[show(e) for e in pair]}")
    err = expect_error(lines, "python3", "ECONNREFUSED", "connect", f"127.0.0.1:{closed.port}",
                       objs=("libc.so.6", PY_OBJ), count=1)
    check(err["seq"] > max(e["seq"] for e in pair), f"the refused connect after the closes: {show(err)}")


# ---- node -----------------------------------------------------------------------------------------

NODE_HTTP = r"""
const http = require('http');
const req = http.get({host: '127.0.0.1', port: +process.argv[1], path: '/', agent: false}, res => {
  console.log('response', res.statusCode);
});
req.on('error', e => { console.log('error', e.code); });
req.on('close', () => { console.log('closed'); });
"""


@case
def node_http_reset(ctx):
    """node's http client: the server reads the request and resets; 'error ECONNRESET'. libuv reads
    with read(2), and closes the socket with a raw syscall(SYS_close): the close must be logged."""
    need("/usr/bin/node")
    bare, watched, logdir, port = against_resetters(ctx, lambda p: ["/usr/bin/node", "-e", NODE_HTTP, str(p)],
                                                    peer=lambda: Resetter(need="http"))
    same(bare, watched, "node http reset")
    check(watched.rc == 0 and watched.stdout == "error ECONNRESET\nclosed\n", f"node: {watched.describe()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    lines = logs.lines_of(watched.pid)
    peer = f"127.0.0.1:{port}"
    err = expect_error(lines, "node", "ECONNRESET", "read", peer, objs=("libc.so.6", "node"), count=1)
    closes = [e for e in lines if e["ev"] == "close" and e.get("conn") == err.get("conn")]
    check(len(closes) == 1 and closes[0].get("peer") == peer,
          f"node closed conn {err.get('conn')} (raw syscall(SYS_close) in libuv): expected one close event, seen "
          f"{[show(c) for c in closes]}; the log's events: {[e['ev'] + '/' + str(e.get('call')) for e in lines]}")


# ---- java -----------------------------------------------------------------------------------------

JAVA_SRC = r"""
import java.io.*;
import java.net.*;
import java.net.http.*;

public class RswProbe {
    public static void main(String[] a) throws Exception {
        if (a[0].equals("socket")) {
            try (Socket s = new Socket("127.0.0.1", Integer.parseInt(a[1]))) {
                s.getOutputStream().write("go".getBytes());
                s.getOutputStream().flush();
                try {
                    int n = s.getInputStream().read(new byte[100]);
                    System.out.println("read " + n);
                } catch (SocketException e) {
                    System.out.println("reset " + e.getMessage());
                }
            }
        } else {
            HttpClient c = HttpClient.newHttpClient();
            try {
                c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a[1] + "/")).build(),
                       HttpResponse.BodyHandlers.ofString());
                System.out.println("answered");
            } catch (ConnectException e) {
                System.out.println("refused " + e.getClass().getName());
            }
        }
    }
}
"""


def java_class(ctx):
    need("/usr/bin/java", "/usr/bin/javac")
    d = ctx.mkdir("java")
    with open(os.path.join(d, "RswProbe.java"), "w") as f:
        f.write(JAVA_SRC)
    c = ctx.run(["/usr/bin/javac", "-d", d, os.path.join(d, "RswProbe.java")], False, timeout=60, tag="javac")
    check(c.rc == 0, f"javac: {c.describe()}")
    return d


def java_threads_logged(logs, proc):
    """The JVM is one process (many threads): one log file, started by exec."""
    expect_tree_logged(logs, {proc.pid: os.getpid()}, proc.pid)
    check(len(logs.files) == 1, f"one log for the JVM, seen: {logs.listing()}")


@case
def java_socket_reset(ctx):
    """java.net.Socket read after the peer resets: SocketException 'Connection reset'."""
    d = java_class(ctx)
    env = {"JAVA_TOOL_OPTIONS": None, "_JAVA_OPTIONS": None}
    bare, watched, logdir, port = against_resetters(
        ctx, lambda p: ["/usr/bin/java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", d, "RswProbe", "socket",
                        str(p)], env=env)
    same(bare, watched, "java socket reset")
    check(watched.rc == 0 and watched.stdout == "reset Connection reset\n", f"java: {watched.describe()}")
    logs = Logs(logdir)
    java_threads_logged(logs, watched)
    # the JVM's sockets are IPv6 (dual stack): the peer is IPv4-mapped
    expect_error(logs.lines_of(watched.pid), "java", "ECONNRESET", "read",
                 {f"127.0.0.1:{port}", f"[::ffff:127.0.0.1]:{port}"}, objs=("libc.so.6", "libnio.so"), count=1)


@case
def java_httpclient_refused(ctx):
    """java.net.http.HttpClient to a closed port: ConnectException; ECONNREFUSED from the NIO connect."""
    d = java_class(ctx)
    closed = ClosedPort()
    env = {"JAVA_TOOL_OPTIONS": None, "_JAVA_OPTIONS": None}
    try:
        argv = ["/usr/bin/java", "-XX:TieredStopAtLevel=1", "-cp", d, "RswProbe", "http", str(closed.port)]
        bare = ctx.run(argv, False, env=env)
        logdir = ctx.logdir("watched")
        watched = ctx.run(argv, True, logdir, env=env)
    finally:
        closed.close()
    same(bare, watched, "java HttpClient refused")
    check(watched.rc == 0 and watched.stdout == "refused java.net.ConnectException\n", f"java: {watched.describe()}")
    logs = Logs(logdir)
    java_threads_logged(logs, watched)
    port = closed.port  # HttpClient retries a refused connect once (jdk.httpclient.disableRetryConnect)
    expect_error(logs.lines_of(watched.pid), "java", "ECONNREFUSED", "connect",
                 {f"127.0.0.1:{port}", f"[::ffff:127.0.0.1]:{port}"}, objs=("libc.so.6", "libnio.so"), count=2)
