"""rswlog.py: runs test programs with and without librstwatch.so and loads/validates their JSON Lines logs (used by rswcheck.py)."""

import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

WATCHED_ERRNOS = {"EPIPE", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
                  "EHOSTDOWN", "ENETDOWN", "ECONNABORTED"}
EVENT_KINDS = {"start", "connect", "connected", "accept", "adopt", "eof", "shutdown", "close", "error",
               "signal", "inject", "io", "module"}
SCHEMA_VERSION = 2
HEX = re.compile(r"^0x[0-9a-f]+$")
ERRNO_NAME = re.compile(r"^E[A-Z0-9]+$")
MISSING = "<absent>"


class Fail(Exception):
    """A check failed: the message says what was expected and what was seen."""


class Skip(Exception):
    """The case cannot run here (exit 77)."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def show(ev):
    return json.dumps(ev, separators=(",", ":"))[:1500]


def fields(ev, /, **want):
    """Every named field of event ev has exactly the wanted value (MISSING = must be absent)."""
    for key, value in want.items():
        seen = ev.get(key, MISSING)
        if seen != value or type(seen) is not type(value):
            raise Fail(f"{ev.get('ev')} event field {key!r}: expected {value!r}, seen {seen!r}\n  in {show(ev)}")


def select(lines, ev=None, **match):
    """The events of kind ev whose fields equal every value in match."""
    return [e for e in lines if (ev is None or e["ev"] == ev)
            and all(e.get(k, MISSING) == v for k, v in match.items())]


def only(lines, ev, what="", **match):
    found = select(lines, ev, **match)
    if len(found) != 1:
        listing = "\n  ".join(show(e) for e in lines) or "(empty log)"
        raise Fail(f"expected exactly one {ev} event {what}{match}, seen {len(found)}; the log:\n  {listing}")
    return found[0]


# pid -> {module id: path}, from the module lines of every log loaded so far
MODULES = {}


def elf_functions(path, _cache={}):
    """The function symbols of an ELF file as sorted (start, end, name), with the load base of its
    first PT_LOAD segment (what a frame's off is relative to)."""
    if path in _cache:
        return _cache[path]
    funcs, first_load = [], None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        _cache[path] = ([], 0)
        return _cache[path]
    if data[:4] != b"\x7fELF" or data[4] != 2:
        _cache[path] = ([], 0)
        return _cache[path]
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    for i in range(phnum):
        ptype, _, _, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if ptype == 1 and first_load is None:
            first_load = vaddr & ~0xfff
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] not in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 24):
            name, info, _, _, value, size = struct.unpack_from("<IBBHQQ", data, off)
            if info & 0xf == 2 and value:  # STT_FUNC
                end = data.index(b"\0", strtab[4] + name)
                funcs.append((value, value + max(size, 1), data[strtab[4] + name:end].decode()))
    funcs.sort()
    _cache[path] = (funcs, first_load or 0)
    return _cache[path]


def frame_function(pid, frame):
    """The function a frame is in, symbolized offline from its module's ELF symbols (None if
    unknown); a return address is looked up 1 byte back, inside the call."""
    path = MODULES.get(pid, {}).get(frame.get("m"))
    if not path or "off" not in frame:
        return None
    funcs, base = elf_functions(path)
    addr = int(frame["off"], 16) + base - 1
    for start, end, name in funcs:
        if start <= addr < end:
            return name
    return None


def frame_objects(ev):
    """The module path of each frame (None where unknown)."""
    mods = MODULES.get(ev.get("pid"), {})
    return [mods.get(f.get("m")) for f in ev.get("bt", []) if isinstance(f, dict)]


def syms(ev):
    return [frame_function(ev.get("pid"), f) for f in ev.get("bt", []) if isinstance(f, dict)]


def has_sym(ev, name):
    """The event's backtrace names the function `name` (the test program's own function)."""
    check("bt" in ev, f"{ev['ev']} event has no bt: {show(ev)}")
    check(name in syms(ev), f"{ev['ev']} event bt does not name {name!r}; its syms: {syms(ev)}\n  in {show(ev)}")


def tcp_fields(ev):
    """A TCP error carries `tcp` with the TCP_INFO summary the README documents."""
    tcp = ev.get("tcp")
    check(isinstance(tcp, dict), f"{ev['ev']} event on a TCP socket has no tcp object: {show(ev)}")
    check(isinstance(tcp.get("state"), str), f"tcp.state not a string: {show(ev)}")
    for k in ("bytes_acked", "bytes_received", "unacked"):
        check(isinstance(tcp.get(k), int) and tcp[k] >= 0, f"tcp.{k} not an integer >= 0: {show(ev)}")


def validate_frame(ev, frame, where):
    check(isinstance(frame, dict), f"{where}: bt frame is not an object: {show(ev)}")
    check(isinstance(frame.get("ip"), str) and HEX.match(frame["ip"]), f"{where}: bt frame ip not 0x-hex: {frame}")
    check(set(frame) <= {"ip", "m", "off"}, f"{where}: unknown frame keys (v2: ip, m, off): {frame}")
    if "m" in frame:
        check(isinstance(frame.get("off"), str) and HEX.match(frame["off"]), f"{where}: bt frame off not 0x-hex: {frame}")
        path = MODULES.get(ev["pid"], {}).get(frame["m"])
        check(path is not None, f"{where}: bt frame names module {frame['m']} before any module line gave it: {frame}")
        check(not path.endswith("librstwatch.so"), f"{where}: the library's own frame left in bt: {frame}")
        check(int(frame["off"], 16) <= int(frame["ip"], 16), f"{where}: off > ip: {frame}")


def validate_module(ev, where):
    check(isinstance(ev.get("id"), int) and ev["id"] >= 1, f"{where}: module id: {show(ev)}")
    check(isinstance(ev.get("path"), str) and ev["path"], f"{where}: module path: {show(ev)}")
    check(isinstance(ev.get("base"), str) and HEX.match(ev["base"]), f"{where}: module base: {show(ev)}")
    MODULES.setdefault(ev["pid"], {})[ev["id"]] = ev["path"]


def validate_line(ev, where, t0, t1):
    """The fields every line has, and the types of those that recur."""
    check(isinstance(ev, dict), f"{where}: not a JSON object")
    fields(ev, v=SCHEMA_VERSION)
    for k in ("ts", "seq", "pid", "tid"):
        check(isinstance(ev.get(k), int) and not isinstance(ev.get(k), bool), f"{where}: {k} not an integer: {show(ev)}")
    check(t0 - 2_000_000_000 <= ev["ts"] <= t1 + 2_000_000_000,
          f"{where}: ts {ev['ts']} outside the run [{t0}, {t1}] (nanoseconds since the epoch?)")
    check(ev.get("ev") in EVENT_KINDS, f"{where}: unknown ev {ev.get('ev')!r}")
    for k in ("fd", "conn", "ret", "bytes_in", "bytes_out", "lfd", "cookie", "ppid"):
        if k in ev:
            check(isinstance(ev[k], int) and not isinstance(ev[k], bool), f"{where}: {k} not an integer: {show(ev)}")
    if "conn" in ev:
        check(ev["conn"] >= 1, f"{where}: conn < 1: {show(ev)}")
    if "errno" in ev:
        check(isinstance(ev["errno"], str) and ERRNO_NAME.match(ev["errno"]), f"{where}: errno not a name: {show(ev)}")
    if "family" in ev:
        check(ev["family"] in ("inet", "inet6", "unix", "pipe"), f"{where}: bad family: {show(ev)}")
    if ev["ev"] == "error":
        check(ev.get("errno") in WATCHED_ERRNOS, f"{where}: error event with errno outside the watched set: {show(ev)}")
    if ev["ev"] == "module":
        validate_module(ev, where)
    if "bt" in ev:
        check(isinstance(ev["bt"], list), f"{where}: bt not an array: {show(ev)}")
        for frame in ev["bt"]:
            validate_frame(ev, frame, where)


def parse_lines(text, name, t0, t1):
    """Every line parses as JSON and has the common fields. Per process image (a start line, seq 0,
    begins one) the seq numbers are exactly 0..n-1 (no gap, no duplicate) and rise in file order
    within each thread (threads may append in another order than they drew their numbers)."""
    check(text == "" or text.endswith("\n"), f"{name}: last line not terminated (torn?): {text[-200:]!r}")
    lines = []
    images = {}  # pid -> list of seq of its current image
    last_of_tid = {}
    for no, raw in enumerate(text.splitlines(), 1):
        where = f"{name}:{no}"
        try:
            ev = json.loads(raw)
        except ValueError as exc:
            raise Fail(f"{where}: not JSON ({exc}): {raw[:300]!r}")
        validate_line(ev, where, t0, t1)
        pid, tid = ev["pid"], ev["tid"]
        if ev["ev"] == "start":
            check(ev["seq"] == 0, f"{where}: start line with seq {ev['seq']}, expected 0")
            check(ev.get("origin") in ("exec", "fork"), f"{where}: start origin {ev.get('origin')!r}")
            check(tid == pid, f"{where}: start line from tid {tid} of pid {pid}")
            MODULES.pop(pid, None)  # a new image: its modules follow
            check_image(images.get(pid), name, pid)
            images[pid] = []
            last_of_tid = {k: v for k, v in last_of_tid.items() if k[0] != pid}
        else:
            check(pid in images, f"{where}: pid {pid}: line before its start line: {show(ev)}")
            prev = last_of_tid.get((pid, tid), -1)
            check(ev["seq"] > prev, f"{where}: tid {tid}: seq {ev['seq']} after its own seq {prev}")
        images[pid].append(ev["seq"])
        last_of_tid[(pid, tid)] = ev["seq"]
        lines.append(ev)
    for pid, seqs in images.items():
        check_image(seqs, name, pid)
    return lines


def check_image(seqs, name, pid):
    if seqs is not None and sorted(seqs) != list(range(len(seqs))):
        missing = sorted(set(range(max(seqs) + 1)) - set(seqs))
        raise Fail(f"{name}: pid {pid}: seq numbers not 0..{len(seqs) - 1}: missing {missing[:20]}, "
                   f"duplicates {sorted(s for s in set(seqs) if seqs.count(s) > 1)[:20]}")


def load_log(path, t0, t1):
    mode = os.stat(path).st_mode & 0o777
    check(mode == 0o600, f"{path}: mode {oct(mode)}, expected 0o600")
    with open(path, encoding="utf-8", errors="strict") as f:
        return parse_lines(f.read(), os.path.basename(path), t0, t1)


def normalize(text):
    """Program output with the numbers that differ from run to run (fds, ports, pids) replaced."""
    text = re.sub(r"/run\d+/", "/runN/", text)
    return re.sub(r"\b(fd|port|pid|tid|server|peer_pid|child)=\d+", r"\1=N", text)


def kv(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


# The case registry: rswcheck.py runs CASES[name](ctx).
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def out_line(run, prefix, first=False):
    """The last (or first) stdout line starting with prefix, as key=value pairs."""
    found = [line for line in run.out_lines() if line.startswith(prefix)]
    check(found, f"{run.argv}: no output line starting {prefix!r}; stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
    return kv(found[0] if first else found[-1])


def start_line(lines, run, origin="exec"):
    first = lines[0]
    fields(first, ev="start", origin=origin, pid=run.pid, seq=0)
    check(isinstance(first.get("exe"), str) and first["exe"].startswith("/"), f"start.exe: {show(first)}")
    check(isinstance(first.get("argv"), list) and all(isinstance(a, str) for a in first["argv"]), f"start.argv: {show(first)}")
    check(isinstance(first.get("host"), str) and isinstance(first.get("lib"), str), f"start host/lib: {show(first)}")
    check(isinstance(first.get("ppid"), int), f"start.ppid: {show(first)}")
    return first


def conn_of(lines, fd, peer):
    """The connect event that opened the connection to peer on fd."""
    return only(lines, "connect", fd=fd, peer=peer)


class Run:
    """One program run: exit status, output, and the logs it left."""

    def __init__(self, argv, proc_pid, rc, stdout, stderr, cwd, logdir, t0, t1):
        self.argv, self.pid, self.rc = argv, proc_pid, rc
        self.stdout, self.stderr, self.cwd, self.logdir, self.t0, self.t1 = stdout, stderr, cwd, logdir, t0, t1

    def log_files(self):
        return sorted(glob.glob(os.path.join(self.logdir, "*")))

    def log(self, pid=None, name=None):
        """The log of process pid (default: the program itself) in the log directory: NAME.PID.jsonl,
        NAME the program's file name."""
        pid = self.pid if pid is None else pid
        path = os.path.join(self.logdir, f"{name or os.path.basename(self.argv[0])}.{pid}.jsonl")
        check(os.path.exists(path), f"expected the log file {path}, found {self.log_files()}")
        return load_log(path, self.t0, self.t1)

    def all_logs(self):
        return {p: load_log(p, self.t0, self.t1) for p in self.log_files()}

    def expect_rc(self, rc):
        if self.rc != rc:
            def say(c):
                return f"killed by {signal.Signals(-c).name}" if c < 0 else f"exit {c}"
            raise Fail(f"{' '.join(self.argv)}: expected {say(rc)}, seen {say(self.rc)}\n"
                       f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")

    def out_lines(self):
        return self.stdout.splitlines()


class Ctx:
    """Per-case scratch space and the way programs are started."""

    def __init__(self, lib, bindir):
        self.lib, self.bindir = lib, bindir
        self.tmp = tempfile.mkdtemp(prefix="rswcheck.")
        self.count = 0

    def prog(self, name):
        path = os.path.join(self.bindir, name)
        check(os.access(path, os.X_OK), f"test program {path} not built")
        return path

    def env(self, preload, extra, logdir):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RSTWATCH_") and k != "LD_PRELOAD"}
        if preload:
            env["LD_PRELOAD"] = self.lib
            env["RSTWATCH_LOG"] = logdir
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def fresh_dir(self):
        self.count += 1
        cwd = os.path.join(self.tmp, f"run{self.count}")
        logdir = os.path.join(cwd, "logs")
        os.makedirs(logdir)
        return cwd, logdir

    def run(self, name, *args, preload=True, env=None, sigpipe_ignored=False, timeout=20, quiet=True):
        """Runs bindir/name (or an absolute path) in a fresh directory; stdout and stderr go to
        regular files (so the library does not watch them); RSTWATCH_LOG is the run's log dir."""
        cwd, logdir = self.fresh_dir()
        argv = [name if os.path.isabs(name) else self.prog(name)] + list(args)
        out_path, err_path = os.path.join(cwd, "stdout"), os.path.join(cwd, "stderr")

        def pre():
            if sigpipe_ignored:
                signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        t0 = time.time_ns()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, cwd=cwd, env=self.env(preload, env, logdir), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, preexec_fn=pre, restore_signals=not sigpipe_ignored)
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise Fail(f"{' '.join(argv)}: still running after {timeout} s")
        t1 = time.time_ns()
        with open(out_path, encoding="utf-8", errors="replace") as f:
            stdout = f.read()
        with open(err_path, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        run = Run(argv, proc.pid, rc, stdout, stderr, cwd, logdir, t0, t1)
        if rc == 99:
            raise Fail(f"{' '.join(argv)}: the test program's own setup failed:\n{stderr}")
        if rc == 77:
            raise Skip(stderr.strip() or f"{name} skipped")
        if not preload:
            check(run.log_files() == [], f"run without the preload left logs: {run.log_files()}")
        elif quiet and not (env and any(k.startswith("RSTWATCH_") and k != "RSTWATCH_LOG" for k in env)):
            check("rstwatch:" not in stderr, f"{' '.join(argv)}: unexpected rstwatch message on stderr:\n{stderr}")
        return run

    def both(self, name, *args, **kw):
        """Runs with and without the preload; the exit status and the (normalized) output must match."""
        bare = self.run(name, *args, preload=False, **kw)
        watched = self.run(name, *args, **kw)
        if watched.rc != bare.rc:
            raise Fail(f"{name} {' '.join(args)}: exit status {watched.rc} under the preload, {bare.rc} without"
                       f"\nstdout under the preload:\n{watched.stdout}\nstderr:\n{watched.stderr}")
        if normalize(watched.stdout) != normalize(bare.stdout):
            import difflib
            diff = "".join(difflib.unified_diff(normalize(bare.stdout).splitlines(True),
                                                normalize(watched.stdout).splitlines(True),
                                                "without preload", "with preload"))
            raise Fail(f"{name} {' '.join(args)}: output differs under the preload:\n{diff}")
        return watched, bare

    def cleanup(self, keep):
        if keep:
            print(f"rswcheck: runs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
