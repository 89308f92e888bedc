"""progs.py: what every real-program case shares: starting Debian's programs with and without
librstwatch.so in their own process groups (always killed at the end), free loopback ports, small
loopback peers that reset or refuse, reading the logs, and the checks on them."""

import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rswtest import listening  # noqa: E402  (shared with the benchmarks)

PY = "/usr/bin/python3"  # Debian's interpreter, not whatever python3 comes first in PATH
# The main program's module is named by the path it was started by: /usr/bin/python3 (the symlink), not its
# target python3.11; obj_is(path, PY_OBJ) accepts both.
PY_OBJ = "python3"
SKIP = 77
WATCHED = {"EPIPE", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
           "EHOSTDOWN", "ENETDOWN", "ECONNABORTED"}


class Fail(Exception):
    """A check failed: the message says what was expected and what was seen."""


class Skip(Exception):
    """The case cannot run here (exit 77, one line)."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def show(ev):
    return json.dumps(ev, separators=(",", ":"))[:1200]


def need(*programs):
    for p in programs:
        if not (shutil.which(p) or os.access(p, os.X_OK)):
            raise Skip(f"{p} not installed")


def pkg_version(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


# ---- ports and loopback peers ---------------------------------------------------------------------

def free_port(family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]


class ClosedPort:
    """A loopback port bound but not listening, held for the whole case: a connect to it is refused
    by the kernel (RST), and no other process can start listening on it meanwhile."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def rst_close(sock):
    """close() with SO_LINGER {1, 0}: the kernel sends an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()




def wait_port(port, timeout=10.0, proc=None):
    """Until something listens on port; bounded."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise Fail(f"{proc.args}: exited with {proc.returncode} before listening on {port}")
        if listening(port):
            return
        time.sleep(0.02)
    raise Fail(f"nothing listens on port {port} after {timeout} s")


class Resetter:
    """A loopback TCP server in this driver (not preloaded): for each connection it reads until it has
    `need` bytes (or a blank line ends an HTTP head when need is 'http'), optionally answers `reply`,
    then closes with SO_LINGER 0, so the client gets an RST. Stops by itself after `limit` connections
    or when closed."""

    def __init__(self, need=b"", reply=b"", limit=8, delay=0.0):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.need, self.reply, self.limit, self.delay = need, reply, limit, delay
        self.accepted = []  # peer addresses "127.0.0.1:PORT", in order
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and len(self.accepted) < self.limit and time.monotonic() < deadline:
            try:
                c, addr = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(f"{addr[0]}:{addr[1]}")
            c.settimeout(5)
            got = b""
            try:
                while True:
                    if self.need == "http" and b"\r\n\r\n" in got:
                        break
                    if isinstance(self.need, bytes) and len(got) >= len(self.need):
                        break
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                if self.reply:
                    c.sendall(self.reply)
                if self.delay:
                    time.sleep(self.delay)
            except OSError:
                pass
            rst_close(c)

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.lsock.close()


class HttpOnce:
    """A loopback HTTP server in this driver answering 'hello\\n' to every request (bounded). `accepted`:
    the peer address of every connection it accepted, in order."""

    def __init__(self, body=b"hello\n"):
        import http.server
        accepted = self.accepted = []

        class S(http.server.ThreadingHTTPServer):
            def verify_request(srv, request, client_address):
                accepted.append(f"{client_address[0]}:{client_address[1]}")
                return True

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                h.send_response(200)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)

            def log_message(h, *a):
                pass
        self.srv = S(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# ---- processes ------------------------------------------------------------------------------------

def proc_table():
    """{pid: (ppid, sid, comm)} of every process now."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out[int(d)] = (int(rest[1]), int(rest[3]), comm)
    return out


def descendants(root):
    """{pid: ppid} of root and every process below it, now."""
    table = proc_table()
    tree, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in table and p not in tree:
            tree[p] = table[p][0]
            todo += [c for c, v in table.items() if v[0] == p]
    return tree


class Proc:
    """A started program: its own session/process group; output to files."""

    def __init__(self, popen, out, err, logdir, argv):
        self.p, self.out_path, self.err_path, self.logdir, self.argv = popen, out, err, logdir, argv
        self.pid = popen.pid

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f"{' '.join(self.argv)}: still running after {timeout} s")

    def poll(self):
        return self.p.poll()

    def kill(self, sig=signal.SIGKILL):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    @property
    def rc(self):
        return self.p.returncode

    @property
    def stdout(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    @property
    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def describe(self):
        return (f"{' '.join(self.argv)}: status {self.rc}\n--- stdout:\n{self.stdout[-2000:]}"
                f"\n--- stderr:\n{self.stderr[-2000:]}")


class Ctx:
    """Scratch space, the programs a case started (killed at the end), the library."""

    def __init__(self, lib, build):
        self.lib, self.build = lib, build
        self.tmp = tempfile.mkdtemp(prefix="rswprog.")
        os.chmod(self.tmp, 0o755)
        self.procs, self.closers, self.notes, self.n = [], [], [], 0

    def note(self, text):
        """A fact worth printing with the verdict (what the real program said)."""
        self.notes.append(text)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def mkdir(self, name, mode=0o755, owner=None):
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, mode)
        if owner is not None:
            os.chown(d, owner[0], owner[1])
        return d

    def logdir(self, tag, owner=None, mode=0o755):
        self.n += 1
        return self.mkdir(f"logs{self.n}-{tag}", mode=mode, owner=owner)

    def env(self, preload, logdir=None, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RSTWATCH_") and k != "LD_PRELOAD"}
        env["LC_ALL"] = "C.UTF-8"
        if preload:
            env["LD_PRELOAD"] = self.lib
            if logdir is not None:
                env["RSTWATCH_LOG"] = logdir
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def start(self, argv, preload, logdir=None, env=None, cwd=None, user=None, stdin=None, tag=None):
        """Starts argv in its own session; stdout/stderr go to regular files (not watched)."""
        self.n += 1
        tag = tag or os.path.basename(argv[0])
        out, err = self.path(f"{self.n}-{tag}.out"), self.path(f"{self.n}-{tag}.err")
        kw = {}
        if user is not None:
            import pwd
            pw = pwd.getpwnam(user)
            if os.getuid() == 0:
                kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        with open(out, "wb") as o, open(err, "wb") as e:
            p = subprocess.Popen(argv, env=self.env(preload, logdir, env), cwd=cwd or self.tmp,
                                 stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                 stdout=o, stderr=e, start_new_session=True, **kw)
        proc = Proc(p, out, err, logdir, argv)
        self.procs.append(proc)
        return proc

    def run(self, argv, preload, logdir=None, timeout=15, **kw):
        proc = self.start(argv, preload, logdir, **kw)
        proc.wait(timeout)
        return proc

    def on_exit(self, fn):
        self.closers.append(fn)

    def cleanup(self, keep):
        for fn in reversed(self.closers):
            try:
                fn()
            except Exception:
                pass
        for proc in self.procs:
            proc.kill(signal.SIGKILL)
            try:
                proc.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if keep:
            print(f"runs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def nginx_conf(d, port, server, workers=2, error_level="info", connections=64):
    """An nginx.conf in the foreground with everything under d, one server on 127.0.0.1:port whose
    body is server (its directives inside server { })."""
    return f"""daemon off;
master_process on;
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log {error_level};
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    {server}
  }}
}}
"""


# ---- logs -----------------------------------------------------------------------------------------

class Logs:
    """Every log file of a directory: {path: [events]}; lines that do not parse fail the case."""

    def __init__(self, logdir):
        self.dir = logdir
        self.files = {}
        for path in sorted(glob.glob(os.path.join(logdir, "*"))):
            if os.path.isdir(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            evs = []
            stacks = {}  # (pid, id) -> frames: v3 lines refer to interned stacks
            for no, raw in enumerate(text.splitlines(), 1):
                try:
                    ev = json.loads(raw)
                except ValueError:
                    raise Fail(f"{path}:{no}: not JSON: {raw[:300]!r}")
                check(isinstance(ev, dict) and ev.get("v") in (1, 2, 3) and "ev" in ev, f"{path}:{no}: bad line {raw[:300]!r}")
                if ev["ev"] == "stack":
                    stacks[(ev.get("pid"), ev.get("id"))] = ev.get("bt")
                elif "stack" in ev:
                    check((ev.get("pid"), ev["stack"]) in stacks, f"{path}:{no}: stack {ev['stack']} not in the log before")
                    ev["bt"] = stacks[(ev.get("pid"), ev["stack"])]
                evs.append(ev)
            self.files[path] = evs

    def listing(self):
        out = []
        for path, evs in self.files.items():
            starts = [e for e in evs if e["ev"] == "start"]
            desc = ", ".join(f"pid {s.get('pid')} ppid {s.get('ppid')} {s.get('origin')}" for s in starts)
            errs = ", ".join(f"{e.get('op')}/{e.get('errno')}@{e.get('peer')}" for e in evs if e["ev"] == "error")
            out.append(f"{os.path.basename(path)}: {len(evs)} lines; start: {desc or 'none'}; errors: {errs or 'none'}")
        return "\n  ".join(out) or "(no log files)"

    def of_pid(self, pid):
        """The files whose start line is pid's."""
        return [p for p, evs in self.files.items() if any(e["ev"] == "start" and e.get("pid") == pid for e in evs)]

    def lines_of(self, pid):
        files = self.of_pid(pid)
        check(len(files) == 1, f"expected one log file for pid {pid}, found {len(files)}; logs in {self.dir}:\n  {self.listing()}")
        return self.files[files[0]]

    def all(self):
        return [e for evs in self.files.values() for e in evs]

    def errors(self, **match):
        return [e for e in self.all() if e["ev"] == "error" and all(e.get(k) == v for k, v in match.items())]


def frame_objects(log_lines, event):
    """The object (module path) of every frame of event's backtrace, innermost first. Supports both
    frame formats: {"ip","obj","off","sym"} and {"ip","m","off"} with "module" lines
    ({"ev":"module","id":M,"path":P,...}) of the same process mapping m to a path."""
    modules = {}
    for e in log_lines:
        if e.get("ev") == "module" and e.get("pid") == event.get("pid"):
            if "ts" in e and "ts" in event and e["ts"] > event["ts"] and e.get("id") in modules:
                continue
            modules[e.get("id")] = e.get("path")
    objs = []
    for f in event.get("bt", []):
        if not isinstance(f, dict):
            objs.append(None)
        elif "obj" in f:
            objs.append(f["obj"])
        elif "m" in f:
            objs.append(modules.get(f["m"]))
        else:
            objs.append(None)
    return objs


def obj_is(path, want):
    """The module path names the library or program `want` (libc.so.6, libpython3 -> libpython3.11.so.1.0)."""
    base = os.path.basename(path)
    return base == want or (base.startswith(want) and re.fullmatch(r"[.\d]*(\.so[.\d]*)?", base[len(want):]) is not None)


def expect_error(log_lines, where, errno, op, peer, objs=("libc.so.6",), call=None, count=None):
    """Exactly the wanted error event(s) in log_lines: errno (a name or a set of names), op, peer, a
    backtrace whose frames name each library in objs. Returns the first."""
    errnos = {errno} if isinstance(errno, str) else set(errno)
    peers = {peer} if isinstance(peer, str) else set(peer)
    errs = [e for e in log_lines if e.get("ev") == "error"]
    hits = [e for e in errs if e.get("errno") in errnos and e.get("op") == op and e.get("peer") in peers
            and (call is None or e.get("call") == call)]
    listing = "\n  ".join(show(e) for e in errs) or "(no error events)"
    check(hits, f"{where}: no error event errno {'|'.join(sorted(errnos))} op {op} peer {'|'.join(sorted(peers))}"
                f"{' call ' + call if call else ''}; its error events:\n  {listing}")
    if count is not None:
        check(len(hits) == count, f"{where}: expected {count} such error events, seen {len(hits)}:\n  {listing}")
    ev = hits[0]
    check(isinstance(ev.get("bt"), list) and ev["bt"], f"{where}: error event without a backtrace: {show(ev)}")
    objs_seen = frame_objects(log_lines, ev)
    check(objs_seen and objs_seen[0], f"{where}: the innermost frame names no object: {objs_seen}\n  in {show(ev)}")
    for o in filter(None, objs_seen):  # frames in JIT code (java, node) have no module
        check(os.path.isabs(o) and os.path.isfile(o), f"{where}: frame object {o!r} is not a file; frame objects: "
                                                       f"{objs_seen}\n  in {show(ev)}")
    for want in objs:
        check(any(obj_is(o, want) for o in objs_seen if o), f"{where}: no frame in {want}; frame objects: {objs_seen}")
    return ev


def expect_tree_logged(logs, tree, leader, exec_pids=()):
    """(c): every process of tree ({pid: ppid}) has exactly one log file whose start line carries its
    pid and its real ppid; the leader (and exec_pids) started by exec, the others by fork."""
    problems = []
    for pid, ppid in sorted(tree.items()):
        files = logs.of_pid(pid)
        if len(files) != 1:
            problems.append(f"pid {pid} (ppid {ppid}): {len(files)} log files")
            continue
        start = next(e for e in logs.files[files[0]] if e["ev"] == "start" and e.get("pid") == pid)
        origin = "exec" if pid == leader or pid in exec_pids else "fork"
        if start.get("origin") != origin or (pid != leader and start.get("ppid") != ppid):
            problems.append(f"pid {pid}: start origin {start.get('origin')} ppid {start.get('ppid')}, "
                            f"expected {origin} ppid {ppid}")
    check(not problems, "one log per process: " + "; ".join(problems) + f"\n  logs in {logs.dir}:\n  {logs.listing()}")


def no_rstwatch_noise(proc):
    lines = [l for l in proc.stderr.splitlines() if l.startswith("rstwatch:")]
    check(not lines, f"{' '.join(proc.argv)}: unexpected rstwatch lines on stderr: {lines}")


def same(bare, watched, what, normalize=None):
    """(a): the same exit status and output with and without the preload."""
    norm = normalize or (lambda s: s)
    check(bare.rc == watched.rc, f"{what}: status {watched.rc} with the preload, {bare.rc} without\n"
                                 f"with:\n{watched.describe()}\nwithout:\n{bare.describe()}")
    check(norm(bare.stdout) == norm(watched.stdout),
          f"{what}: stdout differs with the preload:\n--- without:\n{bare.stdout[-1500:]}\n--- with:\n{watched.stdout[-1500:]}")


def until(cond, timeout, what, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise Fail(f"timed out after {timeout} s waiting for {what}")


def num(pattern, text, what):
    m = re.search(pattern, text)
    check(m, f"{what}: no match for {pattern!r} in {text[-800:]!r}")
    return m.group(1)
