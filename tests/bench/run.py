#!/usr/bin/env python3
"""run.py: rstwatch's benchmarks. Run it through build/tests/bench/run-bench (--help: sizes;
--only PART,PART; --quick: tiny sizes, checks that every part works and measures nothing).

Every part prints figures and ratios to a baseline, never a verdict on speed. The run exits
non-zero only when a workload itself fails (a program exits badly, a server does not start, a
client reports errors) or a log check fails. Measured variants alternate, A B C A B C …, and the
median of --runs is printed (default 7 for overhead and errcost, 3 for storm, churn and servers).
The timed programs of overhead, errcost, churn and servers share one CPU (--no-pin: all CPUs), as
across this VM's two CPUs slow wakeups make a baseline vary by up to a factor of two from run to
run; storm runs on all CPUs, to reach as many resets a second as the machine allows.
Before anything is measured, the programs the chosen parts need are looked for; as root, missing
Debian packages are installed with apt-get, otherwise the run stops with one `rstwatch-bench:` line.

Parts, in the order they run:
  overhead  the hot path: TCP and UNIX ping-pong, TCP bulk (bench_net.c), without the preload, with
            it, with RSTWATCH_EVENTS=all and under strace -f; wall and CPU as ratios (one CPU).
  calls     instructions per successful hooked call (callgrind), next to a minimal interposer.
  errcost   the cost of one error event. bench_errcost.c fails 40 frames deep (ECONNRESET on each of
            K reset connections; EPIPE N times on one): without the preload, with it (storm control
            at its default RSTWATCH_RATE), with RSTWATCH_RATE=0 (every event written) and with
            RSTWATCH_BACKTRACE=0. Then a real program: Debian's python3 (/usr/bin/python3, symlink
            resolved) making --connects refused connect()s to a loopback port that is bound but not
            listening, µs per connect and the µs the preload adds. Log check, exact: the error lines
            written + the `count` of the `suppressed` lines of that errno == the failing calls; every
            written error carries its backtrace, inline ("bt") or as a "stack" id whose `stack` line
            holds the frames (32 for bench_errcost, at least one for python3, none with
            RSTWATCH_BACKTRACE=0).
  storm     a reset storm (bench_storm.c), on all CPUs: one epoll server process; --storm-clients client
            processes (never preloaded, at nice 10 so that the server keeps up and its accept queue
            never overflows) connect, send 8 B and close with SO_LINGER {1, 0}, so the server's next
            read fails ECONNRESET. For --storm-seconds: resets the server handled per second without
            the preload, with it, with RSTWATCH_RATE=0 and (for scale) under strace -f, server CPU
            per reset, log bytes written per second. Log check, exact: written ECONNRESET errors +
            their `suppressed` counts == the resets the server counted; skipped with a note for a
            preload that predates storm control (no `suppressed` line and fewer errors than resets).
  churn     connection churn: nginx (master + 1 worker) serving a small file to
            wrk -t2 -c32 -H 'Connection: close' (one connection per request) for --wrk-seconds:
            requests/s without the preload, with it (default RSTWATCH_EVENTS) and with
            RSTWATCH_EVENTS=conn, log MB/s. Log check: in conn mode an accept line for every request
            completed; in the default mode, where the preload writes `tally` lines, the clean
            connections they count + those logged one by one cover every request completed.
  servers   real servers, each started afresh per run: nginx (1 worker) under wrk -t2 -c32 keep-alive
            (requests/s); redis-server under redis-benchmark -q -n --redis-requests -t get,set (ops/s
            of each; the client is never preloaded); PostgreSQL, initdb'ed afresh and filled once by
            pgbench -i, under pgbench -n -S -c4 -T --pgbench-seconds over 127.0.0.1 (tps; postmaster
            and its forked backends preloaded). Variants: without, librstwatch.so (default mode),
            strace -f -e trace=network,read,write -o /dev/null on the server (for scale). Log check:
            every preloaded server wrote its log.
  analyzer  rstwatch report throughput and peak RSS on 1 M generated events, next to jq.
"""

import argparse
import glob
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402

PARTS = ("overhead", "calls", "errcost", "storm", "churn", "servers", "analyzer")
DEFAULT_RUNS = {"overhead": 7, "errcost": 7, "storm": 3, "churn": 3, "servers": 3}
TARGET_INSTR = 25
ROUNDS = 5  # bench_errcost.c: rounds per run
PY = "/usr/bin/python3"  # Debian's interpreter, not whatever python3 comes first in PATH (a pyenv shim)
NGINX = "/usr/sbin/nginx"
REDIS = "/usr/bin/redis-server"
REDIS_BENCH = "/usr/bin/redis-benchmark"
PG_USER = "postgres"
STRACE = ["strace", "-f", "-o", "/dev/null", "-e", "trace=network,read,write"]


def pg_bin():
    """The newest /usr/lib/postgresql/N/bin (Debian 12: 15)."""
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs.sort(key=lambda d: int(re.sub(r"\D", "", d.split("/")[3]) or 0))
    return dirs[-1] if dirs else "/usr/lib/postgresql/15/bin"


def needs(part):
    """(program, Debian package) pairs a part cannot run without."""
    pg = pg_bin()
    return {"errcost": [(PY, "python3")],
            "churn": [(NGINX, "nginx-light"), ("wrk", "wrk")],
            "servers": [(NGINX, "nginx-light"), ("wrk", "wrk"), (REDIS, "redis-server"), (REDIS_BENCH, "redis-tools"),
                        (f"{pg}/initdb", "postgresql"), (f"{pg}/postgres", "postgresql"),
                        (f"{pg}/pgbench", "postgresql")]}.get(part, [])


# Wanted for a column "for scale" only: without it (and no way to install it), that column is left out.
OPTIONAL = {"storm": [("strace", "strace")], "servers": [("strace", "strace")]}


def found(prog):
    return os.access(prog, os.X_OK) if os.path.isabs(prog) else shutil.which(prog) is not None


def fail(msg):
    """A workload or a log check failed: one line (or a few), then exit 1 (cleanup runs)."""
    sys.exit(f"rstwatch-bench: {msg}")


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Linux {os.uname().release}"


def spawn(argv, env=None, stdout=None, stderr=None):
    """Runs argv; returns (exit status, wall s, cpu s, peak RSS KiB) of it and its descendants.
    The peak RSS is only meaningful through peak_rss(): a spawned child starts out sharing this
    Python process's memory, and the kernel counts that too."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [(os.POSIX_SPAWN_OPEN, 1, stdout or os.devnull, flags, 0o644)]
    if stderr:
        actions.append((os.POSIX_SPAWN_OPEN, 2, stderr, flags, 0o644))
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env if env is not None else os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def peak_rss(argv, env, tmp):
    """(exit status, wall s, peak RSS KiB) of argv, measured by GNU time (/usr/bin/time -v)."""
    out = os.path.join(tmp, "time.out")
    rc, wall, _, _ = spawn(["/usr/bin/time", "-v", "-o", out] + argv, env)
    with open(out) as f:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
    return rc, wall, int(m.group(1)) if m else 0


def must(rc, argv):
    if rc != 0:
        sys.exit(f"rstwatch-bench: {' '.join(argv)} exited with {rc}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]




def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def tail(path, n=600):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip().replace("\n", " | ")
    except OSError:
        return ""


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(x, base):
    return x / base if base else float("nan")


# Fast reading of big logs (the preload writes compact JSON, one object a line); see read_errors.
EV_KIND = re.compile(rb'"ev":"(\w+)"')
ERRNO_F = re.compile(rb'"errno":"(\w+)"')
PID_F = re.compile(rb'"pid":(\d+)')
STACK_F = re.compile(rb'"stack":(\d+)')
ERR_SAMPLE = 50


class Server:
    """A server started in its own session (killed at the end of the run if still there). Under
    strace, `pid` is the traced program's (strace's child), so signals reach the server itself."""

    def __init__(self, bench, argv, env, tag, traced=False, user=None):
        self.tag, self.traced = tag, traced
        kw = {}
        if traced:
            argv = STRACE + (["-u", user] if user and os.geteuid() == 0 else []) + argv
        elif user and os.geteuid() == 0:
            pw = pwd.getpwnam(user)
            kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        self.out, self.err = bench.path(f"{tag}.out"), bench.path(f"{tag}.err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                      start_new_session=True, cwd=bench.tmp, **kw)
        bench.procs.append(self.p)
        self.argv = argv
        self.pid = self.p.pid
        if traced:
            self.pid = self.until(lambda: (children(self.p.pid) or [None])[0], 10, "strace to start it")

    def alive(self):
        if self.p.poll() is not None:
            fail(f"{self.tag}: exited with {self.p.returncode} while starting: {tail(self.err)} {tail(self.out)}")

    def until(self, cond, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.alive()
            v = cond()
            if v:
                return v
            time.sleep(0.01)
        fail(f"{self.tag}: timed out after {timeout} s waiting for {what}")

    def wait_port(self, port, timeout=20):
        self.until(lambda: rswtest.listening(port), timeout, f"it to listen on 127.0.0.1:{port}")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops it with sig; fails unless it exits with status 0."""
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            fail(f"{self.tag}: still running {timeout} s after {signal.Signals(sig).name}")
        if rc != 0:
            fail(f"{self.tag}: exited with {rc} after {signal.Signals(sig).name}: {tail(self.err)}")


class Bench:
    def __init__(self, a):
        self.a = a
        self.bindir = a.bindir
        self.tmp = tempfile.mkdtemp(prefix="rsw-bench-")
        os.chmod(self.tmp, 0o755)  # servers that drop privileges (nginx workers, postgres) read below it
        self.results = []  # (label, value) lines for the summary
        self.procs = []  # servers started, killed at the end if still running
        self.have_strace = shutil.which("strace") is not None
        self.nlog = 0
        self.pg = None
        self.timings = []  # (part, seconds)

    def exe(self, name):
        return os.path.join(self.bindir, name)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def runs(self, part):
        return self.a.runs or DEFAULT_RUNS[part]

    def logdir(self):
        d = os.path.join(self.tmp, "logs")
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
        return d

    def server_logdir(self, mode=0o755, owner=None):
        """A fresh log directory for one server run (the previous one is removed)."""
        self.nlog += 1
        shutil.rmtree(self.path(f"slogs{self.nlog - 1}"), ignore_errors=True)
        d = self.path(f"slogs{self.nlog}")
        os.mkdir(d)
        os.chmod(d, mode)
        if owner:
            os.chown(d, *owner)
        return d

    def env(self, preload, **extra):
        if preload:
            return rswtest.watched_env(preload, **{"RSTWATCH_LOG": self.logdir(), **extra})
        return rswtest.watched_env(None, **extra)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- what the parts need ----------------------------------------------------------------
    def setup(self, parts):
        """Every program the chosen parts need is there, installed now if need be (root: apt-get);
        otherwise one line and exit. A program wanted only for scale (strace) may be left out."""
        missing = {}  # package -> [programs]
        for part in parts:
            for prog, pkg in needs(part) + OPTIONAL.get(part, []):
                if not found(prog):
                    missing.setdefault(pkg, []).append(prog)
        if missing:
            self.install(sorted(missing))
        for part in parts:
            absent = [(prog, pkg) for prog, pkg in needs(part) if not found(prog)]
            if absent:
                how = (f"apt-get did not install them (its last words: {tail(self.path('apt.log'), 200)})"
                       if self.can_install() else "not installed (as root, this run installs them with apt-get)")
                pkgs = sorted({k for _, k in absent})
                fail(f"{part} needs {', '.join(p for p, _ in absent)} (Debian package{'s' if len(pkgs) > 1 else ''} "
                     f"{' '.join(pkgs)}): {how}")
        self.have_strace = shutil.which("strace") is not None
        if not self.have_strace and any(p in OPTIONAL for p in parts):
            print("rstwatch-bench: strace not installed: its column is left out of storm and servers")

    def can_install(self):
        return os.geteuid() == 0 and shutil.which("apt-get") is not None

    def install(self, pkgs):
        if not self.can_install():
            return
        print(f"rstwatch-bench: installing {' '.join(pkgs)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        with open(self.path("apt.log"), "ab") as log:
            cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + pkgs
            if subprocess.run(cmd, env=env, stdout=log, stderr=log).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], env=env, stdout=log, stderr=log)
                subprocess.run(cmd, env=env, stdout=log, stderr=log)

    def where(self):
        return "all CPUs" if self.a.no_pin else "server and client on one CPU"

    def pinned(self):
        """Context for the timed workloads: on one CPU (unless --no-pin), so that both processes of a
        ping-pong always switch on the same CPU; across CPUs, a VM's wakeups are slow and their mix
        changes from run to run (a baseline from 4.8 s to 9 s), which drowns what is measured here. The
        same holds for the real servers and their clients (redis-benchmark: 37 000 to 88 000 SET/s
        across CPUs, within 2 % on one)."""
        bench = self

        class Pin:
            def __enter__(self):
                self.saved = os.sched_getaffinity(0)
                if not bench.a.no_pin:
                    os.sched_setaffinity(0, {max(self.saved)})

            def __exit__(self, *exc):
                os.sched_setaffinity(0, self.saved)
        return Pin()

    # ---- (1) hot-path overhead, side by side ----------------------------------------------
    def overhead(self):
        with self.pinned():
            self.overhead_pinned()

    def overhead_pinned(self):
        a = self.a
        variants = [
            ("baseline", lambda argv: (argv, self.env(None))),
            ("rstwatch", lambda argv: (argv, self.env(a.lib))),
            ("rstwatch all", lambda argv: (argv, self.env(a.lib, RSTWATCH_EVENTS="all"))),
            ("strace", lambda argv: (["strace", "-f", "-e", "trace=network,read,write", "-o", "/dev/null"]
                                     + argv, self.env(None))),
        ]
        if not shutil.which("strace"):
            print("rstwatch-bench: strace not installed: its column is left out")
            variants.pop()
        workloads = [
            (f"tcp ping-pong, {a.rounds} x 64 B", ["tcp-pingpong", str(a.rounds)]),
            (f"tcp bulk, {a.bulk_mib} MiB", ["tcp-bulk", str(a.bulk_mib << 20)]),
            (f"unix socketpair ping-pong, {a.rounds} x 64 B", ["unix-pingpong", str(a.rounds)]),
        ]
        where = "all CPUs" if a.no_pin else "both processes on one CPU"
        print(f"\n== overhead: median of {self.runs('overhead')} alternating runs, {where}; ratio = variant / baseline ==")
        for title, wargs in workloads:
            samples = {name: ([], []) for name, _ in variants}
            for _ in range(self.runs('overhead')):
                for name, make in variants:  # A B C D A B C D ...
                    argv, env = make([self.exe("bench_net")] + wargs)
                    rc, wall, cpu, _ = spawn(argv, env)
                    must(rc, argv)
                    if name.startswith("rstwatch") and not glob.glob(os.path.join(env["RSTWATCH_LOG"], "*.jsonl")):
                        sys.exit("rstwatch-bench: the preloaded run wrote no log: is the preload working?")
                    samples[name][0].append(wall)
                    samples[name][1].append(cpu)
            base_w = statistics.median(samples["baseline"][0])
            base_c = statistics.median(samples["baseline"][1])
            print(f"\n{title}")
            print(f"  {'variant':<14}{'wall s':>9}{'cpu s':>9}{'wall x':>9}{'cpu x':>9}   wall min-max")
            for name, _ in variants:
                ws = samples[name][0]
                w, c = statistics.median(ws), statistics.median(samples[name][1])
                print(f"  {name:<14}{w:9.3f}{c:9.3f}{w / base_w:9.3f}{c / base_c:9.3f}   "
                      f"{min(ws):.3f}-{max(ws):.3f}")
                if name != "baseline":
                    self.results.append((f"{title}: {name} wall/cpu ratio", f"{w / base_w:.3f} / {c / base_c:.3f}"))

    # ---- (2) instructions per successful hooked call ------------------------------------
    def callgrind_ir(self, preload):
        out = os.path.join(self.tmp, "callgrind.out")
        env = self.env(preload)
        argv = ["valgrind", "--tool=callgrind", "--toggle-collect=rsw_bench_measured",
                f"--callgrind-out-file={out}", self.exe("bench_calls"), str(self.a.calls)]
        rc, *_ = spawn(argv, env, stdout=os.path.join(self.tmp, "valgrind.stdout"),
                       stderr=os.path.join(self.tmp, "valgrind.stderr"))
        must(rc, argv)
        with open(out) as f:
            m = re.search(r"^(?:totals|summary): (\d+)", f.read(), re.M)
        if not m:
            sys.exit("rstwatch-bench: no totals line in the callgrind output")
        return int(m.group(1)), out

    def calls(self):
        n = self.a.calls
        print(f"\n== instructions per successful hooked call (callgrind, {n} write+read pairs "
              "on a socketpair, 64 B each) ==")
        if not shutil.which("valgrind"):
            print("rstwatch-bench: valgrind not installed: skipped")
            return
        base, _ = self.callgrind_ir(None)
        rows = [("pass-through interposer (counts bytes only)", os.path.join(self.bindir, "libbench_passthru.so")),
                ("librstwatch.so, default mode", self.a.lib)]
        print(f"  without preload: {base} Ir in the measured loop ({base / (2 * n):.1f} per call)")
        for title, lib in rows:
            ir, out = self.callgrind_ir(lib)
            per = (ir - base) / (2 * n)
            print(f"  {title}: {ir} Ir, +{per:.1f} instructions per call")
            self.results.append((f"instructions added per call: {title}", f"{per:.1f}"))
            if lib == self.a.lib:
                verdict = "within" if per <= TARGET_INSTR else "ABOVE"
                print(f"  librstwatch.so: {per:.1f} instructions per call, {verdict} the target of {TARGET_INSTR}")
                if per > TARGET_INSTR or self.a.verbose:
                    subprocess.run(["callgrind_annotate", "--inclusive=no", out], check=False)

    # ---- (3) cost of one error event ----------------------------------------------------
    def errcost(self):
        with self.pinned():
            self.errcost_pinned()
            self.errcost_python()

    def errcost_variants(self, frames):
        """(name, preload, extra env, backtrace frames every written error must carry)."""
        lib = self.a.lib
        return [("without", None, {}, None),
                ("rstwatch", lib, {}, frames),
                ("rstwatch, RSTWATCH_RATE=0", lib, {"RSTWATCH_RATE": "0"}, frames),
                ("rstwatch, RSTWATCH_BACKTRACE=0", lib, {"RSTWATCH_BACKTRACE": "0"}, 0)]

    def errcost_pinned(self):
        a = self.a
        runs = self.runs("errcost")
        print(f"\n== cost of one error event (32-frame backtrace; median of {runs} alternating runs, "
              f"each the median of {ROUNDS} rounds) ==")
        print("  rstwatch = the default storm control (at most RSTWATCH_RATE events a second per call site "
              "written, the rest counted in `suppressed` lines); RSTWATCH_RATE=0 writes every event")
        cases = [(f"ECONNRESET: read on a reset connection, {a.resets} connections", ["reset", str(a.resets)],
                  "ECONNRESET", a.resets),
                 (f"EPIPE: write on a reset connection, {a.epipes} times", ["epipe", str(a.epipes)],
                  "EPIPE", a.epipes)]
        variants = self.errcost_variants(32)
        for title, wargs, errno_name, count in cases:
            ns = {v[0]: [] for v in variants}
            logged = {}
            for _ in range(runs):
                for name, lib, extra, frames in variants:
                    env = self.env(lib, **extra)
                    argv = [self.exe("bench_errcost")] + wargs
                    out = os.path.join(self.tmp, "errcost.out")
                    rc, *_ = spawn(argv, env, stdout=out)
                    must(rc, argv)
                    with open(out) as f:
                        ns[name].append(int(f.read()))
                    if lib:
                        logged[name] = self.check_error_log(env["RSTWATCH_LOG"], errno_name, count * ROUNDS, frames)
            base = statistics.median(ns["without"])
            print(f"\n{title}")
            print(f"  without the preload: {base / 1000:.2f} us per failing call")
            for name, lib, _, _ in variants[1:]:
                m = statistics.median(ns[name])
                w, s = logged[name]
                print(f"  {name}: {m / 1000:.2f} us per call, {(m - base) / 1000:.2f} us per event; "
                      f"log of the last run: {w} error lines written, {s} suppressed")
                self.results.append((f"error event cost, {errno_name}, {name}", f"{(m - base) / 1000:.2f} us"))

    PY_REFUSED = """import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
addr = ("127.0.0.1", port)
t0 = time.perf_counter_ns()
for i in range(n):
    s = socket.socket()
    try:
        s.connect(addr)
    except ConnectionRefusedError:
        pass
    else:
        sys.exit(f"connect #{i} to {addr} was not refused")
    s.close()
print((time.perf_counter_ns() - t0) / n)
"""

    def errcost_python(self):
        """A real program: Debian's python3 making refused connect()s (connect, error, close)."""
        a = self.a
        runs = self.runs("errcost")
        py = os.path.realpath(PY)
        script = self.path("refused.py")
        with open(script, "w") as f:
            f.write(self.PY_REFUSED)
        closed = socket.socket()  # bound, never listening: a connect to it is refused (RST); no one else can listen there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        variants = self.errcost_variants("some")
        ns = {v[0]: [] for v in variants}
        logged = {}
        try:
            for _ in range(runs):
                for name, lib, extra, frames in variants:
                    env = self.env(lib, **extra)
                    argv = [py, "-I", script, str(port), str(a.connects)]
                    out, err = self.path("python.out"), self.path("python.err")
                    rc, *_ = spawn(argv, env, stdout=out, stderr=err)
                    if rc != 0:
                        fail(f"{' '.join(argv)} exited with {rc}: {tail(err)}")
                    with open(out) as f:
                        ns[name].append(float(f.read()))
                    if lib:
                        logged[name] = self.check_error_log(env["RSTWATCH_LOG"], "ECONNREFUSED", a.connects, frames)
        finally:
            closed.close()
        base = statistics.median(ns["without"]) / 1000
        print(f"\npython3 ({py}): {a.connects} refused connect()s to 127.0.0.1:{port} (bound, not listening), "
              f"a socket each; median of {runs} alternating runs")
        print(f"  without the preload: {base:.1f} us per connect")
        for name, lib, _, _ in variants[1:]:
            m = statistics.median(ns[name]) / 1000
            w, s = logged[name]
            print(f"  {name}: {m:.1f} us per connect, +{m - base:.1f} us; "
                  f"log of the last run: {w} error lines written, {s} suppressed")
            self.results.append((f"python3 refused connect, {name}", f"{m:.1f} us ({m - base:+.1f} us)"))

    def read_errors(self, logdir, errno_name):
        """The error lines of errno_name in every log of logdir: (the backtrace frames of each written one,
        the sum of `count` over the `suppressed` lines of that errno, how many such lines). A frame count
        comes from the inline "bt", or from the `stack` line of the same process its "stack" id names.
        Error lines are read by a fast path (a 175 MB log of 100 000 lines in 0.6 s instead of 2 s);
        one in ERR_SAMPLE, and any it cannot read, is parsed as JSON too and must agree with it."""
        stacks = {}  # (file, pid, id) -> frames
        errors = []  # (file, pid, frames of an inline bt or None, stack id or None)
        suppressed = nsup = seen = 0
        want = errno_name.encode()
        files = glob.glob(os.path.join(logdir, "*.jsonl"))
        if not files:
            fail(f"the preloaded run wrote no log in {logdir}: is the preload working?")
        for path in files:
            name = os.path.basename(path)

            def parse(raw, no):
                try:
                    ev = json.loads(raw)
                except ValueError:
                    ev = None
                if not isinstance(ev, dict):
                    fail(f"{name}:{no}: not a JSON object: {raw[:200]!r}")
                return ev
            with open(path, "rb") as f:
                for no, raw in enumerate(f, 1):
                    m = EV_KIND.search(raw)
                    kind = m.group(1) if m else str(parse(raw, no).get("ev")).encode()
                    if kind == b"error":
                        em = ERRNO_F.search(raw)
                        if em and em.group(1) != want:
                            continue
                        seen += 1
                        fast = None
                        pm = PID_F.search(raw)
                        if em and pm and raw.endswith(b"}\n"):
                            sm = STACK_F.search(raw)
                            fast = (int(pm.group(1)), raw.count(b'{"ip":') if b'"bt":[' in raw else None,
                                    int(sm.group(1)) if sm else None)
                        if fast is None or seen % ERR_SAMPLE == 1:
                            ev = parse(raw, no)
                            if ev.get("errno") != errno_name:
                                continue
                            bt = ev.get("bt")
                            exact = (ev.get("pid"), len(bt) if isinstance(bt, list) else None, ev.get("stack"))
                            if fast is not None and fast != exact:
                                fail(f"{name}:{no}: read as (pid, frames, stack) {fast}, as JSON {exact}: {raw[:300]!r}")
                            fast = exact
                        errors.append((path,) + fast)
                    elif kind == b"stack":
                        ev = parse(raw, no)
                        stacks[(path, ev.get("pid"), ev.get("id"))] = len(ev.get("bt") or [])
                    elif kind == b"suppressed":
                        ev = parse(raw, no)
                        if ev.get("of") != "error" or ev.get("errno") != errno_name:
                            continue
                        count = ev.get("count")
                        if type(count) is not int or count < 0:
                            fail(f"{name}:{no}: suppressed line without a count: {raw[:300]!r}")
                        suppressed += count
                        nsup += 1
        frames = []
        for path, pid, nbt, sid in errors:
            if nbt is not None:
                frames.append(nbt)
            elif sid is not None:
                if (path, pid, sid) not in stacks:
                    fail(f"{os.path.basename(path)}: an {errno_name} error line of pid {pid} names stack {sid}, "
                         "which no stack line of that process defines")
                frames.append(stacks[(path, pid, sid)])
            else:
                frames.append(0)
        return frames, suppressed, nsup

    def check_error_log(self, logdir, errno_name, want, frames):
        """Every one of the `want` failing calls is in the log, exactly: written as an error line or counted
        in a suppressed line; each written one with `frames` backtrace frames ("some": at least one).
        Returns (written, suppressed)."""
        got, suppressed, nsup = self.read_errors(logdir, errno_name)
        if len(got) + suppressed != want:
            fail(f"{want} calls failed with {errno_name}, the log accounts for {len(got) + suppressed}: "
                 f"{len(got)} error lines + {suppressed} suppressed (in {nsup} suppressed lines)")
        bad = [n for n in got if (n < 1 if frames == "some" else n != frames)]
        if bad:
            what = "a backtrace" if frames == "some" else f"{frames} backtrace frames"
            fail(f"{len(bad)} of {len(got)} {errno_name} error lines without {what}, e.g. {bad[0]} frames")
        return len(got), suppressed

    # ---- (4) reset storm --------------------------------------------------------------------
    def storm(self):
        a = self.a
        runs = self.runs("storm")
        variants = [("baseline", None, {}, False),
                    ("rstwatch", a.lib, {}, False),
                    ("rstwatch, RSTWATCH_RATE=0", a.lib, {"RSTWATCH_RATE": "0"}, False),
                    ("strace -f", None, {}, True)]
        if not self.have_strace:
            variants.pop()
        print(f"\n== storm: one server process (bench_storm.c, epoll) reads until ECONNRESET; {a.storm_clients} "
              f"client processes (never preloaded) connect, send 8 B, close with SO_LINGER {{1, 0}}; "
              f"{a.storm_seconds:g} s from the first connection; median of {runs} alternating runs ==")
        res = {v[0]: [] for v in variants}
        for _ in range(runs):
            for v in variants:
                res[v[0]].append(self.storm_once(*v))
        base = med([r["rate"] for r in res["baseline"]])
        print(f"  {'variant':<28}{'resets/s':>10}{'x base':>8}{'srv cpu us/reset':>18}{'log MB/s':>10}"
              f"{'given up':>10}   log of the last run: errors written + suppressed = resets")
        for name, *_ in variants:
            rs = res[name]
            rate = med([r["rate"] for r in rs])
            cpu = med([r["cpu_per"] for r in rs])
            mbs = med([r["log_bps"] for r in rs]) / 1e6
            last = rs[-1]
            acct = last["acct"]
            logcol = f"{mbs:10.2f}" if acct != "-" else f"{'-':>10}"
            given_up = sum(r["given_up"] for r in rs)
            print(f"  {name:<28}{rate:10.0f}{ratio(rate, base):8.3f}{cpu:18.2f}{logcol}{given_up:10d}   {acct}")
            self.results.append((f"storm, {name}", f"{rate:.0f} resets/s ({ratio(rate, base):.3f} x baseline), "
                                                   f"{cpu:.2f} us server CPU per reset"
                                 + (f", log {mbs:.2f} MB/s" if acct != "-" else "")))
        spread = [r["rate"] for r in res["baseline"]]
        print(f"  baseline min-max: {min(spread):.0f}-{max(spread):.0f} resets/s. Server CPU: user + system of the "
              "server process, the loopback TCP work its system calls do included (strace's own too, under strace). "
              "Given up: client connects abandoned after 50 ms (a SYN dropped on a full accept queue), all runs")
        notes = {r["note"] for rs in res.values() for r in rs if r["note"]}
        for note in sorted(notes):
            print(f"  note: {note}")

    def storm_once(self, name, lib, extra, traced):
        a = self.a
        env = self.env(lib, **extra)
        argv = [self.exe("bench_storm"), "server", f"{a.storm_seconds:g}"]
        if traced:
            argv = STRACE + argv
        err = self.path("storm-server.err")
        with open(err, "wb") as e:
            p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=e,
                                 start_new_session=True, text=True)
        self.procs.append(p)
        ready, _, _ = select.select([p.stdout], [], [], 15)
        line = p.stdout.readline() if ready else ""
        m = re.fullmatch(r"port (\d+)\n", line)
        if not m:
            fail(f"storm ({name}): the server did not say its port ({line!r}): {tail(err)}")
        clients = []
        for i in range(a.storm_clients):
            with open(self.path(f"storm-client{i}.out"), "wb") as o, open(self.path(f"storm-client{i}.err"), "wb") as e:
                c = subprocess.Popen([self.exe("bench_storm"), "client", m.group(1)], env=self.env(None),
                                     stdin=subprocess.DEVNULL, stdout=o, stderr=e, start_new_session=True)
            self.procs.append(c)
            clients.append(c)
        out = p.stdout.read()  # until it exits: it stops by itself storm_seconds after its first connection
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        for i, c in enumerate(clients):
            try:
                c.wait(15)
            except subprocess.TimeoutExpired:
                fail(f"storm ({name}): client {i} still running 15 s after the server stopped")
            if c.returncode != 0:
                fail(f"storm ({name}): client {i} exited with {c.returncode}: {tail(self.path(f'storm-client{i}.err'))}")
        if p.returncode != 0:
            fail(f"storm ({name}): the server exited with {p.returncode}: {tail(err)}")
        given_up = 0
        for i in range(len(clients)):
            with open(self.path(f"storm-client{i}.out")) as f:
                cm = re.search(r"connects (\d+) timeouts (\d+)", f.read())
            if not cm:
                fail(f"storm ({name}): client {i} did not say how many connections it made")
            given_up += int(cm.group(2))
        m = re.search(r"resets (\d+) conns (\d+) eofs (\d+) others (\d+) open (\d+) elapsed_ns (\d+)", out)
        if not m:
            fail(f"storm ({name}): no counts from the server: {out!r}")
        resets, conns, eofs, others, _, elapsed = map(int, m.groups())
        if others or not resets:
            fail(f"storm ({name}): {resets} resets, {others} reads failed with another errno ({conns} connections)")
        secs = elapsed / 1e9
        r = {"rate": resets / secs, "cpu_per": (ru.ru_utime + ru.ru_stime) / resets * 1e6, "log_bps": 0.0,
             "acct": "-", "note": None, "given_up": given_up}
        if lib:
            logdir = env["RSTWATCH_LOG"]
            r["log_bps"] = sum(os.path.getsize(f) for f in glob.glob(os.path.join(logdir, "*"))) / secs
            frames, suppressed, nsup = self.read_errors(logdir, "ECONNRESET")
            written = len(frames)
            r["acct"] = f"{written} + {suppressed} = {written + suppressed} of {resets}"
            if nsup == 0 and written < resets:
                r["acct"] += " (not checked)"
                r["note"] = (f"{name}: no suppressed line and fewer ECONNRESET errors than resets: a preload from "
                             "before storm control (log v3), whose count cannot be checked")
            elif written + suppressed != resets:
                fail(f"storm ({name}): the server saw {resets} ECONNRESETs, its log accounts for "
                     f"{written + suppressed}: {written} error lines + {suppressed} suppressed ({nsup} suppressed lines)")
        return r

    # ---- nginx, shared by churn and servers -------------------------------------------------
    NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log /dev/null crit;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  keepalive_requests 100000000;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {d}/www;
  }}
}}
"""

    def nginx_start(self, env, traced=False):
        """nginx (master + 1 worker, foreground) on a free port, serving a 128-byte file; (Server, url)."""
        d = self.path("nginx")
        if not os.path.isdir(d):
            os.makedirs(os.path.join(d, "www"))
            os.chmod(d, 0o755)
            os.chmod(os.path.join(d, "www"), 0o755)
            with open(os.path.join(d, "www", "small.txt"), "w") as f:
                f.write("x" * 127 + "\n")
        port = free_port()
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self.NGINX_CONF.format(d=d, port=port))
        srv = Server(self, [NGINX, "-p", d + "/", "-c", conf, "-e", "/dev/null"], env, "nginx", traced)
        srv.wait_port(port)
        srv.until(lambda: children(srv.pid), 10, "its worker")
        return srv, f"http://127.0.0.1:{port}/small.txt"

    def wrk(self, url, close):
        """wrk -t2 -c32 for --wrk-seconds (never preloaded); (requests/s, requests completed)."""
        argv = ["wrk", "-t2", "-c32", f"-d{self.a.wrk_seconds}s"] + (["-H", "Connection: close"] if close else []) + [url]
        out, err = self.path("wrk.out"), self.path("wrk.err")
        rc, *_ = spawn(argv, self.env(None), stdout=out, stderr=err)
        with open(out) as f:
            text = f.read()
        rps = re.search(r"Requests/sec:\s*([\d.]+)", text)
        done = re.search(r"(\d+) requests in", text)
        if rc != 0 or not rps or not done:
            fail(f"{' '.join(argv)} exited with {rc}: {text[-400:]!r} {tail(err)}")
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        if bad:
            fail(f"{' '.join(argv)}: {bad.group(1)} responses were not 200")
        errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        if errs and sum(map(int, errs.groups())) > int(done.group(1)) // 100:
            fail(f"{' '.join(argv)}: socket errors in more than 1 % of {done.group(1)} requests: {errs.group(0)}")
        return float(rps.group(1)), int(done.group(1))

    @staticmethod
    def log_kinds(logdir):
        """({ev kind: lines} over every log of logdir, conns of its server-role tally lines, bytes)."""
        kinds, tally, size = {}, 0, 0
        for path in glob.glob(os.path.join(logdir, "*")):
            size += os.path.getsize(path)
            with open(path, "rb") as f:
                for no, raw in enumerate(f, 1):
                    m = EV_KIND.search(raw)
                    if m:
                        kind = m.group(1).decode()
                    else:
                        try:
                            kind = str(json.loads(raw).get("ev"))
                        except ValueError:
                            fail(f"{os.path.basename(path)}:{no}: not JSON: {raw[:200]!r}")
                    kinds[kind] = kinds.get(kind, 0) + 1
                    if kind == "tally":
                        ev = json.loads(raw)
                        if ev.get("role") == "server":
                            tally += int(ev.get("conns", 0))
        return kinds, tally, size

    # ---- (5) connection churn: nginx, one connection per request ------------------------------
    def churn(self):
        with self.pinned():
            self.churn_pinned()

    def churn_pinned(self):
        a = self.a
        runs = self.runs("churn")
        variants = [("baseline", None, {}), ("rstwatch", a.lib, {}),
                    ("rstwatch, RSTWATCH_EVENTS=conn", a.lib, {"RSTWATCH_EVENTS": "conn"})]
        print(f"\n== churn: nginx (1 worker) serving 128 B, wrk -t2 -c32 -d{a.wrk_seconds}s -H 'Connection: close' "
              f"(a connection per request), {self.where()}; median of {runs} alternating runs ==")
        res = {v[0]: [] for v in variants}
        for _ in range(runs):
            for name, lib, extra in variants:
                logdir = self.server_logdir(0o777) if lib else None  # workers run as nobody: their own files
                env = rswtest.watched_env(lib, **({"RSTWATCH_LOG": logdir} if lib else {}), **extra)
                srv, url = self.nginx_start(env)
                rps, done = self.wrk(url, close=True)
                srv.stop()
                r = {"rps": rps, "mbs": 0.0, "log": "-"}
                if lib:
                    kinds, tally, size = self.log_kinds(logdir)
                    r["mbs"] = size / a.wrk_seconds / 1e6
                    accepts = kinds.get("accept", 0)
                    r["log"] = (f"{sum(kinds.values())} lines: {accepts} accept, {kinds.get('error', 0)} error, "
                                f"{kinds.get('tally', 0)} tally ({tally} conns); {done} requests")
                    if extra.get("RSTWATCH_EVENTS") == "conn" and accepts < done:
                        fail(f"churn ({name}): {done} requests completed, nginx's log has {accepts} accept lines")
                    if "tally" in kinds and tally + accepts < done:
                        fail(f"churn ({name}): {done} requests completed, nginx's log counts {tally} clean "
                             f"connections in tally lines + {accepts} accept lines")
                    if not kinds.get("start"):
                        fail(f"churn ({name}): nginx's log has no start line: is the preload working?")
                res[name].append(r)
        base = med([r["rps"] for r in res["baseline"]])
        print(f"  {'variant':<32}{'requests/s':>11}{'x base':>8}{'log MB/s':>10}   log of the last run")
        for name, *_ in variants:
            rps = med([r["rps"] for r in res[name]])
            mbs = med([r["mbs"] for r in res[name]])
            logcol = f"{mbs:10.2f}" if name != "baseline" else f"{'-':>10}"
            print(f"  {name:<32}{rps:11.0f}{ratio(rps, base):8.3f}{logcol}   {res[name][-1]['log']}")
            self.results.append((f"churn, {name}", f"{rps:.0f} requests/s ({ratio(rps, base):.3f} x baseline)"
                                 + (f", log {mbs:.2f} MB/s" if name != "baseline" else "")))

    # ---- (6) real servers side by side ----------------------------------------------------------
    def servers(self):
        with self.pinned():
            self.servers_pinned()

    def servers_pinned(self):
        a = self.a
        runs = self.runs("servers")
        variants = [("baseline", None, False), ("rstwatch", a.lib, False), ("strace -f", None, True)]
        if not self.have_strace:
            variants.pop()
        print(f"\n== servers: real servers, started afresh per run, only the server preloaded or traced "
              f"(strace -f -e trace=network,read,write -o /dev/null), {self.where()}; "
              f"median of {runs} alternating runs ==")
        workloads = [(f"nginx (1 worker), wrk -t2 -c32 -d{a.wrk_seconds}s keep-alive, 128 B", self.srv_nginx,
                      ("requests/s",)),
                     (f"redis-server, redis-benchmark -q -n {a.redis_requests} -t get,set (50 clients)", self.srv_redis,
                      ("SET ops/s", "GET ops/s")),
                     (f"postgres, pgbench -n -S -c4 -T{a.pgbench_seconds} over 127.0.0.1", self.srv_pg, ("tps",))]
        for title, fn, metrics in workloads:
            t0 = time.monotonic()
            res = {v[0]: [] for v in variants}
            for _ in range(runs):
                for name, lib, traced in variants:
                    res[name].append(fn(lib, traced))
            print(f"\n{title}  ({time.monotonic() - t0:.0f} s)")
            print(f"  {'variant':<12}" + "".join(f"{m:>12}{'x base':>8}" for m in metrics) + "   log of the last run")
            for name, lib, _ in variants:
                row, summ = f"  {name:<12}", []
                for m in metrics:
                    v = med([r[m] for r in res[name]])
                    b = med([r[m] for r in res["baseline"]])
                    row += f"{v:12.0f}{ratio(v, b):8.3f}"
                    summ.append(f"{m} {v:.0f} ({ratio(v, b):.3f} x)")
                print(row + f"   {res[name][-1].get('log', '-')}")
                if name != "baseline":
                    self.results.append((f"servers, {title.split(',')[0]}, {name}", ", ".join(summ)))

    def srv_env(self, lib, mode=0o755, owner=None):
        if not lib:
            return rswtest.watched_env(None), None
        logdir = self.server_logdir(mode, owner)
        return rswtest.watched_env(lib, RSTWATCH_LOG=logdir), logdir

    def srv_log(self, logdir, what):
        """A short description of a preloaded server's logs; fails when it wrote none."""
        if logdir is None:
            return "-"
        kinds, _, size = self.log_kinds(logdir)
        files = len(glob.glob(os.path.join(logdir, "*")))
        if not kinds.get("start"):
            fail(f"{what}: the preloaded server wrote no log: is the preload working?")
        return (f"{files} files, {sum(kinds.values())} lines ({kinds.get('error', 0)} error), "
                f"{size / 1024:.0f} KiB")

    def srv_nginx(self, lib, traced):
        env, logdir = self.srv_env(lib, 0o777)
        srv, url = self.nginx_start(env, traced)
        rps, _ = self.wrk(url, close=False)
        srv.stop()
        return {"requests/s": rps, "log": self.srv_log(logdir, "nginx")}

    def srv_redis(self, lib, traced):
        d = self.path("redis")
        os.makedirs(d, exist_ok=True)
        env, logdir = self.srv_env(lib)
        port = free_port()
        srv = Server(self, [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                            "--daemonize", "no", "--dir", d, "--protected-mode", "no"], env, "redis-server", traced)
        srv.wait_port(port)
        argv = [REDIS_BENCH, "-h", "127.0.0.1", "-p", str(port), "-q", "-n", str(self.a.redis_requests), "-t", "get,set"]
        out, err = self.path("redis-benchmark.out"), self.path("redis-benchmark.err")
        rc, *_ = spawn(argv, self.env(None), stdout=out, stderr=err)
        with open(out, errors="replace") as f:
            text = f.read()
        got = dict(re.findall(r"(SET|GET): ([\d.]+) requests per second", text))
        if rc != 0 or set(got) != {"SET", "GET"}:
            fail(f"{' '.join(argv)} exited with {rc}: {text[-300:]!r} {tail(err)}")
        srv.stop()
        return {"SET ops/s": float(got["SET"]), "GET ops/s": float(got["GET"]), "log": self.srv_log(logdir, "redis")}

    def pg_owner(self):
        """(uid, gid) postgres runs as (it refuses root), or None when not root (it runs as us)."""
        if os.geteuid() != 0:
            return None
        try:
            pw = pwd.getpwnam(PG_USER)
        except KeyError:
            fail(f"no {PG_USER} user to run postgres as (the postgresql package creates it)")
        return pw.pw_uid, pw.pw_gid

    def pg_setup(self):
        """initdb into a fresh data directory, then pgbench -i (scale 1), all without the preload."""
        bindir, owner = pg_bin(), self.pg_owner()
        user = PG_USER if owner else None
        data = self.path("pgdata")
        os.mkdir(data, 0o700)
        if owner:
            os.chown(data, *owner)
        argv = [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", PG_USER, "--no-sync", "-E", "UTF8"]
        init = Server(self, argv, rswtest.watched_env(None), "initdb", user=user)
        try:
            rc = init.p.wait(120)
        except subprocess.TimeoutExpired:
            fail("initdb: still running after 120 s")
        if rc != 0:
            fail(f"initdb exited with {rc}: {tail(init.err)} {tail(init.out)}")
        self.pg = {"bin": bindir, "data": data, "user": user, "owner": owner}
        srv, port = self.pg_start(rswtest.watched_env(None), False)
        self.pgbench(port, ["-i", "-q", "-s", "1"], "pgbench -i")
        srv.stop(signal.SIGINT)

    def pg_start(self, env, traced):
        pg = self.pg
        port = free_port()
        argv = [f"{pg['bin']}/postgres", "-D", pg["data"], "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "shared_buffers=32MB",
                "-c", "max_connections=20", "-c", "autovacuum=off"]
        srv = Server(self, argv, env, "postgres", traced, user=pg["user"])
        srv.wait_port(port, 30)

        def ready():  # postmaster.pid's 8th line says "ready" once it accepts connections (what pg_ctl waits for)
            try:
                with open(os.path.join(pg["data"], "postmaster.pid")) as f:
                    lines = f.read().splitlines()
            except OSError:
                return False
            return len(lines) >= 8 and lines[0].strip() == str(srv.pid) and lines[7].strip() == "ready"
        srv.until(ready, 30, "postmaster.pid to say ready")
        return srv, port

    def pgbench(self, port, args, what):
        argv = [f"{self.pg['bin']}/pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER] + args + ["postgres"]
        out, err = self.path("pgbench.out"), self.path("pgbench.err")
        rc, *_ = spawn(argv, self.env(None), stdout=out, stderr=err)
        with open(out, errors="replace") as f:
            text = f.read()
        if rc != 0:
            fail(f"{what} exited with {rc}: {tail(err)} {text[-300:]!r}")
        return text

    def srv_pg(self, lib, traced):
        if self.pg is None:
            self.pg_setup()
        env, logdir = self.srv_env(lib, 0o700, self.pg["owner"])
        srv, port = self.pg_start(env, traced)
        text = self.pgbench(port, ["-n", "-S", "-c4", f"-T{self.a.pgbench_seconds}"], "pgbench -S")
        m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
        if not m:
            fail(f"pgbench -S: no tps in its output: {text[-300:]!r}")
        failed = re.search(r"number of failed transactions: (\d+)", text)
        if failed and int(failed.group(1)):
            fail(f"pgbench -S: {failed.group(1)} failed transactions")
        srv.stop(signal.SIGINT)  # fast shutdown
        return {"tps": float(m.group(1)), "log": self.srv_log(logdir, "postgres")}

    # ---- (7) analyzer throughput ------------------------------------------------------
    def analyzer(self):
        a = self.a
        d = os.path.join(self.tmp, "gen")
        os.mkdir(d)
        argv = [self.exe("bench_gen"), d, str(a.events), str(a.conns), str(a.procs)]
        out = os.path.join(self.tmp, "gen.out")
        rc, wall, *_ = spawn(argv, stdout=out)
        must(rc, argv)
        with open(out) as f:
            events = int(f.read())
        files = sorted(glob.glob(os.path.join(d, "*.jsonl")))
        size = sum(os.path.getsize(p) for p in files)
        print(f"\n== analyzer: {events} events, {a.conns} connections, {len(files)} processes, "
              f"{size / 2**20:.0f} MiB (generated in {wall:.1f} s); median of {a.aruns} runs ==")
        if not os.access("/usr/bin/time", os.X_OK):
            sys.exit("rstwatch-bench: /usr/bin/time (Debian package time) is needed for the peak RSS")
        tools = [("rstwatch report (text)", [a.rstwatch, "report", d]),
                 ("rstwatch report --format json", [a.rstwatch, "report", "--format", "json", d])]
        if shutil.which("jq"):
            tools.append(("jq -c . (reading the JSON only)", ["jq", "-c", "."] + files))
        for title, argv in tools:
            walls, rss = [], []
            for _ in range(a.aruns):
                rc, wall, maxrss = peak_rss(argv, self.env(None), self.tmp)
                must(rc, argv[:4])
                walls.append(wall)
                rss.append(maxrss)
            w = statistics.median(walls)
            print(f"  {title:<34} {w:7.2f} s  {events / w / 1e6:6.2f} M events/s  peak RSS {max(rss) / 1024:6.1f} MiB")
            self.results.append((f"analyzer: {title}", f"{events / w / 1e6:.2f} M events/s, {max(rss) / 1024:.1f} MiB"))

    def summary(self):
        print("\n== summary ==")
        for label, value in self.results:
            print(f"  {label}: {value}")
        print("  time per part: " + ", ".join(f"{part} {secs:.0f} s" for part, secs in self.timings))


def main():
    p = argparse.ArgumentParser(description="rstwatch benchmarks (not part of the test suite)")
    p.add_argument("--bindir", required=True, help="build/tests/bench")
    p.add_argument("--lib", required=True, help="librstwatch.so")
    p.add_argument("--rstwatch", required=True, help="the rstwatch CLI")
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--runs", type=int, help="alternating runs per variant (default 7 for overhead and errcost, "
                   "3 for storm, churn and servers)")
    p.add_argument("--rounds", type=int, default=200000, help="ping-pong round trips (default 200000)")
    p.add_argument("--bulk-mib", type=int, default=1024, help="bulk transfer size in MiB (default 1024)")
    p.add_argument("--calls", type=int, default=100000, help="write+read pairs under callgrind (default 100000)")
    p.add_argument("--resets", type=int, default=1000, help="reset connections read per round (default 1000)")
    p.add_argument("--epipes", type=int, default=20000, help="EPIPE writes per round (default 20000)")
    p.add_argument("--connects", type=int, default=3000, help="errcost: python3's refused connects (default 3000)")
    p.add_argument("--storm-seconds", type=float, default=3.0, help="storm: seconds per run (default 3)")
    p.add_argument("--storm-clients", type=int, default=6, help="storm: client processes (default 6)")
    p.add_argument("--wrk-seconds", type=int, default=5, help="churn, servers: seconds of each wrk run (default 5)")
    p.add_argument("--redis-requests", type=int, default=200000,
                   help="servers: redis-benchmark requests per test (default 200000)")
    p.add_argument("--pgbench-seconds", type=int, default=10, help="servers: seconds of each pgbench run (default 10)")
    p.add_argument("--events", type=int, default=1000000, help="analyzer: events (default 1000000)")
    p.add_argument("--conns", type=int, default=10000, help="analyzer: connections (default 10000)")
    p.add_argument("--procs", type=int, default=50, help="analyzer: processes (default 50)")
    p.add_argument("--aruns", type=int, default=3, help="analyzer: runs per tool (default 3)")
    p.add_argument("--no-pin", action="store_true", help="let the timed workloads run on every CPU")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the benchmarks work, measures nothing")
    p.add_argument("--verbose", action="store_true", help="callgrind_annotate even within the target")
    a = p.parse_args()
    # servers run in directories of their own: a relative LD_PRELOAD would not be found there
    a.lib, a.rstwatch, a.bindir = (os.path.abspath(x) for x in (a.lib, a.rstwatch, a.bindir))
    if a.quick:
        a.runs, a.rounds, a.bulk_mib, a.calls, a.resets, a.epipes = 1, 2000, 16, 2000, 50, 200
        a.events, a.conns, a.procs, a.aruns = 20000, 200, 4, 1
        a.connects, a.storm_seconds, a.wrk_seconds, a.redis_requests, a.pgbench_seconds = 200, 0.5, 1, 5000, 2
    parts = a.only.split(",")
    for part in parts:
        if part not in PARTS:
            sys.exit(f"rstwatch-bench: unknown part {part!r}; parts: {', '.join(PARTS)}")
    b = Bench(a)
    print(f"rstwatch benchmarks on {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    try:
        b.setup(parts)
        for part in PARTS:
            if part in parts:
                t0 = time.monotonic()
                getattr(b, part)()
                b.timings.append((part, time.monotonic() - t0))
        b.summary()
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
