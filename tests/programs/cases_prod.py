"""cases_prod.py: the default mode (RSTWATCH_EVENTS=failures) on real programs, as left on in
production: clean connections cost no line of their own (tallies), a reset storm is counted exactly
(storm control), a failing connection keeps its whole timeline, the module map follows dlopen and
dlclose."""

import os
import signal
import socket
import struct
import threading

from progs import PY, Logs, nginx_conf, check, descendants, free_port, need, no_rstwatch_noise, show, until, wait_port

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn




def http_get(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


@case
def nginx_clean_churn_tallied(ctx):
    """nginx (master + 1 worker, default mode) serves 300 requests, each on its own connection, all
    clean: its logs hold no connection line at all, only start lines and, at the worker's exit, tally
    lines whose connections add up to exactly 300 (server role, keyed by 127.0.0.1:PORT)."""
    need("/usr/sbin/nginx")
    d = ctx.mkdir("nginx-churn")
    os.mkdir(os.path.join(d, "www"))
    with open(os.path.join(d, "www", "hello.txt"), "w") as f:
        f.write("hello\n")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(d, port, f"root {d}/www; keepalive_timeout 0;", workers=1, error_level="warn",
                           connections=256))
    logdir = ctx.logdir("churn")
    ng = ctx.start(["/usr/sbin/nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")], True, logdir)
    n = 300
    try:
        wait_port(port, proc=ng.p)
        tree = until(lambda: (lambda t: t if len(t) == 2 else None)(descendants(ng.pid)), 5, "nginx's worker")
        bodies = [http_get(port) for _ in range(n)]
    finally:
        os.kill(ng.pid, signal.SIGQUIT)  # graceful: the worker exit()s, which writes its tallies
        ng.wait(10)
    check(all(b.startswith(b"HTTP/1.1 200") and b.endswith(b"\r\nhello\n") for b in bodies),
          f"nginx answered every request: {bodies[0][:200]!r}")
    no_rstwatch_noise(ng)
    logs = Logs(logdir)
    kinds = {}
    for e in logs.all():
        kinds[e["ev"]] = kinds.get(e["ev"], 0) + 1
    check(set(kinds) <= {"start", "tally"}, f"clean connections left lines of their own: {kinds}\n  {logs.listing()}")
    # (the master's tally is its channel to the worker: a socketpair, family unix)
    tallies = [e for e in logs.all() if e["ev"] == "tally" and e.get("family") != "unix"]
    worker = [p for p in tree if p != ng.pid][0]
    check(tallies and all(t["pid"] == worker and t.get("role") == "server" and t.get("family") == "inet"
                          and t.get("local") == f"127.0.0.1:{port}" for t in tallies),
          f"tally lines of the worker {worker}, server role, 127.0.0.1:{port}: {[show(t) for t in tallies]}")
    total = sum(t["conns"] for t in tallies)
    check(total == n, f"the tallies count {total} connections, nginx served {n}: {[show(t) for t in tallies]}")
    body = len(b"hello\n")
    check(sum(t["bytes_out"] for t in tallies) >= n * body and sum(t["bytes_in"] for t in tallies) >= n * 30,
          f"the tallies' byte counts cover the requests and answers: {[show(t) for t in tallies]}")
    size = sum(os.path.getsize(p) for p in logs.files)
    ctx.note(f"{n} clean connections: {len(logs.files)} log files, {size} bytes, {kinds}")


PY_RESET_SERVER = r"""
import socket, sys
n = int(sys.argv[1])
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(512)
print(ls.getsockname()[1], flush=True)
resets = other = 0
for _ in range(n):
    c, _ = ls.accept()
    try:
        while c.recv(4096):
            pass
        other += 1
    except ConnectionResetError:
        resets += 1
    c.close()
print("resets", resets, "other", other, flush=True)
"""


def abort_clients(port, n):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"x" * 10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


@case
def python_reset_storm_accounted(ctx):
    """A python3 server meets 3000 connections that each send 10 bytes and abort (RST): 3000
    ECONNRESET on recv, all at one call site, within a second or two. Default storm control
    (RSTWATCH_RATE 100/s): at most 100 error lines per second are written, each with its
    connection's accept line (held until then); the others are counted in suppressed lines whose
    counts, added to the written errors, are exactly 3000; "conns" counts them as first errors."""
    n = 3000
    script = ctx.path("reset_server.py")
    with open(script, "w") as f:
        f.write(PY_RESET_SERVER)
    logdir = ctx.logdir("storm")
    srv = ctx.start([PY, script, str(n)], True, logdir)
    port = int(until(lambda: (lambda t: t.split("\n")[0] if "\n" in t else None)(srv.stdout), 10,
                     "the server's port"))
    t = threading.Thread(target=abort_clients, args=(port, n))
    t.start()
    t.join(60)
    srv.wait(60)
    out = srv.stdout
    check(f"resets {n} other 0" in out, f"the server met {n} resets: {out!r} {srv.describe()}")
    no_rstwatch_noise(srv)
    logs = Logs(logdir)
    lines = logs.lines_of(srv.pid)
    errors = [e for e in lines if e["ev"] == "error"]
    supp = [e for e in lines if e["ev"] == "suppressed"]
    check(all(e.get("errno") == "ECONNRESET" and e.get("op") == "read" for e in errors),
          f"only ECONNRESET on read: {[show(e) for e in errors if e.get('errno') != 'ECONNRESET'][:3]}")
    counted = sum(s["count"] for s in supp)
    check(len(errors) + counted == n, f"{len(errors)} error lines + {counted} suppressed = {len(errors) + counted}, "
                                      f"expected exactly {n}: {[show(s) for s in supp]}")
    check(supp and all(s.get("errno") == "ECONNRESET" and s.get("of") == "error" and s.get("conns") == s["count"]
                       for s in supp), f"suppressed lines, each event the first of its connection: {[show(s) for s in supp]}")
    per_sec = {}
    for e in errors:
        per_sec[e["ts"] // 10**9] = per_sec.get(e["ts"] // 10**9, 0) + 1
    check(max(per_sec.values()) <= 100, f"at most 100 error lines a second: {per_sec}")
    stacks = {e.get("stack") for e in errors}
    check(len(stacks) == 1 and None not in stacks and all(s.get("stack") in stacks for s in supp),
          f"one call site, one interned stack: {stacks}, suppressed at {[s.get('stack') for s in supp]}")
    check(sum(1 for e in lines if e["ev"] == "stack") == 1, "the stack line written once")
    accepts = {e["conn"] for e in lines if e["ev"] == "accept"}
    check(all(e["conn"] in accepts for e in errors) and len(accepts) == len(errors),
          f"each written error has its connection's accept line, and no other accept is written: "
          f"{len(accepts)} accepts, {len(errors)} errors")
    size = sum(os.path.getsize(p) for p in logs.files)
    ctx.note(f"{n} resets: {len(errors)} error lines, {len(supp)} suppressed lines ({counted} events), {size} bytes")


PY_DLOPEN = r"""
import ctypes, _ctypes, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
lib = ctypes.CDLL("liblz4.so.1")
print("lz4", lib.LZ4_versionNumber(), flush=True)
s = socket.socket()
addr = struct.pack("<H", socket.AF_INET) + struct.pack(">H", int(sys.argv[1])) + socket.inet_aton("127.0.0.1") + bytes(8)
r = libc.connect(s.fileno(), addr, len(addr))  # through _ctypes and libffi, both dlopened
print("refused" if r == -1 and ctypes.get_errno() == 111 else f"connect {r}", flush=True)
s.close()
_ctypes.dlclose(lib._handle)
print("closed", flush=True)
"""


def build_id(path):
    """The NT_GNU_BUILD_ID of an ELF file (64-bit little-endian), as hex; None without one."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        sh_type, = struct.unpack_from("<I", data, shoff + i * shentsize + 4)
        off, size = struct.unpack_from("<QQ", data, shoff + i * shentsize + 0x18)
        if sh_type != 7:  # SHT_NOTE
            continue
        p = off
        while p + 12 <= off + size:
            namesz, descsz, ntype = struct.unpack_from("<III", data, p)
            name = data[p + 12:p + 12 + namesz]
            desc_at = p + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and name.rstrip(b"\0") == b"GNU":
                return data[desc_at:desc_at + descsz].hex()
            p = desc_at + ((descsz + 3) & ~3)
    return None


@case
def python_dlopen_module_map(ctx):
    """python3 dlopens liblz4 through ctypes, meets a refused connect called through ctypes (its
    backtrace goes through the _ctypes extension, itself dlopened), then dlcloses liblz4: module lines
    name _ctypes and liblz4 with
    their size and the build-id their files carry, before the stack line that needs them; an unload
    line for liblz4's id follows the dlclose."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]  # bound, not listening: refused
    script = ctx.path("dlopen.py")
    with open(script, "w") as f:
        f.write(PY_DLOPEN)
    logdir = ctx.logdir("dlopen")
    try:
        run = ctx.run([PY, script, str(port)], True, logdir)
    finally:
        closed.close()
    out = run.stdout
    check(run.rc == 0 and out.endswith("refused\nclosed\n"), f"python3: {run.describe()}")
    no_rstwatch_noise(run)
    lines = Logs(logdir).lines_of(run.pid)
    mods = {e["id"]: e for e in lines if e["ev"] == "module"}
    by_name = {os.path.basename(m["path"]): m for m in mods.values()}
    sock = [m for n, m in by_name.items() if n.startswith("_ctypes.")]
    z = [m for n, m in by_name.items() if n.startswith("liblz4.so")]
    check(sock and z, f"module lines for _ctypes and liblz4: {sorted(by_name)}")
    for m in (sock[0], z[0]):
        check(type(m.get("size")) is int and m["size"] > 0, f"module size: {show(m)}")
        want = build_id(os.path.realpath(m["path"]))
        check(m.get("build_id") == want, f"{m['path']}: build_id {m.get('build_id')}, its file says {want}")
    stack = [e for e in lines if e["ev"] == "stack"]
    err = [e for e in lines if e["ev"] == "error"]
    check(len(stack) == 1 and len(err) == 1 and err[0].get("stack") == stack[0]["id"],
          f"one error referring to one stack line: {[show(e) for e in stack + err]}")
    check(any(f.get("m") == sock[0]["id"] for f in stack[0]["bt"]), f"the backtrace goes through _ctypes: {show(stack[0])}")
    pos = {id(e): i for i, e in enumerate(lines)}
    check(pos[id(sock[0])] < pos[id(stack[0])], "module line after the stack line that needs it")
    unload = [e for e in lines if e["ev"] == "unload"]
    check([u.get("id") for u in unload] == [z[0]["id"]] and pos[id(unload[0])] > pos[id(err[0])],
          f"one unload line, for liblz4 (id {z[0]['id']}), after the error: {[show(u) for u in unload]}")
