"""cases_runtimes.py: language runtimes from Debian (python3, node, java) meeting resets and refusals."""

import os
import signal
import socket
import threading
import time

from progs import (PY, ClosedPort, Fail, Logs, Resetter, Skip, check, expect_error, expect_tree_logged, need,
                   no_rstwatch_noise, same, show)

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
    script = ctx.path("sub.py")
    with open(script, "w") as f:
        f.write(PY_SUBPROCESS)
    srv = [GoReset(), GoReset()]
    try:
        bare = ctx.run([PY, script, str(srv[0].port)], False)
        logdir = ctx.logdir("watched")
        watched = ctx.run([PY, script, str(srv[1].port)], True, logdir)
    finally:
        for s in srv:
            s.close()
    same(bare, watched, "python3 subprocess + reset")
    check(watched.rc == 0 and watched.stdout == "child 0\nreset 104\n", f"python3: {watched.describe()}")
    no_rstwatch_noise(watched)
    logs = Logs(logdir)
    py = logs.lines_of(watched.pid)
    children = [e for e in logs.all() if e["ev"] == "start" and e.get("ppid") == watched.pid]
    check(len(children) == 1 and children[0].get("origin") == "exec" and children[0].get("exe") == "/usr/bin/true",
          f"one exec'd child (true) with its own log, its ppid python's: {[show(c) for c in children]}\n  {logs.listing()}")
    check(len(logs.of_pid(children[0]["pid"])) == 1, f"true's log: {logs.listing()}")
    peer = f"127.0.0.1:{srv[1].port}"
    err = expect_error(py, "python3", "ECONNRESET", "read", peer, objs=("libc.so.6", "python3.11"), count=1)
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
    script = ctx.path("aio.py")
    with open(script, "w") as f:
        f.write(PY_ASYNCIO)
    srv = [GoReset(), GoReset()]
    try:
        bare = ctx.run([PY, script, str(srv[0].port)], False)
        logdir = ctx.logdir("watched")
        watched = ctx.run([PY, script, str(srv[1].port)], True, logdir)
    finally:
        for s in srv:
            s.close()
    same(bare, watched, "python3 asyncio reset")
    check(watched.rc == 0 and watched.stdout == "reset 104\n", f"python3: {watched.describe()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    expect_error(logs.lines_of(watched.pid), "python3 asyncio", "ECONNRESET", "read", f"127.0.0.1:{srv[1].port}",
                 objs=("libc.so.6", "python3.11"), count=1)


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
    srv = [Resetter(need="http"), Resetter(need="http")]
    try:
        bare = ctx.run(["/usr/bin/node", "-e", NODE_HTTP, str(srv[0].port)], False)
        logdir = ctx.logdir("watched")
        watched = ctx.run(["/usr/bin/node", "-e", NODE_HTTP, str(srv[1].port)], True, logdir)
    finally:
        for s in srv:
            s.close()
    same(bare, watched, "node http reset")
    check(watched.rc == 0 and watched.stdout == "error ECONNRESET\nclosed\n", f"node: {watched.describe()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    lines = logs.lines_of(watched.pid)
    peer = f"127.0.0.1:{srv[1].port}"
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
    srv = [GoReset(), GoReset()]
    env = {"JAVA_TOOL_OPTIONS": None, "_JAVA_OPTIONS": None}
    try:
        bare = ctx.run(["/usr/bin/java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", d, "RswProbe", "socket",
                        str(srv[0].port)], False, env=env)
        logdir = ctx.logdir("watched")
        watched = ctx.run(["/usr/bin/java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", d, "RswProbe", "socket",
                           str(srv[1].port)], True, logdir, env=env)
    finally:
        for s in srv:
            s.close()
    same(bare, watched, "java socket reset")
    check(watched.rc == 0 and watched.stdout == "reset Connection reset\n", f"java: {watched.describe()}")
    logs = Logs(logdir)
    java_threads_logged(logs, watched)
    port = srv[1].port  # the JVM's sockets are IPv6 (dual stack): the peer is IPv4-mapped
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
