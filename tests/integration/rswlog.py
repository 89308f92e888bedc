"""rswlog.py: how the integration cases (cases_*.py, run by rswcheck.py) start the t_* programs with
and without librstwatch.so, and what they read from a run: its logs, its output, its start line. The
checks and the log validation themselves are tests/lib/rswtest.py's."""

import glob
import os
import re
import signal
import subprocess
import time

from rswtest import Fail, Scratch, Skip, check, diff, fields, load_log, only, registry, show, status, watched_env


def tcp_fields(ev):
    """A TCP error carries `tcp` with the TCP_INFO summary the README documents."""
    tcp = ev.get("tcp")
    check(isinstance(tcp, dict), f"{ev['ev']} event on a TCP socket has no tcp object: {show(ev)}")
    check(isinstance(tcp.get("state"), str), f"tcp.state not a string: {show(ev)}")
    for k in ("bytes_acked", "bytes_received", "unacked"):
        check(isinstance(tcp.get(k), int) and tcp[k] >= 0, f"tcp.{k} not an integer >= 0: {show(ev)}")


def normalize(text):
    """Program output with the numbers that differ from run to run (fds, ports, pids) replaced."""
    text = re.sub(r"/run\d+/", "/runN/", text)
    return re.sub(r"\b(fd|port|pid|tid|server|peer_pid|child)=\d+", r"\1=N", text)


def kv(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


# The case registry: rswcheck.py runs CASES[name](ctx).
CASES, case = registry()


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
            raise Fail(f"{' '.join(self.argv)}: expected {status(rc)}, seen {status(self.rc)}\n"
                       f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")

    def out_lines(self):
        return self.stdout.splitlines()


class Ctx(Scratch):
    """Per-case scratch space and the way programs are started."""

    def __init__(self, lib, bindir):
        super().__init__("rswcheck.")
        self.lib, self.bindir = lib, bindir
        self.count = 0

    def prog(self, name):
        path = os.path.join(self.bindir, name)
        check(os.access(path, os.X_OK), f"test program {path} not built")
        return path

    def env(self, preload, extra, logdir):
        # extra may override RSTWATCH_LOG (None: unset it)
        # these cases check every lifecycle line: RSTWATCH_EVENTS=conn unless a case says otherwise
        # (cases_failures.py covers the default, failures)
        if preload:
            return watched_env(self.lib, **{"RSTWATCH_LOG": logdir, "RSTWATCH_EVENTS": "conn", **(extra or {})})
        return watched_env(None, **(extra or {}))

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
            raise Fail(f"{name} {' '.join(args)}: output differs under the preload:\n"
                       f"{diff(normalize(bare.stdout), normalize(watched.stdout))}")
        return watched, bare
