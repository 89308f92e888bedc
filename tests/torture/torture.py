#!/usr/bin/env python3
"""torture.py: the torture cases of issue 6, one per CTest entry: runs the tort_* programs with (and
where behaviour must not change, without) librstwatch.so and checks their logs line by line."""

import glob
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402
from rswtest import Fail, Scratch, check, diff, load_cut_log, load_log, status, watched_env  # noqa: E402

CASES, case = rswtest.registry()
# The faults the threads of threads_inject meet at random (seeded), one run each.
INJECT_SPECS = ["reset,on=read,prob=0.1,seed=7",
                "reset,on=write,prob=0.05,seed=9;reset,on=read,prob=0.05,seed=3"]


class Env(Scratch):
    def __init__(self, a):
        super().__init__("rsw-torture-")
        self.lib = a.lib
        self.bindir = os.path.abspath(a.bindir)

    def prog(self, name):
        return os.path.join(self.bindir, name)

    def env(self, preload, **extra):
        if not preload:
            return watched_env(None, **extra)
        # RSW_TORTURE_ENV="VAR=VALUE ...": extra settings of every preloaded run (sanitize.sh)
        settings = dict(kv.split("=", 1) for kv in os.environ.get("RSW_TORTURE_ENV", "").split())
        # fidelity under stress is checked line by line: every lifecycle line, no storm control
        full = {"RSTWATCH_EVENTS": "conn", "RSTWATCH_RATE": "0"}
        return watched_env(self.lib, **{**full, **settings, **extra})

    def logdir(self, name):
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        return d

    def run(self, argv, preload, timeout=60, **extra):
        p = subprocess.run(argv, env=self.env(preload, **extra), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout, cwd=self.tmp)
        if p.stderr:
            sys.stderr.write(p.stderr)
        return p


def one_log(d):
    files = glob.glob(os.path.join(d, "*.jsonl"))
    check(len(files) == 1, f"expected one log file in {d}, found {len(files)}: {files}")
    return files[0]


# ---- 32 threads x 200 connections with injected resets ---------------------------------------
@case
def threads_inject(env, threads=32, conns=200):
    server = subprocess.Popen([env.prog("tort_threads"), "serve"], env=env.env(False), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        for n, spec in enumerate(INJECT_SPECS):
            threads_round(env, port, threads, conns, spec, n)
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def threads_round(env, port, threads, conns, spec, n):
    d = env.logdir(f"threads{n}")
    t0 = time.monotonic()
    p = env.run([env.prog("tort_threads"), "client", str(port), str(threads), str(conns), str(7 + n)], True,
                timeout=120, RSTWATCH_LOG=d, RSTWATCH_INJECT=spec)
    took = time.monotonic() - t0
    check(p.returncode == 0, f"tort_threads client: {status(p.returncode)}")
    rows = [line.split() for line in p.stdout.splitlines() if line.startswith("conn ")]
    check(len(rows) == threads * conns, f"expected {threads * conns} connection lines, got {len(rows)}")
    prog = {}  # tid -> [(fd, in, out, errno, op)] in the order the thread made its connections
    for _, tid, i, fd, bin_, bout, err, op in rows:
        prog.setdefault(int(tid), []).append((int(fd), int(bin_), int(bout), err, op))
    faults = [r for r in rows if r[6] != "0"]
    check(faults, f"no connection met a fault with RSTWATCH_INJECT={spec!r}: is injection working?")
    others = sorted(set(r[6] for r in faults) - {"ECONNRESET"})
    check(not others, f"connections failed with {others}, only injected ECONNRESETs were expected")

    path = one_log(d)
    events = load_log(path)
    by_seq = sorted(events, key=lambda e: e["seq"])
    injects = [e for e in by_seq if e["ev"] == "inject"]
    errors = [e for e in by_seq if e["ev"] == "error"]
    # every fault the program met was injected and is logged once: an inject and an error event
    check(len(injects) == len(faults), f"the program met {len(faults)} faults, the log has {len(injects)} inject events")
    check(len(errors) == len(faults), f"the program met {len(faults)} faults, the log has {len(errors)} error events")
    real = [e for e in errors if e.get("injected") is not True]
    check(not real, f"{len(real)} error events not injected, e.g. {real[:1]}")
    for tid, mine in prog.items():
        met = [(m[0], m[3], m[4]) for m in mine if m[3] != "0"]
        for kind, evs in (("inject", injects), ("error", errors)):
            logged = [(e.get("fd"), e.get("errno"), e.get("op")) for e in evs if e["tid"] == tid]
            check(logged == met, f"thread {tid}: faults met (fd, errno, op) {met[:5]}..., "
                                 f"{kind} events say {logged[:5]}...")
    pairs = [(i.get("conn"), i.get("fd")) for i in injects]
    check(len(set(pairs)) == len(pairs), "two inject events for the same connection")
    check(sorted(pairs) == sorted((e.get("conn"), e.get("fd")) for e in errors),
          "inject and error events name different connections")
    # byte counters of every close event equal what the thread moved on that connection
    closes = {}
    for e in by_seq:
        if e["ev"] == "close":
            closes.setdefault(e["tid"], []).append((e["fd"], e["bytes_in"], e["bytes_out"]))
    check(sorted(closes) == sorted(prog), f"close events from threads {sorted(closes)}, program threads {sorted(prog)}")
    for tid, mine in prog.items():
        logged = closes[tid]
        check(len(logged) == len(mine), f"thread {tid}: {len(mine)} connections, {len(logged)} close events")
        for k, (m, l) in enumerate(zip(mine, logged)):
            check(m[:3] == l, f"thread {tid} connection {k}: program moved fd/in/out {m[:3]}, close event says {l}")
    connects = [e for e in events if e["ev"] == "connect"]
    check(len(connects) == threads * conns, f"{len(connects)} connect events for {threads * conns} connections")
    print(f"threads_inject: {spec!r}: {threads * conns} connections in {took:.1f} s, {len(faults)} injected "
          f"resets, {len(events)} log lines checked")


# ---- 100 forked children, each meeting EPIPE ---------------------------------------------------
@case
def fork_children(env, n=100):
    d = env.logdir("fork")
    p = env.run([env.prog("tort_fork"), str(n)], True, RSTWATCH_LOG=d)
    check(p.returncode == 0, f"tort_fork: {status(p.returncode)}")
    parent = int(re.search(r"^parent (\d+)$", p.stdout, re.M).group(1))
    children = [int(x) for x in re.findall(r"^child (\d+)$", p.stdout, re.M)]
    check(len(children) == n and len(set(children)) == n, f"expected {n} distinct child pids")
    files = {int(m.group(1)): f for f in glob.glob(os.path.join(d, "*.jsonl"))
             for m in [re.search(r"\.(\d+)\.jsonl$", f)] if m}
    check(len(files) == n + 1, f"expected {n + 1} log files (parent + {n} children), found {len(files)}")
    check(set(files) == set(children) | {parent}, "the log files' pids are not the parent's and the children's")
    for pid in children:
        path = files[pid]
        events = load_log(path)
        check(all(e["pid"] == pid for e in events), f"{path}: a line with another pid")
        start = events[0]
        check(start["ev"] == "start" and start.get("origin") == "fork" and start.get("ppid") == parent,
              f"{path}: first line is not a fork start with ppid {parent}: {start}")
        errs = [e for e in events if e["ev"] == "error"]
        check(len(errs) == 1 and errs[0].get("errno") == "EPIPE" and errs[0].get("call") == "write",
              f"{path}: expected one EPIPE error from write, got {errs}")
    pevents = load_log(files[parent])
    check(not [e for e in pevents if e["ev"] == "error"], "the parent's log holds an error event")
    check(all(e["pid"] == parent for e in pevents), "the parent's log holds a child's line")
    print(f"fork_children: {n} children, {n + 1} logs, every line checked")


# ---- the daemon that closes everything -------------------------------------------------------
def daemon(env, mode, *extra):
    outs = []
    for preload in (False, True):
        out = os.path.join(env.tmp, f"daemon-{mode}-{int(preload)}.out")
        d = env.logdir(f"daemon-{int(preload)}")
        p = env.run([env.prog("tort_daemon"), mode, out, *extra], preload, RSTWATCH_LOG=d)
        check(p.returncode == 0, f"tort_daemon {mode} (preload={preload}): {status(p.returncode)}")
        with open(out) as f:
            outs.append(f.read())
    plain, watched = outs
    check("read fd 1=-1 errno=ECONNRESET" in plain, f"the program did not meet ECONNRESET:\n{plain}")
    if plain != watched:
        raise Fail(f"the program observed different results with the preload:\n{diff(plain, watched)}")
    events = load_log(one_log(d))
    errs = [e for e in events if e["ev"] == "error"]
    check(len(errs) == 1, f"expected one error event, got {len(errs)}: {errs}")
    e = errs[0]
    check(e.get("errno") == "ECONNRESET" and e.get("fd") == 1 and e.get("op") == "read"
          and e.get("bytes_out") == 5, f"error event: {e}")
    print(f"daemon {mode} {' '.join(extra)}: identical output ({len(plain.splitlines())} lines), ECONNRESET logged on fd 1")


@case
def daemon_loop(env):
    daemon(env, "loop")


@case
def daemon_range(env):
    daemon(env, "range")


@case
def daemon_closefrom(env):
    daemon(env, "closefrom")


@case
def daemon_top_fd(env):
    """The program takes the highest fd it may use (soft limit - 1), where the library parks its own
    fds when the hard limit leaves no room above; the error's backtrace comes after."""
    daemon(env, "loop", "top")


# ---- SIGKILL in the middle of a burst ------------------------------------------------------------
@case
def sigkill_burst(env):
    for i, delay in enumerate((0.0, 0.01, 0.05, 0.1, 0.2)):
        d = env.logdir(f"kill{i}")
        p = subprocess.Popen([env.prog("tort_burst"), "200"], env=env.env(True, RSTWATCH_LOG=d),
                             stdout=subprocess.PIPE, text=True, cwd=env.tmp)
        check(p.stdout.readline() == "ready\n", "tort_burst did not get ready")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        check(p.returncode == -signal.SIGKILL, f"tort_burst: {status(p.returncode)}")
        path = one_log(d)
        events, tail = load_cut_log(path)
        order = [e["seq"] for e in events]
        check(order == sorted(order), f"{path}: lines out of seq order")
        errs = sum(1 for e in events if e["ev"] == "error")
        check(errs >= 200, f"{path}: only {errs} error lines before the kill, the program met 200")
        print(f"sigkill_burst: killed after {delay * 1000:.0f} ms: {len(events)} complete lines, "
              f"seq 0..{len(events) - 1}, {'a cut last line of ' + str(len(tail)) + ' bytes' if tail else 'no cut line'}")


# ---- SIGPIPE handled every way ----------------------------------------------------------------
SIGPIPE_MODES = ["default", "signal", "signal_ign", "sysv_signal", "bsd_signal", "sigaction",
                 "sigaction_siginfo", "sigaction_ign", "sigaction_resethand", "sigaction_resethand_siginfo",
                 "blocked_sigtimedwait", "blocked_handler"]


@case
def sigpipe_ways(env):
    bad = []
    for mode in SIGPIPE_MODES:
        plain = env.run([env.prog("tort_sigpipe"), mode], False)
        d = env.logdir(f"sigpipe-{mode}")
        watched = env.run([env.prog("tort_sigpipe"), mode], True, RSTWATCH_LOG=d)
        if (plain.stdout, plain.returncode) != (watched.stdout, watched.returncode):
            bad.append(f"{mode}: without: {status(plain.returncode)}, with: {status(watched.returncode)}\n"
                       f"{diff(plain.stdout, watched.stdout)}")
            continue
        check(plain.returncode in (7, -signal.SIGPIPE), f"{mode}: tort_sigpipe: {status(plain.returncode)}\n{plain.stdout}")
        events = load_log(one_log(d))
        sigs = [e for e in events if e["ev"] == "signal"]
        calls = re.findall(r"handler_calls=(\d+)", watched.stdout)  # the last line's is final
        handled = int(calls[-1]) if calls else 0
        if watched.returncode == -signal.SIGPIPE:
            check(events[-1]["ev"] == "signal" and events[-1].get("action") == "kill",
                  f"{mode}: killed by SIGPIPE but the last log line is {events[-1]}")
        check(sum(1 for e in sigs if e.get("action") == "handler") == handled,
              f"{mode}: the handler ran {handled} times, the log has "
              f"{sum(1 for e in sigs if e.get('action') == 'handler')} signal events with action handler")
        epipes = sum(1 for e in events if e["ev"] == "error" and e.get("errno") == "EPIPE")
        writes = len(re.findall(r"errno=EPIPE", watched.stdout))
        check(epipes == writes, f"{mode}: {writes} writes failed with EPIPE, the log has {epipes} EPIPE errors")
        print(f"sigpipe_ways: {mode}: same output, {status(watched.returncode)}, {len(sigs)} signal events")
    if bad:
        raise Fail("observable behaviour changed with the preload:\n" + "\n".join(bad))


if __name__ == "__main__":
    sys.exit(rswtest.main(__doc__, CASES, Env, ["--bindir"]))
