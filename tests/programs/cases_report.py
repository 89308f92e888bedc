"""cases_report.py: what `rstwatch report` says about real programs' logs: one socket held by several
processes (fork-per-connection servers, an exec'd inetd-style child), IPv4-mapped peers (java)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from cases_runtimes import java_class
from cases_servers import PG_BIG, PGBIN, PGUSER, Postgres
from progs import check, descendants, free_port, need, rst_close, show, until, wait_port

CASES = {}
CONN = {"RSTWATCH_EVENTS": "conn"}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def report(ctx, *args):
    """rstwatch report ARGS: its stdout (the report must exit 0)."""
    r = subprocess.run([os.path.join(ctx.build, "bin", "rstwatch"), "report", *args], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, f"rstwatch report {' '.join(args)}: status {r.returncode}\n{r.stderr[-2000:]}")
    return r.stdout


def conns_of(ctx, logdir, port, *args):
    """The report's connections (json) with an end on TCP port `port`."""
    doc = json.loads(report(ctx, "--format", "json", *args, logdir))
    ends = (f":{port}",)
    return [c for c in doc["connections"] if c["family"] in ("inet", "inet6")
            and (c["local"].endswith(ends) or c["peer"].endswith(ends))], doc


def texts(conn):
    return [e.get("text", "") for e in conn["events"]]


FORKING_SERVER = r"""
import os, socketserver, sys
class Serve(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(100)
        print("child", os.getpid(), flush=True)
        try:
            for _ in range(64):
                self.request.sendall(b"x" * 65536)
        except OSError as e:
            print("child", e.__class__.__name__, flush=True)
srv = socketserver.ForkingTCPServer(("127.0.0.1", int(sys.argv[1])), Serve)
srv.handle_request()
os.wait()
"""

READ_SOME_CLOSE = r"""
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"query")
got = b""
while len(got) < 1000:
    got += c.recv(1000 - len(got))
print(c.getsockname()[1], flush=True)
c.close()      # 64 KiB and more unread: the kernel answers with an RST
"""


@case
def report_forking_server(ctx):
    """python3 socketserver.ForkingTCPServer (fork per connection: the parent accepts, forks, closes its
    copy; the child serves), and a client that reads 1000 B of the reply and closes: one TCP connection in
    the report, held by parent and child, with the write-after-peer-close verdict on the child's send —
    not a clean parent paired with the client plus an 'adopted' stray."""
    logdir = ctx.logdir("watched")
    srv_py, cli_py = ctx.path("fork_server.py"), ctx.path("client.py")
    with open(srv_py, "w") as f:
        f.write(FORKING_SERVER)
    with open(cli_py, "w") as f:
        f.write(READ_SOME_CLOSE)
    port = free_port()
    srv = ctx.start([sys.executable, srv_py, str(port)], True, logdir, env=CONN, tag="server")
    wait_port(port, proc=srv.p)
    cli = ctx.run([sys.executable, cli_py, str(port)], True, logdir, env=CONN, tag="client")
    srv.wait(15)
    check(cli.rc == 0 and srv.rc == 0, f"client: {cli.describe()}\nserver: {srv.describe()}")
    child = int(srv.stdout.split()[1])
    check(srv.stdout.split()[2:] == ["child", "ConnectionResetError"], f"server: {srv.describe()}")
    cport = int(cli.stdout)
    conns, doc = conns_of(ctx, logdir, cport)
    check(len(conns) == 1, f"one connection for client port {cport}: {[show(c) for c in conns]}")
    c = conns[0]
    check(c["pid"] == srv.pid and c["pids"] == [srv.pid, child] and c["role"] == "server"
          and c["peer_side"] and c["peer_side"]["pid"] == cli.pid,
          f"the server's view (pids {srv.pid} then {child}), paired with the client {cli.pid}: {show(c)}")
    check(c["verdict"] == "write-after-peer-close" and c["errors"] == {"ECONNRESET": 1},
          f"verdict write-after-peer-close, one ECONNRESET: {c['verdict']} {c['errors']} {c['explanation']}")
    # the client read 1000 B of what the child had sent when its send met the RST
    check(c["bytes_out"] >= 65536 and c["bytes_after_peer_close"] == c["bytes_out"] - 1000,
          f"bytes written after the client's close, never read: {c['bytes_after_peer_close']} of {c['bytes_out']}")
    copy = [t for t in texts(c) if "this copy only" in t]
    check(len(copy) == 1 and f"stays open in pid {child}" in copy[0],
          f"the parent's close is of its copy, the child {child} holds on: {texts(c)}")
    check(any(t.startswith(f"pid {child}: send → -1 ECONNRESET") for t in texts(c)),
          f"the child's send in the same timeline: {texts(c)}")
    text = report(ctx, logdir)
    check("adopted" not in text, f"no adopted stray connection in the text report:\n{text[:3000]}")
    check(f"(pid {srv.pid} → {child}, fd " in text, f"the header names both holders:\n{text[:3000]}")


@case
def report_socat_exec_nofork(ctx):
    """socat TCP-LISTEN,fork EXEC:cat,nofork (inetd-style: the forked child execs cat with the socket as
    its stdin and stdout): the client sends a line, reads the echo and resets; cat's read fails. One
    connection, held by socat and by the child that became cat (linked by the socket's cookie across the
    exec), verdict reset-by-peer."""
    need("/usr/bin/socat")
    logdir = ctx.logdir("watched")
    port = free_port()
    so = ctx.start(["/usr/bin/socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "EXEC:cat,nofork"],
                   True, logdir, env=CONN, tag="socat")
    try:
        wait_port(port, proc=so.p)
        before = set(descendants(so.pid))
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"line\n")
        check(s.recv(100) == b"line\n", "socat/cat echo")
        kids = set(descendants(so.pid)) - before - {so.pid}
        cport = s.getsockname()[1]
        rst_close(s)
        until(lambda: not (set(descendants(so.pid)) & kids), 5, "cat to exit")
    finally:
        os.kill(so.pid, signal.SIGTERM)
        so.wait(10)
    check(len(kids) == 1, f"socat forked one child: {kids}")
    child = kids.pop()
    conns, _ = conns_of(ctx, logdir, cport)
    check(len(conns) == 1, f"one connection for client port {cport}: {[show(c) for c in conns]}")
    c = conns[0]
    check(c["pid"] == so.pid and c["pids"] == [so.pid, child],
          f"accepted by socat {so.pid}, held by its child {child} (cat after exec): {show(c)}")
    check(c["verdict"] == "reset-by-peer" and c["errors"] == {"ECONNRESET": 1},
          f"reset-by-peer, cat's ECONNRESET: {c['verdict']} {c['errors']} {texts(c)}")
    check(any(t.startswith(f"pid {child}: read → -1 ECONNRESET") for t in texts(c)),
          f"cat's read in the connection's timeline: {texts(c)}")


@case
def report_postgres_backend(ctx):
    """PostgreSQL forks a backend per connection. psql (watched too) runs a large query; the backend's
    send is reset after 64 KiB (RSTWATCH_INJECT in the postmaster, inherited). One connection in the
    report: psql paired with the postmaster's accept and the backend's 64 KiB+ of sends, verdict
    injected — never a clean postmaster view plus an 'adopted' backend."""
    pg = Postgres(ctx)
    port = free_port()
    spec = f"reset,on=write,port={port},after=64KiB"
    pm, logdir = pg.start(True, "watched", port=port, env={"RSTWATCH_INJECT": spec, **CONN})
    try:
        q = ctx.start([f"{PGBIN}/psql", "-X", "-w", "-h", "127.0.0.1", "-p", str(port), "-U", PGUSER, "-d",
                       "postgres", "-At", "-c", PG_BIG], True, logdir, env=CONN, tag="psql")
        q.wait(30)
    finally:
        pg.stop()
    check(q.rc == 2 and "server closed the connection unexpectedly" in q.stderr, f"psql: {q.describe()[-1500:]}")
    doc = json.loads(report(ctx, "--format", "json", logdir))
    mine = [c for c in doc["connections"] if q.pid in (c["pid"], (c["peer_side"] or {}).get("pid"))
            and c["family"] in ("inet", "inet6")]
    check(len(mine) == 1, f"one TCP connection of psql {q.pid}: {[show(c) for c in mine]}")
    c = mine[0]
    check(c["role"] == "server" and c["pid"] == pm.pid and len(c["pids"]) == 2 and c["pids"][0] == pm.pid,
          f"the server's view: the postmaster {pm.pid}, then its backend: {show(c)}")
    backend = c["pids"][1]
    check(c["verdict"] == "injected" and c["rule"] == spec and c["bytes_out"] >= 64 * 1024,
          f"injected by {spec} after 64 KiB out: {c['verdict']} {c['rule']} {c['bytes_out']} {c['explanation']}")
    check(any(f"stays open in pid {backend}" in t for t in texts(c)),
          f"the postmaster's close is of its copy: {texts(c)}")
    check(c["peer_side"]["pid"] == q.pid, f"paired with psql: {c['peer_side']}")


RESET_ON_GO = r"""
import socket, struct, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
c.recv(2)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
"""


@case
def report_java_mapped_peer(ctx):
    """A java.net.Socket (dual stack: the kernel names its ends [::ffff:127.0.0.1]:P) against a
    python3 server on 127.0.0.1 that resets it, both watched: the report pairs the two ends, prints the
    IPv4 addresses, and --peer 127.0.0.1:PORT finds the connection."""
    d = java_class(ctx)
    logdir = ctx.logdir("watched")
    srv_py = ctx.path("reset_on_go.py")
    with open(srv_py, "w") as f:
        f.write(RESET_ON_GO)
    srv = ctx.start([sys.executable, srv_py], True, logdir, env=CONN, tag="server")
    port = int(until(lambda: srv.stdout.strip() or None, 10, "the server's port"))
    env = {"JAVA_TOOL_OPTIONS": None, "_JAVA_OPTIONS": None, **CONN}
    j = ctx.run(["/usr/bin/java", "-XX:TieredStopAtLevel=1", "-cp", d, "RswProbe", "socket", str(port)], True, logdir,
                env=env, timeout=30, tag="java")
    srv.wait(10)
    check(j.rc == 0 and j.stdout == "reset Connection reset\n", f"java: {j.describe()}")
    raw = [l for f in os.listdir(logdir) for l in open(os.path.join(logdir, f)) if '"ev":"connect"' in l]
    check(any("[::ffff:127.0.0.1]" in l for l in raw), f"the JVM's log names the mapped address: {raw}")
    conns, _ = conns_of(ctx, logdir, port)
    check(len(conns) == 1, f"one connection to port {port}: {[show(c) for c in conns]}")
    c = conns[0]
    check(c["peer_side"] is not None and {c["pid"], c["peer_side"]["pid"]} == {j.pid, srv.pid},
          f"java {j.pid} and the server {srv.pid} paired: {show(c)}")
    check(c["verdict"] == "reset-by-peer" and c["pid"] == j.pid and c["peer"] == f"127.0.0.1:{port}"
          and c["local"].startswith("127.0.0.1:"), f"java's view, in IPv4 words: {show(c)}")
    for spec in (f"127.0.0.1:{port}", f"[::ffff:127.0.0.1]:{port}"):
        found, _ = conns_of(ctx, logdir, port, "--peer", spec)
        check(len(found) == 1 and found[0]["pid"] == j.pid, f"--peer {spec}: {[show(x) for x in found]}")
