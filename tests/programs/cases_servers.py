"""cases_servers.py: servers from Debian (nginx, PostgreSQL, redis, haproxy, memcached, socat) on loopback,
each once without and once with librstwatch.so."""

import os
import pwd
import signal
import socket
import subprocess
import time

from progs import (ClosedPort, nginx_conf, Fail, HttpOnce, Logs, Resetter, Skip, check, descendants, expect_error,
                   expect_tree_logged, free_port, need, no_rstwatch_noise, num, rst_close, same, show, until, wait_port)

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def curl(ctx, url, extra=(), preload=False, logdir=None, env=None):
    return ctx.run(["curl", "-sS", "--max-time", "10", *extra, url], preload, logdir, env=env, tag="curl")


# ---- nginx ----------------------------------------------------------------------------------------



def nginx_proxy(ctx, upstream_port, preload, tag, env=None):
    """nginx (master + 2 workers) proxying to 127.0.0.1:upstream_port; one curl through it. Returns
    (curl run, {pid: ppid} of nginx's processes, master pid, log dir); error.log is nginx-TAG/error.log."""
    d = ctx.mkdir(f"nginx-{tag}")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(d, port, f"location / {{ proxy_pass http://127.0.0.1:{upstream_port}; proxy_next_upstream off; }}"))
    logdir = ctx.logdir(tag)
    ng = ctx.start(["/usr/sbin/nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")], preload, logdir,
                   env=env)
    try:
        wait_port(port, proc=ng.p)
        tree = until(lambda: (lambda t: t if len(t) == 3 else None)(descendants(ng.pid)), 5, "nginx's 2 workers")
        c = curl(ctx, f"http://127.0.0.1:{port}/")
        tree.update(descendants(ng.pid))
    finally:
        os.kill(ng.pid, signal.SIGTERM)
        ng.wait(10)
    with open(os.path.join(d, "error.log")) as f:
        ctx.note(f"nginx error.log ({tag}): " + " | ".join(l.split("] ", 1)[-1][:160] for l in f if "upstream" in l))
    return c, tree, ng, logdir


def nginx_case(ctx, make_upstream, errno, op):
    need("/usr/sbin/nginx", "curl")
    up_bare, up_watched = make_upstream(), make_upstream()
    try:
        bare, _, _, _ = nginx_proxy(ctx, up_bare.port, False, "bare")
        watched, tree, ng, logdir = nginx_proxy(ctx, up_watched.port, True, "watched")
    finally:
        up_bare.close()
        up_watched.close()
    same(bare, watched, "curl through nginx")
    check(watched.rc == 0 and "502 Bad Gateway" in watched.stdout, f"curl through nginx: {watched.describe()}")
    no_rstwatch_noise(ng)
    logs = Logs(logdir)
    expect_tree_logged(logs, tree, ng.pid)
    workers = [p for p in tree if p != ng.pid]
    peer = f"127.0.0.1:{up_watched.port}"
    where = [p for p in workers if logs.of_pid(p) and
             any(e["ev"] == "error" and e.get("peer") == peer for e in logs.lines_of(p))]
    check(len(where) == 1, f"the {errno} from {peer} in exactly one worker's log, seen in {len(where)} "
                           f"(workers {workers}, master {ng.pid}); logs:\n  {logs.listing()}")
    expect_error(logs.lines_of(where[0]), f"nginx worker {where[0]}", errno, op, peer, count=1)
    check(not [e for e in logs.lines_of(ng.pid) if e["ev"] == "error"], "the master logged an error it never met")


@case
def nginx_upstream_reset(ctx):
    """The upstream reads the request and resets: the worker's recv fails ECONNRESET, 502 to the client."""
    nginx_case(ctx, lambda: Resetter(need="http"), "ECONNRESET", "read")


@case
def nginx_upstream_refused(ctx):
    """Nothing listens on the upstream port: the worker's connect is refused, 502 to the client."""
    nginx_case(ctx, ClosedPort, "ECONNREFUSED", "connect")


@case
def nginx_inject_refuse(ctx):
    """The upstream listens, but RSTWATCH_INJECT=refuse,port=UP (read once by the master, inherited by the
    forked workers): the worker's connect to it is refused by the kernel, nginx logs 'Connection refused'
    and answers 502; the upstream never sees a connection."""
    need("/usr/sbin/nginx", "curl")
    up_bare, up_watched = HttpOnce(), HttpOnce()
    try:
        bare, _, _, _ = nginx_proxy(ctx, up_bare.port, False, "bare")
        spec = f"refuse,port={up_watched.port}"
        watched, tree, ng, logdir = nginx_proxy(ctx, up_watched.port, True, "watched", env={"RSTWATCH_INJECT": spec})
    finally:
        up_bare.close()
        up_watched.close()
    check(bare.rc == 0 and bare.stdout == "hello\n" and len(up_bare.accepted) == 1,
          f"curl through nginx without the preload, to a listening upstream: {bare.describe()}\n"
          f"  upstream accepted {up_bare.accepted}")
    check(watched.rc == 0 and "502 Bad Gateway" in watched.stdout, f"curl through nginx with {spec}: {watched.describe()}")
    check(up_watched.accepted == [], f"the upstream saw connections from nginx despite {spec}: {up_watched.accepted}")
    no_rstwatch_noise(ng)
    with open(ctx.path("nginx-watched", "error.log")) as f:
        errlog = f.read()
    check("connect() failed (111: Connection refused) while connecting to upstream" in errlog,
          f"nginx's error.log does not say the upstream connect was refused:\n{errlog[-1500:]}")
    logs = Logs(logdir)
    expect_tree_logged(logs, tree, ng.pid)
    peer = f"127.0.0.1:{up_watched.port}"
    workers = [p for p in tree if p != ng.pid]
    where = [p for p in workers if logs.of_pid(p) and any(e["ev"] == "inject" for e in logs.lines_of(p))]
    check(len(where) == 1, f"the inject in exactly one worker's log, seen in {len(where)} (workers {workers}, master "
                           f"{ng.pid}); logs:\n  {logs.listing()}")
    lines = logs.lines_of(where[0])
    inj = [e for e in lines if e["ev"] == "inject"]
    check(len(inj) == 1 and inj[0].get("outcome") == "refuse" and inj[0].get("op") == "connect"
          and inj[0].get("errno") == "ECONNREFUSED" and inj[0].get("spec") == spec and inj[0].get("rule") == 1,
          f"nginx worker {where[0]}: one inject event, refuse/connect/ECONNREFUSED, rule 1 {spec}: "
          f"{[show(e) for e in inj]}")
    err = expect_error(lines, f"nginx worker {where[0]}", "ECONNREFUSED", "connect", peer, objs=("libc.so.6", "nginx"),
                       count=1)
    check(err.get("injected") is True and err["seq"] > inj[0]["seq"] and err.get("conn") == inj[0].get("conn"),
          f"the worker's refused connect is the injected one (injected true, after the inject, same conn): "
          f"{show(err)}\n  inject: {show(inj[0])}")
    others = [e for e in logs.all() if e["ev"] in ("inject", "error") and e.get("pid") != where[0]]
    check(not others, f"inject/error events outside the worker: {[show(e) for e in others]}")


# ---- PostgreSQL -----------------------------------------------------------------------------------

PGBIN = "/usr/lib/postgresql/15/bin"
PGUSER = "postgres"


def pg_owner():
    """(uid, gid) the server runs as: postgres refuses to run as root."""
    if os.getuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(PGUSER)
    except KeyError:
        raise Skip("no postgres user (postgresql not installed)")
    return pw.pw_uid, pw.pw_gid


def psql(ctx, port, *args, preload=False, logdir=None, timeout=15):
    return ctx.start([f"{PGBIN}/psql", "-X", "-w", "-h", "127.0.0.1", "-p", str(port), "-U", PGUSER, "-d", "postgres",
                      "-At", *args], preload, logdir, tag="psql")


class Postgres:
    """initdb once (without the preload: it is not under test), then a postmaster per start()."""

    def __init__(self, ctx):
        need(f"{PGBIN}/postgres", f"{PGBIN}/initdb", f"{PGBIN}/psql")
        self.ctx, self.owner = ctx, pg_owner()
        self.data = ctx.mkdir("pgdata", 0o700, self.owner)
        init = ctx.run([f"{PGBIN}/initdb", "-D", self.data, "-A", "trust", "-U", PGUSER, "--no-sync", "-E", "UTF8"],
                       False, user=PGUSER if self.owner else None, timeout=60, tag="initdb")
        check(init.rc == 0, f"initdb: {init.describe()}")

    def start(self, preload, tag, env=None, port=None):
        self.port = port or free_port()
        logdir = self.ctx.logdir(tag, owner=self.owner, mode=0o700)
        pm = self.ctx.start([f"{PGBIN}/postgres", "-D", self.data, "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                             "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "shared_buffers=16MB",
                             "-c", "max_connections=10", "-c", "autovacuum=off"],
                            preload, logdir, env=env, user=PGUSER if self.owner else None, tag=f"postgres-{tag}")
        wait_port(self.port, 20, proc=pm.p)
        # listening is not ready: until startup is over it answers FATAL "the database system is starting up".
        # postmaster.pid's 8th line is "ready" once it accepts connections (what pg_ctl waits for); reading it
        # makes no connection that would show up in the logs.
        until(lambda: self.ready(pm), 20, "postgres to accept connections (postmaster.pid: ready)")
        self.pm, self.logdir = pm, logdir
        return pm, logdir

    def ready(self, pm):
        check(pm.poll() is None, f"postgres exited during startup: {pm.describe()}")
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pm.pid) and lines[7].strip() == "ready"

    def stop(self):
        os.kill(self.pm.pid, signal.SIGINT)  # fast shutdown
        self.pm.wait(15)


@case
def postgres_query(ctx):
    """psql over TCP: the same answer with and without the preload; the postmaster, its helpers and the
    backend forked for the connection each log to their own file."""
    pg = Postgres(ctx)
    runs = []
    for preload in (False, True):
        pm, logdir = pg.start(preload, "watched" if preload else "bare")
        try:
            q = psql(ctx, pg.port, "-c", "select 6*7, current_user", "-c", "select pg_backend_pid()")
            q.wait(15)
            tree = descendants(pm.pid)
        finally:
            pg.stop()
        runs.append((q, pm, logdir, tree))
    (bare, _, _, _), (watched, pm, logdir, tree) = runs
    same(bare, watched, "psql select", normalize=lambda s: s.splitlines()[0] if s else s)
    check(watched.rc == 0 and watched.stdout.startswith("42|postgres\n"), f"psql: {watched.describe()}")
    backend = int(watched.stdout.splitlines()[1])
    no_rstwatch_noise(pm)
    logs = Logs(logdir)
    tree[backend] = pm.pid
    expect_tree_logged(logs, tree, pm.pid)
    check(not logs.errors(), f"errors logged on a clean run: {logs.listing()}")


@case
def postgres_client_killed(ctx):
    """psql stopped, then killed -9 in the middle of a large result (its receive queue full): its kernel
    resets the connection, and the backend's next send fails; logged in the backend's own log."""
    pg = Postgres(ctx)
    runs = []
    for preload in (False, True):
        pm, logdir = pg.start(preload, "watched" if preload else "bare")
        try:
            q = psql(ctx, pg.port, "-c", "select generate_series(1, 100000000), repeat('x', 200)", preload=preload,
                     logdir=logdir)

            def busy_backend():
                for pid in descendants(pm.pid):
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            title = f.read().decode(errors="replace")
                    except OSError:
                        continue
                    if "127.0.0.1(" in title and "SELECT" in title:
                        return pid, title
            backend, title = until(busy_backend, 10, "the backend running the SELECT")
            time.sleep(0.3)
            q.kill(signal.SIGSTOP)
            time.sleep(0.5)  # the backend fills psql's receive queue and blocks
            tree = descendants(pm.pid)
            q.kill(signal.SIGKILL)
            q.wait(5)
            until(lambda: backend not in descendants(pm.pid), 10, "the backend to exit")
        finally:
            pg.stop()
        runs.append((q, pm, logdir, tree, backend, title))
    bare, watched = runs[0][0], runs[1][0]
    check(bare.rc == watched.rc == -signal.SIGKILL, f"psql: {bare.rc} / {watched.rc}")
    _, pm, logdir, tree, backend, title = runs[1]
    client_port = num(r"127\.0\.0\.1\((\d+)\)", title, "backend title")
    for run in runs:
        msgs = [l.split("LOG:  ", 1)[-1] for l in run[1].stderr.splitlines() if "could not send" in l or "reset" in l]
        ctx.note(f"postgres ({'watched' if run is runs[1] else 'bare'}): {msgs[:2]}")
    logs = Logs(logdir)
    expect_tree_logged(logs, tree, pm.pid)
    expect_error(logs.lines_of(backend), f"backend {backend}", {"ECONNRESET", "EPIPE"}, "write",
                 f"127.0.0.1:{client_port}", objs=("libc.so.6", "postgres"))


PG_BIG = "select generate_series(1, 200000), repeat('x', 100)"  # about 21 MB of result rows
PG_RESET_AFTER = 64 * 1024


@case
def postgres_backend_inject_reset(ctx):
    """RSTWATCH_INJECT=reset,on=write,port=PGPORT,after=64KiB in the postmaster (inherited by the backend it
    forks; for accepted connections port= is the local port): once the backend has sent 64 KiB of a large
    result, its next send is reset: the kernel sends psql (not preloaded) a real RST, psql reports the lost
    connection and exits 2, and the backend's log has the inject and the injected ECONNRESET on send."""
    pg = Postgres(ctx)
    runs = []
    for preload in (False, True):
        port = free_port()
        spec = f"reset,on=write,port={port},after={PG_RESET_AFTER // 1024}KiB"
        pm, logdir = pg.start(preload, "watched" if preload else "bare", port=port,
                              env={"RSTWATCH_INJECT": spec} if preload else None)
        try:
            q = psql(ctx, pg.port, "-c", PG_BIG, "-c", "select 'after'")
            q.wait(30)
            tree = descendants(pm.pid)
        finally:
            pg.stop()
        runs.append((q, pm, logdir, tree, spec))
    bare, watched = runs[0][0], runs[1][0]
    check(bare.rc == 0 and bare.stdout.count("\n") == 200001 and bare.stdout.endswith("|" + "x" * 100 + "\nafter\n"),
          f"psql without the inject: {bare.describe()[:1500]}")
    _, pm, logdir, tree, spec = runs[1]
    check(watched.rc == 2 and "server closed the connection unexpectedly" in watched.stderr
          and "after" not in watched.stdout, f"psql, its backend reset by {spec}: expected exit 2 and 'server closed the "
                                              f"connection unexpectedly': {watched.describe()}")
    ctx.note(f"psql: {' | '.join(watched.stderr.strip().splitlines())}")
    msgs = [l.split("  ", 1)[-1] for l in pm.stderr.splitlines() if "could not send" in l or "connection to client" in l]
    ctx.note(f"postgres (watched): {msgs[:2]}")
    no_rstwatch_noise(pm)
    logs = Logs(logdir)
    injs = [e for e in logs.all() if e["ev"] == "inject"]
    check(len(injs) == 1, f"one inject event over all of postgres's logs: {[show(e) for e in injs]}\n  {logs.listing()}")
    inj = injs[0]
    backend = inj["pid"]
    lines = logs.lines_of(backend)
    start = next(e for e in lines if e["ev"] == "start" and e.get("pid") == backend)
    check(backend != pm.pid and start.get("origin") == "fork" and start.get("ppid") == pm.pid,
          f"the inject is in a backend forked by the postmaster {pm.pid} (it has exited by now): {show(start)}")
    tree[backend] = pm.pid
    expect_tree_logged(logs, tree, pm.pid)
    check(inj.get("outcome") == "reset" and inj.get("op") == "write" and inj.get("call") == "send"
          and inj.get("errno") == "ECONNRESET" and inj.get("spec") == spec and inj.get("rule") == 1,
          f"backend {backend}: inject event reset/write/send/ECONNRESET, rule 1 {spec}: {show(inj)}")
    # the postmaster accepts, then forks the backend, which inherits the connection (same conn id and
    # cookie). Default mode: the accept is held until the connection fails, in the backend, which then
    # writes it as made "by" the postmaster
    acc = [e for e in logs.all() if e["ev"] == "accept" and e.get("cookie") == inj.get("cookie")
           and pm.pid in (e["pid"], e.get("by"))]
    check(len(acc) == 1 and acc[0].get("local") == f"127.0.0.1:{port}" and acc[0].get("conn") == inj.get("conn"),
          f"the injected connection (cookie {inj.get('cookie')}, conn {inj.get('conn')}) is one the postmaster "
          f"accepted on 127.0.0.1:{port}: {[show(e) for e in acc]}")
    err = expect_error(lines, f"backend {backend}", "ECONNRESET", "write", acc[0].get("peer"),
                       objs=("libc.so.6", "postgres"), call="send", count=1)
    check(err.get("injected") is True and err["seq"] > inj["seq"] and err.get("conn") == inj.get("conn")
          and err.get("bytes_out", 0) >= PG_RESET_AFTER and err.get("tcp") == {"state": "CLOSE"},
          f"backend {backend}: the injected ECONNRESET after {PG_RESET_AFTER} bytes out, tcp only its state: {show(err)}")


@case
def postgres_refused(ctx):
    """psql to a closed port: 'Connection refused', exit 2; ECONNREFUSED from libpq's connect."""
    need(f"{PGBIN}/psql")
    closed = ClosedPort()
    try:
        logdir = ctx.logdir("watched")
        bare = psql(ctx, closed.port, "-c", "select 1")
        bare.wait(15)
        watched = psql(ctx, closed.port, "-c", "select 1", preload=True, logdir=logdir)
        watched.wait(15)
    finally:
        closed.close()
    same(bare, watched, "psql refused")
    check(bare.stderr == watched.stderr, f"psql stderr differs:\n{bare.stderr}\n{watched.stderr}")
    check(watched.rc == 2 and "Connection refused" in watched.stderr, f"psql: {watched.describe()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    expect_error(logs.lines_of(watched.pid), "psql", "ECONNREFUSED", "connect", f"127.0.0.1:{closed.port}",
                 objs=("libc.so.6", "libpq.so.5"))


# ---- redis ----------------------------------------------------------------------------------------

def redis_cmd(sock, *args):
    """Sends one RESP command on the driver's own connection."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)


def redis_line(sock):
    got = b""
    while not got.endswith(b"\r\n"):
        c = sock.recv(1)
        if not c:
            raise Fail("redis closed the driver's connection")
        got += c
    return got.decode()


def redis_server(ctx, preload, tag):
    need("/usr/bin/redis-server", "/usr/bin/redis-cli")
    port = free_port()
    d = ctx.mkdir(f"redis-{tag}")
    logdir = ctx.logdir(tag)
    srv = ctx.start(["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--daemonize", "no", "--dir", d, "--protected-mode", "no"],
                    preload, logdir, tag=f"redis-{tag}")
    wait_port(port, proc=srv.p)
    return srv, port, logdir


# A script that keeps redis busy for a while, then answers 20 MB: the client is stopped meanwhile.
BUSY_BIG = "for i=1,60000000 do end return string.rep('x', 20000000)"


@case
def redis_client_killed(ctx):
    """redis-cli stopped, then killed -9 while redis-server still has most of a 20 MB reply to send:
    redis-server's event loop handles the readable event first, so its read fails ECONNRESET (peer =
    redis-cli's address, part of the reply already out)."""
    runs = []
    for preload in (False, True):
        srv, port, logdir = redis_server(ctx, preload, "watched" if preload else "bare")
        try:
            ok = ctx.run(["/usr/bin/redis-cli", "-p", str(port), "PING"], preload, logdir, tag="redis-cli")
            cli = ctx.start(["/usr/bin/redis-cli", "-p", str(port), "EVAL", BUSY_BIG, "0"], preload, logdir,
                            tag="redis-cli")
            drv = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                def busy():  # a PING not answered at once: the script runs
                    redis_cmd(drv, "PING")
                    drv.settimeout(0.15)  # the script runs ~1 s; a late PONG under load is not that late
                    try:
                        redis_line(drv)
                        return False
                    except socket.timeout:
                        return True
                    finally:
                        drv.settimeout(10)
                until(busy, 10, "redis to run the script")
                cli.kill(signal.SIGSTOP)
                check(redis_line(drv) == "+PONG\r\n", "PING")
                redis_cmd(drv, "CLIENT", "LIST")
                n = int(redis_line(drv)[1:])
                listing = b""
                while len(listing) < n + 2:
                    listing += drv.recv(65536)
                cli_addr = num(r"addr=(127\.0\.0\.1:\d+) [^\n]*cmd=eval", listing.decode(), "CLIENT LIST")
                time.sleep(0.3)
                cli.kill(signal.SIGKILL)
                cli.wait(5)
                time.sleep(0.3)
                redis_cmd(drv, "PING")
                check(redis_line(drv) == "+PONG\r\n", "PING after the kill")
            finally:
                drv.close()
        finally:
            os.kill(srv.pid, signal.SIGTERM)
            srv.wait(10)
        runs.append((ok, cli, srv, logdir, cli_addr))
    same(runs[0][0], runs[1][0], "redis-cli PING")
    check(runs[1][0].stdout == "PONG\n", f"redis-cli PING: {runs[1][0].describe()}")
    check(runs[0][1].rc == runs[1][1].rc == -signal.SIGKILL, "redis-cli killed")
    _, _, srv, logdir, cli_addr = runs[1]
    no_rstwatch_noise(srv)
    logs = Logs(logdir)
    err = expect_error(logs.lines_of(srv.pid), "redis-server", "ECONNRESET", "read", cli_addr,
                       objs=("libc.so.6", "redis-server"), count=1)
    check(err.get("bytes_out", 0) > 0 and err.get("tcp", {}).get("unacked", 0) > 0,
          f"redis-server's reset met mid-reply: bytes_out and tcp.unacked > 0: {show(err)}")


@case
def redis_refused(ctx):
    """redis-cli to a closed port: 'Connection refused', exit 1; ECONNREFUSED on connect."""
    need("/usr/bin/redis-cli")
    closed = ClosedPort()
    try:
        logdir = ctx.logdir("watched")
        bare = ctx.run(["/usr/bin/redis-cli", "-p", str(closed.port), "PING"], False, tag="redis-cli")
        watched = ctx.run(["/usr/bin/redis-cli", "-p", str(closed.port), "PING"], True, logdir, tag="redis-cli")
    finally:
        closed.close()
    same(bare, watched, "redis-cli refused")
    check(bare.stderr == watched.stderr and "Connection refused" in watched.stdout + watched.stderr,
          f"redis-cli: {watched.describe()}\nwithout: {bare.describe()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, {watched.pid: os.getpid()}, watched.pid)
    expect_error(logs.lines_of(watched.pid), "redis-cli", "ECONNREFUSED", "connect", f"127.0.0.1:{closed.port}")


# ---- haproxy --------------------------------------------------------------------------------------

HAPROXY_CONF = """global
  maxconn 64
defaults
  mode tcp
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  {extra}
frontend f
  bind 127.0.0.1:{port}
  default_backend b
backend b
  server s1 127.0.0.1:{up}
"""


def haproxy_case(ctx, extra):
    need("/usr/sbin/haproxy", "curl")
    runs = []
    for preload in (False, True):
        tag = "watched" if preload else "bare"
        up = Resetter(need="http")
        port = free_port()
        conf = ctx.path(f"haproxy-{tag}.cfg")
        with open(conf, "w") as f:
            f.write(HAPROXY_CONF.format(port=port, up=up.port, extra=extra))
        logdir = ctx.logdir(tag)
        hp = ctx.start(["/usr/sbin/haproxy", "-db", "-f", conf], preload, logdir, tag=f"haproxy-{tag}")
        try:
            wait_port(port, proc=hp.p)
            c = curl(ctx, f"http://127.0.0.1:{port}/")
            tree = descendants(hp.pid)
        finally:
            up.close()
            os.kill(hp.pid, signal.SIGTERM)
            hp.wait(10)
        runs.append((c, hp, logdir, tree, up))
    (bare, _, _, _, _), (watched, hp, logdir, tree, up) = runs
    same(bare, watched, "curl through haproxy")
    check(watched.rc in (52, 56), f"curl through haproxy to a resetting server: {watched.describe()}")
    ctx.note(f"curl through haproxy: exit {watched.rc}: {watched.stderr.strip()}")
    logs = Logs(logdir)
    expect_tree_logged(logs, tree, hp.pid)
    expect_error(logs.lines_of(hp.pid), "haproxy", "ECONNRESET", "read", f"127.0.0.1:{up.port}",
                 objs=("libc.so.6", "haproxy"))


@case
def haproxy_tcp_reset(ctx):
    """haproxy in tcp mode; the server reads the request and resets: haproxy's recv fails ECONNRESET."""
    haproxy_case(ctx, "")


@case
def haproxy_splice_reset(ctx):
    """The same with kernel splicing forced both ways: the ECONNRESET meets splice(), not recv()."""
    haproxy_case(ctx, "option splice-request\n  option splice-response")


# ---- memcached ------------------------------------------------------------------------------------

@case
def memcached_client_reset(ctx):
    """A client asks 'version', reads the answer, then resets: memcached's read fails ECONNRESET."""
    need("/usr/bin/memcached")
    runs = []
    for preload in (False, True):
        tag = "watched" if preload else "bare"
        port = free_port()
        logdir = ctx.logdir(tag)
        user = ["-u", "nobody"] if os.getuid() == 0 else []
        mc = ctx.start(["/usr/bin/memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "2", "-m", "16", *user],
                       preload, logdir, tag=f"memcached-{tag}")
        try:
            wait_port(port, proc=mc.p)
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"set k 0 0 5\r\nhello\r\nget k\r\nversion\r\n")
            got = b""
            while not got.endswith(b"\r\n") or b"VERSION" not in got:
                chunk = s.recv(4096)
                check(chunk, "memcached closed")
                got += chunk
            me = "%s:%d" % s.getsockname()
            rst_close(s)
            time.sleep(0.3)
            tree = descendants(mc.pid)
        finally:
            os.kill(mc.pid, signal.SIGTERM)
            mc.wait(10)
        runs.append((got, mc, logdir, tree, me))
    check(runs[0][0] == runs[1][0], f"memcached answers differ: {runs[0][0]!r} / {runs[1][0]!r}")
    check(runs[0][1].rc == runs[1][1].rc, f"memcached status {runs[0][1].rc} / {runs[1][1].rc}")
    _, mc, logdir, tree, me = runs[1]
    no_rstwatch_noise(mc)
    logs = Logs(logdir)
    expect_tree_logged(logs, tree, mc.pid)
    expect_error(logs.lines_of(mc.pid), "memcached", "ECONNRESET", "read", me, objs=("libc.so.6", "memcached"),
                 count=1)


# ---- socat ----------------------------------------------------------------------------------------

@case
def socat_fork_reset(ctx):
    """socat TCP-LISTEN,fork PIPE (an echo server, one forked child per connection): two clients each
    send a line, read it back, and reset: each child's read fails ECONNRESET, in its own log."""
    need("/usr/bin/socat")
    runs = []
    for preload in (False, True):
        tag = "watched" if preload else "bare"
        port = free_port()
        logdir = ctx.logdir(tag)
        so = ctx.start(["/usr/bin/socat", "-d", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "PIPE"],
                       preload, logdir, tag=f"socat-{tag}")
        clients, tree = [], {}
        try:
            wait_port(port, proc=so.p)
            before = set(descendants(so.pid))
            for i in range(2):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"line %d\n" % i)
                got = b""
                while not got.endswith(b"\n"):
                    chunk = s.recv(100)
                    check(chunk, "socat closed")
                    got += chunk
                tree.update(descendants(so.pid))
                me = "%s:%d" % s.getsockname()
                rst_close(s)
                clients.append((got, me))
            until(lambda: set(descendants(so.pid)) <= before, 5, "socat's children to exit")
        finally:
            os.kill(so.pid, signal.SIGTERM)
            so.wait(10)
        runs.append((clients, so, logdir, {p: pp for p, pp in tree.items() if p not in before or p == so.pid}))
    check([g for g, _ in runs[0][0]] == [g for g, _ in runs[1][0]] == [b"line 0\n", b"line 1\n"],
          f"socat echo: {runs[0][0]} / {runs[1][0]}")
    clients, so, logdir, tree = runs[1]
    logs = Logs(logdir)
    expect_tree_logged(logs, tree, so.pid)
    children = sorted(p for p in tree if p != so.pid)
    check(len(children) == 2, f"socat forked {children} for 2 connections")
    for child, (_, me) in zip(children, clients):
        expect_error(logs.lines_of(child), f"socat child {child}", "ECONNRESET", "read", me, count=1)
