#!/usr/bin/env python3
"""symbols.py: the names and places `rstwatch report` gives a backtrace's frames, on logs the real
preload writes: C++ and Rust names demangled, debug info split off into a -dbgsym-style directory
(--debug-dir), and fetched from debuginfod (a server on loopback; one that never answers).

usage: symbols.py --lib librstwatch.so --rstwatch RSTWATCH [--keep] [CASE...]
Each case compiles its program from tests/analyzer/symbols/ into a scratch directory, records its
refused connect (RSTWATCH_LOG, RSTWATCH_EVENTS=conn) and checks the report's frame lines exactly.
"""
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rswtest import Fail, Scratch, Skip, check, main, registry, watched_env  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "symbols")
# Variables of the environment running the tests that would change what is asked of whom.
DEBUGINFOD_VARS = ("DEBUGINFOD_URLS", "DEBUGINFOD_TIMEOUT", "DEBUGINFOD_MAXTIME", "DEBUGINFOD_RETRY_LIMIT",
                   "DEBUGINFOD_PROGRESS", "DEBUGINFOD_VERBOSE", "DEBUGINFOD_CACHE_PATH")
CASES, case = registry()


class Ctx(Scratch):
    def __init__(self, args):
        super().__init__("rsw-symbols-")
        self.lib, self.rstwatch = args.lib, os.path.abspath(args.rstwatch)


def line_of(src, marker):
    """The line number of the line of src (in SRC) holding marker."""
    with open(os.path.join(SRC, src)) as f:
        for n, text in enumerate(f, 1):
            if marker in text:
                return n
    raise Fail(f"no {marker!r} in {src}")


def run(argv, what, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, **kw)
    check(p.returncode == 0, f"{what}: {argv} exited {p.returncode}\nstdout:\n{p.stdout.decode()}\n"
                             f"stderr:\n{p.stderr.decode()}")
    return p.stdout.decode(), p.stderr.decode()


def build(ctx, src, exe, *flags, compiler="gcc"):
    """exe (in the scratch directory) from src, with debug info and a build-id."""
    if not shutil.which(compiler):
        raise Skip(f"no {compiler}")
    path = os.path.join(ctx.tmp, exe)
    run([compiler, "-g", "-O0", "-fno-omit-frame-pointer", "-Wl,--build-id", "-I", SRC, *flags, "-o", path,
         src if os.path.isabs(src) else os.path.join(SRC, src)], f"building {exe}")
    return path


def build_id(path):
    out, _ = run(["readelf", "-n", path], "readelf -n")
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    check(m, f"{path} has no build-id:\n{out}")
    return m.group(1)


def split_debug(ctx, exe):
    """A -dbgsym-style layout: exe's debug info into ctx.tmp/debug/.build-id/xx/yyyy.debug, exe
    stripped of it and of its symbol table. Returns (build-id, the debug file)."""
    bid = build_id(exe)
    debug = os.path.join(ctx.tmp, "debug", ".build-id", bid[:2], bid[2:] + ".debug")
    os.makedirs(os.path.dirname(debug))
    run(["objcopy", "--only-keep-debug", exe, debug], "objcopy --only-keep-debug")
    run(["objcopy", "--strip-debug", "--strip-unneeded", exe], "objcopy --strip-debug --strip-unneeded")
    sections, _ = run(["readelf", "-S", exe], "readelf -S")
    check(".debug_info" not in sections and ".symtab" not in sections, f"{exe} still has debug info:\n{sections}")
    return bid, debug


def free_port():
    """A loopback TCP port nothing listens on: bound, then closed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def record(ctx, exe):
    """Runs exe under the preload against a closed port; returns its log directory."""
    logs = os.path.join(ctx.tmp, "logs")
    os.makedirs(logs, exist_ok=True)
    env = watched_env(ctx.lib, RSTWATCH_LOG=logs, RSTWATCH_EVENTS="conn")
    out, _ = run([exe, str(free_port())], f"{os.path.basename(exe)} under the preload", env=env)
    check(out.endswith(": 111\n"), f"expected ECONNREFUSED (111), the program printed {out!r}")
    return logs


def report(ctx, *args, env=None, cwd=None):
    """rstwatch report ARGS with no debuginfod variable but those in env: (stdout, stderr)."""
    base = watched_env(None, **{k: None for k in DEBUGINFOD_VARS})
    return run([ctx.rstwatch, "report", *args], "rstwatch report", env=dict(base, **(env or {})), cwd=cwd)


def frames(text):
    """The frame lines of a text report, without their indentation."""
    return [line.strip() for line in text.splitlines() if re.match(r"\s+#\d+ ", line)]


def error_frames(js):
    """The backtrace of the one ECONNREFUSED in a JSON report."""
    doc = json.loads(js)
    bts = [e["bt"] for c in doc["connections"] for e in c["events"] if e.get("errno") == "ECONNREFUSED"]
    check(len(bts) == 1, f"expected one ECONNREFUSED with a backtrace, found {len(bts)}")
    return bts[0], doc["summary"]


def want(what, seen, expected):
    check(seen == expected, f"{what}:\n  expected {expected!r}\n  seen     {seen!r}")


def everywhere(ctx, logs, readable, mangled):
    """html and chrome show the readable names too, never the mangled ones."""
    for fmt in ("html", "chrome"):
        out, _ = report(ctx, "--format", fmt, logs)
        for name in readable:
            check(name in out, f"--format {fmt} does not name {name!r}")
        for name in mangled:
            check(name not in out, f"--format {fmt} shows the mangled {name!r}")


@case
def demangle_cpp(ctx):
    """g++: the refused connect in backend::Pool::open_conn(int), demangled in every format."""
    logs = record(ctx, build(ctx, "pool.cpp", "pool", compiler="g++"))
    out, err = report(ctx, logs)
    connect, call = line_of("pool.cpp", "// CONNECT"), line_of("pool.cpp", "// CALL")
    want("frames", frames(out)[:2], [f"#0 backend::Pool::open_conn(int) (pool.cpp:{connect})",
                                     f"#1 main (pool.cpp:{call})"])
    want("stderr", err, "")
    bt, summary = error_frames(report(ctx, "--format", "json", logs)[0])
    want("json frame 0", {k: bt[0].get(k) for k in ("func", "mangled", "line")},
         {"func": "backend::Pool::open_conn(int)", "mangled": "_ZN7backend4Pool9open_connEi", "line": connect})
    want("json frame 1", (bt[1]["func"], "mangled" in bt[1]), ("main", False))
    want("call site", summary["call_sites"][0]["site"], f"backend::Pool::open_conn(int) (pool.cpp:{connect})")
    everywhere(ctx, logs, ["backend::Pool::open_conn(int)"], ["_ZN7backend4Pool9open_connEi"])


LEGACY = "_ZN7backend4pool9open_conn17h755816aa0678b3c2E"
V0 = "_RNvNtCskb5b6E1w6uX_7backend4pool9open_conn"


@case
def demangle_rust(ctx):
    """Functions named by rustc's legacy and v0 schemes (asm labels in C): backend::pool::open_conn."""
    logs = record(ctx, build(ctx, "rustnames.c", "rustnames"))
    out, err = report(ctx, logs)
    lines = [line_of("rustnames.c", m) for m in ("/* CONNECT */", "/* CALL_LEGACY */", "/* CALL_V0 */")]
    want("frames", frames(out)[:3], [f"#0 backend::pool::open_conn (rustnames.c:{lines[0]})",
                                     f"#1 backend::pool::open_conn (rustnames.c:{lines[1]})",
                                     f"#2 main (rustnames.c:{lines[2]})"])
    want("stderr", err, "")
    bt, _ = error_frames(report(ctx, "--format", "json", logs)[0])
    want("json frames 0 and 1", [(f["func"], f.get("mangled")) for f in bt[:2]],
         [("backend::pool::open_conn", LEGACY), ("backend::pool::open_conn", V0)])
    everywhere(ctx, logs, ["backend::pool::open_conn"], [LEGACY, V0])


def dial_lines():
    return line_of("dial.c", "/* CONNECT */"), line_of("dial.c", "/* CALL */")


def dial_symbolized():
    connect, call = dial_lines()
    return [f"#0 dial_backend (dial.c:{connect})", f"#1 main (dial.c:{call})"]


def unsymbolized(seen, what):
    """Frames 0 and 1 name no function and no file:line: module+offset only."""
    for line in seen[:2]:
        check(re.fullmatch(r"#\d \?\? \(dial\+0x[0-9a-f]+\)", line), f"{what}: expected no symbols, seen {seen[:2]!r}")


@case
def debug_dir(ctx):
    """A stripped program whose debug file is in DIR/.build-id/xx/yyyy.debug: found with --debug-dir
    (absolute, relative, in a colon-separated list, repeated), not without."""
    exe = build(ctx, "dial.c", "dial")
    split_debug(ctx, exe)
    logs = record(ctx, exe)
    out, err = report(ctx, logs)
    unsymbolized(frames(out), "without --debug-dir")
    bt, _ = error_frames(report(ctx, "--format", "json", logs)[0])
    want("json frame 0 without --debug-dir", [bt[0][k] for k in ("func", "file", "line")], [None, None, None])
    out, err = report(ctx, "--debug-dir", os.path.join(ctx.tmp, "debug"), logs)
    want("frames with --debug-dir", frames(out)[:2], dial_symbolized())
    want("stderr", err, "")
    out, err = report(ctx, "--debug-dir", "/nonexistent-rsw", "--debug-dir", "nothere:debug", logs, cwd=ctx.tmp)
    want("frames with --debug-dir /nonexistent-rsw --debug-dir nothere:debug", frames(out)[:2], dial_symbolized())
    want("stderr", err, "rstwatch: debug directory /nonexistent-rsw: No such file or directory\n"
                        "rstwatch: debug directory nothere: No such file or directory\n")


@case
def debug_dir_missing(ctx):
    """The program is gone after recording: its debug file, found by the log's build-id, names it."""
    exe = build(ctx, "dial.c", "dial")
    split_debug(ctx, exe)
    logs = record(ctx, exe)
    os.unlink(exe)
    out, err = report(ctx, logs)
    unsymbolized(frames(out), "without --debug-dir")
    want("stderr", err, "")
    out, err = report(ctx, "--debug-dir", os.path.join(ctx.tmp, "debug"), logs)
    want("frames with --debug-dir", frames(out)[:2], dial_symbolized())
    want("stderr", err, "")


@case
def debug_dir_rebuilt(ctx):
    """The program was rebuilt after recording (its lines moved, another build-id): without its debug
    file one warning and the new build's lines; with it, one note and the recorded build's lines."""
    exe = build(ctx, "dial.c", "dial")
    old, debug = split_debug(ctx, exe)
    logs = record(ctx, exe)
    moved = os.path.join(ctx.tmp, "dial-moved.c")
    with open(os.path.join(SRC, "dial.c")) as f, open(moved, "w") as g:
        g.write("\n" * 10 + f.read())
    os.unlink(exe)
    build(ctx, moved, "dial", "-DGREETING=\"dialled\"")
    new = build_id(exe)
    check(new != old, "the rebuilt program has the same build-id")
    out, err = report(ctx, logs)
    connect, call = dial_lines()
    want("frames without --debug-dir", frames(out)[:2],
         [f"#0 dial_backend (dial-moved.c:{connect + 10})", f"#1 main (dial-moved.c:{call + 10})"])
    want("stderr", err, f"rstwatch: {exe} here is not the file the log was written with (build-id {new}, the "
                        f"log says {old}): its symbols may be wrong\n")
    out, err = report(ctx, "--debug-dir", os.path.join(ctx.tmp, "debug"), logs)
    want("frames with --debug-dir", frames(out)[:2], dial_symbolized())
    want("stderr", err, f"rstwatch: {exe} here is not the file the log was written with (build-id {new}, the "
                        f"log says {old}): symbols from {os.path.realpath(debug)}\n")


class Debuginfod:
    """A debuginfod on 127.0.0.1: /buildid/HEX/debuginfo from a .build-id directory, 404 for the rest;
    silent=True: it accepts and reads each request, then never answers. .paths: the requests seen."""

    def __init__(self, root=None, silent=False):
        self.paths, self.held = [], []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.root, self.silent = root, silent
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        self.held.append(conn)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        path = request.split(b" ")[1].decode()
        self.paths.append(path)
        if self.silent:
            return  # the connection stays open, unanswered, until stop()
        m = re.fullmatch(r"/buildid/([0-9a-f]{2})([0-9a-f]+)/debuginfo", path)
        file = m and os.path.join(self.root, ".build-id", m.group(1), m.group(2) + ".debug")
        if file and os.path.exists(file):
            with open(file, "rb") as f:
                body = f.read()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()

    def stop(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def asking(url, timeout):
    return f"rstwatch: asking debuginfod at {url} for debug info not found here (timeout {timeout} s)\n"


@case
def debuginfod(ctx):
    """DEBUGINFOD_URLS names a server that has the stripped program's debug file: file:line, and the
    server saw the question; also for the program gone after recording (from a fresh cache)."""
    exe = build(ctx, "dial.c", "dial")
    bid, _ = split_debug(ctx, exe)
    logs = record(ctx, exe)
    server = Debuginfod(root=os.path.join(ctx.tmp, "debug"))
    try:
        for cache in ("cache", "cache-missing"):
            if cache == "cache-missing":
                os.unlink(exe)
            env = {"DEBUGINFOD_URLS": server.url, "DEBUGINFOD_CACHE_PATH": os.path.join(ctx.tmp, cache)}
            out, err = report(ctx, logs, env=env)
            want(f"frames ({cache})", frames(out)[:2], dial_symbolized())
            want(f"stderr ({cache})", err, asking(server.url, 5))
            want(f"questions for the program ({cache})", server.paths.count(f"/buildid/{bid}/debuginfo"),
                 1 if cache == "cache" else 2)
    finally:
        server.stop()


@case
def debuginfod_timeout(ctx):
    """A server that never answers, DEBUGINFOD_TIMEOUT=1: the report is done within a few seconds,
    without file:line, after one question (for the program gone after recording too: its debug file,
    not then its executable); rstwatch run (which symbolizes quietly) asks nothing."""
    exe = build(ctx, "dial.c", "dial")
    bid, _ = split_debug(ctx, exe)
    logs = record(ctx, exe)
    server = Debuginfod(silent=True)
    try:
        for cache in ("cache", "cache-missing"):
            if cache == "cache-missing":
                shutil.copy(exe, exe + ".kept")
                os.unlink(exe)
            env = {"DEBUGINFOD_URLS": server.url, "DEBUGINFOD_TIMEOUT": "1",
                   "DEBUGINFOD_CACHE_PATH": os.path.join(ctx.tmp, cache)}
            seen, t0 = len(server.paths), time.monotonic()
            out, err = report(ctx, logs, env=env)
            took = time.monotonic() - t0
            print(f"report with a silent debuginfod ({cache}): {took:.2f} s")
            check(took < 3, f"the report took {took:.1f} s ({cache})")
            unsymbolized(frames(out), f"silent debuginfod ({cache})")
            want(f"stderr ({cache})", err, asking(server.url, 1) +
                 "rstwatch: debuginfod did not answer within 1 s: asking it nothing more\n")
            want(f"questions ({cache})", set(server.paths[seen:]), {f"/buildid/{bid}/debuginfo"})
        os.rename(exe + ".kept", exe)
        seen = len(server.paths)
        env = dict(watched_env(ctx.lib), **env)
        p = subprocess.run([ctx.rstwatch, "run", "-o", os.path.join(ctx.tmp, "run"), "--", exe, str(free_port())],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        check("debuginfod" not in p.stderr.decode(), f"rstwatch run: {p.stderr.decode()}")
        want("questions from rstwatch run", len(server.paths), seen)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(__doc__, CASES, Ctx, paths=("--rstwatch",)))
