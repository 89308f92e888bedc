#!/usr/bin/env python3
"""run.py: rstwatch's benchmarks: hot-path overhead vs strace, instructions per hooked call,
cost of an error event, analyzer throughput. Run it through build/tests/bench/run-bench."""

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402

PARTS = ("overhead", "calls", "errcost", "analyzer")
TARGET_INSTR = 25


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


class Bench:
    def __init__(self, a):
        self.a = a
        self.bindir = a.bindir
        self.tmp = tempfile.mkdtemp(prefix="rsw-bench-")
        self.results = []  # (label, value) lines for the summary

    def exe(self, name):
        return os.path.join(self.bindir, name)

    def logdir(self):
        d = os.path.join(self.tmp, "logs")
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
        return d

    def env(self, preload, **extra):
        if preload:
            return rswtest.watched_env(preload, **{"RSTWATCH_LOG": self.logdir(), **extra})
        return rswtest.watched_env(None, **extra)

    def pinned(self):
        """Context for the timed workloads: on one CPU (unless --no-pin), so that both processes of a
        ping-pong always switch on the same CPU; across CPUs, a VM's wakeups are slow and their mix
        changes from run to run (a baseline from 4.8 s to 9 s), which drowns what is measured here."""
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
        print(f"\n== overhead: median of {a.runs} alternating runs, {where}; ratio = variant / baseline ==")
        for title, wargs in workloads:
            samples = {name: ([], []) for name, _ in variants}
            for _ in range(a.runs):
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

    def errcost_pinned(self):
        a = self.a
        print(f"\n== cost of one error event (32-frame backtrace; median of {a.runs} alternating runs, "
              "each the median of 5 rounds) ==")
        cases = [(f"ECONNRESET: read on a reset connection, {a.resets} connections", ["reset", str(a.resets)],
                  "ECONNRESET", a.resets),
                 (f"EPIPE: write on a reset connection, {a.epipes} times", ["epipe", str(a.epipes)],
                  "EPIPE", a.epipes)]
        variants = [("without", None, {}), ("rstwatch", a.lib, {}),
                    ("rstwatch, RSTWATCH_BACKTRACE=0", a.lib, {"RSTWATCH_BACKTRACE": "0"})]
        for title, wargs, errno_name, count in cases:
            ns = {v[0]: [] for v in variants}
            for _ in range(a.runs):
                for name, lib, extra in variants:
                    env = self.env(lib, **extra)
                    argv = [self.exe("bench_errcost")] + wargs
                    out = os.path.join(self.tmp, "errcost.out")
                    rc, *_ = spawn(argv, env, stdout=out)
                    must(rc, argv)
                    with open(out) as f:
                        ns[name].append(int(f.read()))
                    if lib:
                        self.check_error_log(env["RSTWATCH_LOG"], errno_name, count,
                                             0 if extra else 32)
            base = statistics.median(ns["without"])
            print(f"\n{title}")
            print(f"  without the preload: {base / 1000:.2f} us per failing call")
            for name, lib, _ in variants[1:]:
                m = statistics.median(ns[name])
                print(f"  {name}: {m / 1000:.2f} us per call, {(m - base) / 1000:.2f} us per logged event")
                self.results.append((f"error event cost, {errno_name}, {name}", f"{(m - base) / 1000:.2f} us"))

    def check_error_log(self, logdir, errno_name, count, frames):
        """The run's log holds one error event per failing call, each with a full backtrace."""
        errors = []
        for path in glob.glob(os.path.join(logdir, "*.jsonl")):
            with open(path) as f:
                for line in f:
                    ev = json.loads(line)
                    if ev["ev"] == "error" and ev.get("errno") == errno_name:
                        errors.append(ev)
        want = count * 5
        if len(errors) < want:
            sys.exit(f"rstwatch-bench: expected at least {want} {errno_name} error events, the log has {len(errors)}")
        short = [e for e in errors if len(e.get("bt", [])) != frames]
        if short:
            sys.exit(f"rstwatch-bench: {len(short)} error events without a {frames}-frame backtrace, e.g. "
                     f"{len(short[0].get('bt', []))} frames")

    # ---- (4) analyzer throughput ------------------------------------------------------
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


def main():
    p = argparse.ArgumentParser(description="rstwatch benchmarks (not part of the test suite)")
    p.add_argument("--bindir", required=True, help="build/tests/bench")
    p.add_argument("--lib", required=True, help="librstwatch.so")
    p.add_argument("--rstwatch", required=True, help="the rstwatch CLI")
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--runs", type=int, default=7, help="alternating runs per variant (default 7)")
    p.add_argument("--rounds", type=int, default=200000, help="ping-pong round trips (default 200000)")
    p.add_argument("--bulk-mib", type=int, default=1024, help="bulk transfer size in MiB (default 1024)")
    p.add_argument("--calls", type=int, default=100000, help="write+read pairs under callgrind (default 100000)")
    p.add_argument("--resets", type=int, default=1000, help="reset connections read per round (default 1000)")
    p.add_argument("--epipes", type=int, default=20000, help="EPIPE writes per round (default 20000)")
    p.add_argument("--events", type=int, default=1000000, help="analyzer: events (default 1000000)")
    p.add_argument("--conns", type=int, default=10000, help="analyzer: connections (default 10000)")
    p.add_argument("--procs", type=int, default=50, help="analyzer: processes (default 50)")
    p.add_argument("--aruns", type=int, default=3, help="analyzer: runs per tool (default 3)")
    p.add_argument("--no-pin", action="store_true", help="let the timed workloads run on every CPU")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the benchmarks work, measures nothing")
    p.add_argument("--verbose", action="store_true", help="callgrind_annotate even within the target")
    a = p.parse_args()
    if a.quick:
        a.runs, a.rounds, a.bulk_mib, a.calls, a.resets, a.epipes = 1, 2000, 16, 2000, 50, 200
        a.events, a.conns, a.procs, a.aruns = 20000, 200, 4, 1
    parts = a.only.split(",")
    for part in parts:
        if part not in PARTS:
            sys.exit(f"rstwatch-bench: unknown part {part!r}; parts: {', '.join(PARTS)}")
    b = Bench(a)
    print(f"rstwatch benchmarks on {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    try:
        for part in PARTS:
            if part in parts:
                getattr(b, part)()
        b.summary()
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
