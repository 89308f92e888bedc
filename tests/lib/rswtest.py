"""rswtest.py: what every rstwatch test driver shares (integration, inject, torture, samples, bench):
failing and skipping, matching log events, reading and validating JSON Lines logs, the environment
of a watched run, and the case table with the loop that runs its cases under CTest.

A driver imports it from tests/lib:
    sys.dont_write_bytecode = True  # keep the source tree clean
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import rswtest
"""

import argparse
import difflib
import json
import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback

SKIP = 77  # CTest SKIP_RETURN_CODE everywhere
MISSING = "<absent>"  # fields(..., key=MISSING): the field must be absent
EVENT_KINDS = {"start", "connect", "connected", "accept", "adopt", "eof", "shutdown", "close", "error",
               "signal", "inject", "io", "module", "unload", "stack", "suppressed", "tally", "lost", "log_max"}
# Lines a failures-mode log may write late (at the connection's first error), with the seq and tid
# of the moment they happened: exempt from the per-thread order of seq.
HELD_KINDS = {"connect", "connected", "accept", "adopt", "eof", "shutdown"}
MODES = ("errors", "failures", "conn", "all")
SCHEMA_VERSION = 3  # what the preload writes (common/rsw_schema.h)
WATCHED_ERRNOS = {"EPIPE", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
                  "EHOSTDOWN", "ENETDOWN", "ECONNABORTED"}
HEX = re.compile(r"^0x[0-9a-f]+$")
ERRNO_NAME = re.compile(r"^E[A-Z0-9]+$")


# ---- failing, skipping, matching ------------------------------------------------------------------

class Fail(Exception):
    """A check failed: the message says what was expected and what was seen."""


class Skip(Exception):
    """The case cannot run here (exit 77), the message says why."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Soft:
    """Checks that collect their failures instead of stopping at the first (the samples drivers)."""

    def __init__(self):
        self.failures = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
        return cond

    def finish(self, passed, failed):
        """Prints PASS passed, or FAIL failed and every failure; returns the exit status."""
        if self.failures:
            print(f"FAIL: {failed}")
            for f in self.failures:
                print(f"  - {f}")
            return 1
        print(f"PASS: {passed}")
        return 0


def show(ev):
    return json.dumps(ev, separators=(",", ":"))[:1500]


def fields(ev, /, **want):
    """Every named field of ev (a log event, or a program's output line with `what`) has exactly the
    wanted value and type (MISSING = must be absent)."""
    for key, value in want.items():
        seen = ev.get(key, MISSING)
        if seen != value or type(seen) is not type(value):
            what = f"{ev['ev']} event" if "ev" in ev else f"{ev['what']} line" if "what" in ev else "object"
            raise Fail(f"{what} field {key!r}: expected {value!r}, seen {seen!r}\n  in {show(ev)}")


def select(events, ev=None, **match):
    """The events of kind ev (None: any) whose fields equal every value in match."""
    return [e for e in events if (ev is None or e["ev"] == ev)
            and all(e.get(k, MISSING) == v for k, v in match.items())]


def only(events, ev, what="", **match):
    """The one event of kind ev matching match; fails, listing the log, unless there is exactly one."""
    found = select(events, ev, **match)
    if len(found) != 1:
        listing = "\n  ".join(show(e) for e in events) or "(empty log)"
        raise Fail(f"expected exactly one {ev} event {what}{match}, seen {len(found)}; the log:\n  {listing}")
    return found[0]


# pid -> {module id: path}, from the module lines of every log read so far (a frame names its
# module by id; the module line precedes the first line that needs it)
MODULES = {}
STACKS = {}  # pid -> stack id -> frames (v3 "stack" lines)


def elf_functions(path, _cache={}):
    """The function symbols of an ELF file as sorted (start, end, name), and the page of its first
    PT_LOAD segment (what a frame's off is relative to)."""
    if path not in _cache:
        _cache[path] = _read_elf_functions(path)
    return _cache[path]


def _read_elf_functions(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return [], 0
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only
        return [], 0
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    first_load = None
    for i in range(phnum):
        ptype, _, _, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if ptype == 1 and first_load is None:  # PT_LOAD
            first_load = vaddr & ~0xfff
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    funcs = []
    for sh in sections:
        if sh[1] not in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            continue
        strtab = sections[sh[6]][4]
        for off in range(sh[4], sh[4] + sh[5], 24):
            name, info, _, _, value, size = struct.unpack_from("<IBBHQQ", data, off)
            if info & 0xf == 2 and value:  # STT_FUNC
                end = data.index(b"\0", strtab + name)
                funcs.append((value, value + max(size, 1), data[strtab + name:end].decode()))
    funcs.sort()
    return funcs, first_load or 0


def frame_function(pid, frame):
    """The function a frame is in, symbolized offline from its module's ELF symbol tables (None if
    unknown); a return address is looked up one byte back, inside the call."""
    path = MODULES.get(pid, {}).get(frame.get("m"))
    if not path or "off" not in frame:
        return None
    funcs, base = elf_functions(path)
    addr = int(frame["off"], 16) + base - 1
    for start, end, name in funcs:
        if start <= addr < end:
            return name
    return None


def syms(ev):
    return [frame_function(ev.get("pid"), f) for f in ev.get("bt", []) if isinstance(f, dict)]


def has_sym(ev, name):
    """The event's backtrace names the function `name` (the test program's own function)."""
    check("bt" in ev, f"{ev['ev']} event has no bt: {show(ev)}")
    check(name in syms(ev), f"{ev['ev']} event bt does not name {name!r}; its syms: {syms(ev)}\n  in {show(ev)}")


def status(rc):
    """A subprocess return code as words: 'exit 1', 'killed by SIGPIPE'."""
    return f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"


def diff(without, with_, what="with the preload"):
    """A unified diff of two outputs: without the preload, and with it (or `what`)."""
    return "".join(difflib.unified_diff(without.splitlines(True), with_.splitlines(True),
                                        "without the preload", what))


# ---- the environment of a run --------------------------------------------------------------------

def watched_env(lib=None, **extra):
    """os.environ without any RSTWATCH_* variable or LD_PRELOAD (so nothing leaks in from whoever runs
    the tests); with lib, LD_PRELOAD=lib. Then extra: a value of None removes the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSTWATCH_") and k != "LD_PRELOAD"}
    if lib:
        env["LD_PRELOAD"] = lib
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def listening(port):
    """Something listens on loopback TCP port `port` (read from /proc/net/tcp*, without connecting:
    a probe connection would show up in the server's log)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


# ---- logs ----------------------------------------------------------------------------------------

def validate_frame(ev, frame, where):
    # Messages are only formatted on failure: torture logs have tens of thousands of lines.
    def bad(what):
        raise Fail(f"{where}: {what}: {frame if isinstance(frame, dict) else show(ev)}")
    if not isinstance(frame, dict):
        bad("bt frame is not an object")
    if not (isinstance(frame.get("ip"), str) and HEX.match(frame["ip"])):
        bad("bt frame ip not 0x-hex")
    if not set(frame) <= {"ip", "m", "off"}:
        bad("unknown frame keys (v2: ip, m, off)")
    if "m" in frame:
        if not (isinstance(frame.get("off"), str) and HEX.match(frame["off"])):
            bad("bt frame off not 0x-hex")
        path = MODULES.get(ev["pid"], {}).get(frame["m"])
        if path is None:
            bad(f"bt frame names module {frame['m']} before any module line of pid {ev['pid']} gave it")
        if path.endswith(("librstwatch.so", "librstwatch-portable.so")):
            bad("the library's own frame left in bt")
        if int(frame["off"], 16) > int(frame["ip"], 16):
            bad("off > ip")


def validate_module(ev, where):
    def bad(what):
        raise Fail(f"{where}: {what}: {show(ev)}")
    if not (type(ev.get("id")) is int and ev["id"] >= 1):
        bad("module id not an integer >= 1")
    if not (isinstance(ev.get("path"), str) and ev["path"]):
        bad("module path missing")
    if not (isinstance(ev.get("base"), str) and HEX.match(ev["base"])):
        bad("module base not 0x-hex")
    MODULES.setdefault(ev["pid"], {})[ev["id"]] = ev["path"]


def validate_line(ev, where, t0=None, t1=None):
    """The fields every line has, and the types of those that recur; with t0/t1 (ns since the epoch),
    ts within the run."""
    def bad(what):
        raise Fail(f"{where}: {what}: {show(ev)}")
    if not isinstance(ev, dict):
        raise Fail(f"{where}: not a JSON object")
    if not (type(ev.get("v")) is int and ev["v"] == SCHEMA_VERSION):
        bad(f"v is {ev.get('v', MISSING)!r}, expected {SCHEMA_VERSION}")
    for k in ("ts", "seq", "pid", "tid"):
        if type(ev.get(k)) is not int:
            bad(f"{k} not an integer")
    if t0 is not None and not t0 - 2_000_000_000 <= ev["ts"] <= t1 + 2_000_000_000:
        bad(f"ts {ev['ts']} outside the run [{t0}, {t1}] (nanoseconds since the epoch?)")
    if ev.get("ev") not in EVENT_KINDS:
        bad(f"unknown ev {ev.get('ev')!r}")
    for k in ("fd", "conn", "ret", "bytes_in", "bytes_out", "lfd", "cookie", "ppid"):
        if k in ev and type(ev[k]) is not int:
            bad(f"{k} not an integer")
    if "conn" in ev and ev["conn"] < 1:
        bad("conn < 1")
    if "errno" in ev and not (isinstance(ev["errno"], str) and ERRNO_NAME.match(ev["errno"])):
        bad("errno not a name")
    if "family" in ev and ev["family"] not in ("inet", "inet6", "unix", "pipe"):
        bad("bad family")
    if ev["ev"] == "error" and ev.get("errno") not in WATCHED_ERRNOS:
        bad("error event with errno outside the watched set")
    if ev["ev"] == "module":
        validate_module(ev, where)
    if ev["ev"] == "start" and (ev.get("mode") not in MODES or type(ev.get("rate")) is not int
                                or type(ev.get("log_max")) is not int):
        bad("start line without mode, rate and log_max")
    if ev["ev"] in ("suppressed", "tally") and not (
            type(ev.get("count" if ev["ev"] == "suppressed" else "conns")) is int
            and type(ev.get("first_ts")) is int and type(ev.get("last_ts")) is int
            and ev["first_ts"] <= ev["last_ts"]):
        bad(f"{ev['ev']} line without its counts and time range")
    if "stack" in ev and ev["ev"] != "stack":
        if "bt" in ev:
            bad("both stack and bt")
        bt = STACKS.get(ev["pid"], {}).get(ev["stack"])
        if bt is None:
            bad(f"stack {ev['stack']} before any stack line of pid {ev['pid']} gave it")
        ev["bt"] = bt  # the frames, for the checks below and for the tests
    if ev["ev"] == "stack":
        if not (type(ev.get("id")) is int and ev["id"] >= 1 and isinstance(ev.get("bt"), list)):
            bad("stack line without id and bt")
        STACKS.setdefault(ev["pid"], {})[ev["id"]] = ev["bt"]
    if "bt" in ev:
        if not isinstance(ev["bt"], list):
            bad("bt not an array")
        for frame in ev["bt"]:
            validate_frame(ev, frame, where)


def check_image(seqs, name, pid, gaps=False):
    """seq numbers of one process image: 0..n-1 exactly; in failures mode unique (lines held
    for connections that never failed are never written: gaps)."""
    if gaps and seqs is not None:
        check(len(set(seqs)) == len(seqs), f"{name}: pid {pid}: duplicate seq numbers")
        return
    if seqs is not None and sorted(seqs) != list(range(len(seqs))):
        missing = sorted(set(range(max(seqs) + 1)) - set(seqs))
        raise Fail(f"{name}: pid {pid}: seq numbers not 0..{len(seqs) - 1}: missing {missing[:20]}, "
                   f"duplicates {sorted(s for s in set(seqs) if seqs.count(s) > 1)[:20]}")


def parse_lines(raw_lines, name, t0=None, t1=None):
    """Every line (bytes, without its newline) parses as UTF-8 JSON and has the common fields. Per
    process image (a start line, seq 0, begins one) the seq numbers are exactly 0..n-1 (no gap, no
    duplicate) and rise in file order within each thread (threads may append in another order than
    they drew their numbers)."""
    lines = []
    failures = {}  # pid -> its current image logs in failures mode (held lines, seq gaps)
    images = {}  # pid -> list of seq of its current image
    last_of_tid = {}
    for no, raw in enumerate(raw_lines, 1):
        where = f"{name}:{no}"
        try:
            ev = json.loads(raw.decode("utf-8", errors="strict"))
        except ValueError as exc:
            raise Fail(f"{where}: not JSON ({exc}): {raw[:300]!r}")
        validate_line(ev, where, t0, t1)
        pid, tid = ev["pid"], ev["tid"]
        if ev["ev"] == "start":
            check(ev["seq"] == 0, f"{where}: start line with seq {ev['seq']}, expected 0")
            check(ev.get("origin") in ("exec", "fork"), f"{where}: start origin {ev.get('origin')!r}")
            check(tid == pid, f"{where}: start line from tid {tid} of pid {pid}")
            MODULES.pop(pid, None)  # a new image (or a forked child): its module lines follow
            STACKS.pop(pid, None)
            failures[pid] = ev.get("mode") == "failures"
            check_image(images.get(pid), name, pid)
            images[pid] = []
            last_of_tid = {k: v for k, v in last_of_tid.items() if k[0] != pid}
        else:
            if pid not in images:
                raise Fail(f"{where}: pid {pid}: line before its start line: {show(ev)}")
            held = failures.get(pid) and ev["ev"] in HELD_KINDS
            prev = last_of_tid.get((pid, tid), -1)
            if ev["seq"] <= prev and not held:
                raise Fail(f"{where}: tid {tid}: seq {ev['seq']} after its own seq {prev}")
        images[pid].append(ev["seq"])
        if not (failures.get(pid) and ev["ev"] in HELD_KINDS):
            last_of_tid[(pid, tid)] = ev["seq"]
        lines.append(ev)
    for pid, seqs in images.items():
        check_image(seqs, name, pid, gaps=failures.get(pid))
    return lines


def _read(path):
    mode = os.stat(path).st_mode & 0o777
    check(mode == 0o600, f"{path}: mode {oct(mode)}, expected 0o600")
    with open(path, "rb") as f:
        parts = f.read().split(b"\n")
    return parts[:-1], parts[-1]  # the complete lines, and what follows the last newline


def parse_text(text, name, t0=None, t1=None):
    """The events of a log read as text (a log written to stderr): complete lines, all valid."""
    check(text == "" or text.endswith("\n"), f"{name}: last line not terminated (torn?): {text[-200:]!r}")
    return parse_lines([line.encode("utf-8") for line in text.split("\n")[:-1]], name, t0, t1)


def load_log(path, t0=None, t1=None):
    """The events of one log file (mode 0600), every line complete and valid (parse_lines)."""
    lines, tail = _read(path)
    check(not tail, f"{os.path.basename(path)}: last line not terminated (torn?): {tail[-200:]!r}")
    return parse_lines(lines, os.path.basename(path), t0, t1)


def load_cut_log(path):
    """The log of a process killed while writing: (its complete lines, all valid; the unterminated
    fragment after the last newline, b'' if none)."""
    lines, tail = _read(path)
    return parse_lines(lines, os.path.basename(path)), tail


# ---- cases ---------------------------------------------------------------------------------------

def registry():
    """(cases, case): a driver's case table and the decorator that adds a function to it by name."""
    cases = {}

    def case(fn):
        cases[fn.__name__] = fn
        return fn
    return cases, case


class Scratch:
    """A case's scratch directory (self.tmp): removed after the case, kept (and named) on failure."""

    def __init__(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix)

    def cleanup(self, keep=False):
        if keep:
            print(f"scratch directory kept: {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def run_cases(cases, names, new_ctx, keep=False):
    """Runs each named case as cases[name](new_ctx()); prints PASS, SKIP or FAIL with the reason.
    Returns 0 if all passed, 77 if some were skipped and none failed, else 1."""
    rc = 0
    for name in names:
        if name not in cases:
            print(f"FAIL {name}: no such case; cases: {' '.join(sorted(cases))}", file=sys.stderr)
            rc = 1
            continue
        ctx, t0, failed = new_ctx(), time.monotonic(), True
        try:
            cases[name](ctx)
            print(f"PASS {name} ({time.monotonic() - t0:.1f} s)", flush=True)
            failed = False
        except Skip as exc:
            print(f"SKIP {name}: {exc}", file=sys.stderr)
            rc = rc or SKIP
            failed = False
        except Fail as exc:
            print(f"FAIL {name}: {exc}", file=sys.stderr)
            rc = 1
        except Exception:
            print(f"FAIL {name}: driver error\n{traceback.format_exc()}", file=sys.stderr)
            rc = 1
        finally:
            ctx.cleanup(keep or failed)
    return rc


def main(doc, cases, new_ctx, paths=()):
    """A driver's command line: --lib LIB, one required option per name in paths (e.g. "--bindir"),
    [--keep], and the case names (default: all). With --table, checks instead that the names given
    (CMake's case table) are exactly the driver's cases. new_ctx(args) makes a case's context.
    Returns the exit status."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, help="librstwatch.so")
    for p in paths:
        ap.add_argument(p, required=True)
    ap.add_argument("--table", action="store_true", help="check that the given case names are exactly the driver's")
    ap.add_argument("--keep", action="store_true", help="keep every case's scratch directory")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    if a.table:
        missing, extra = set(cases) - set(a.cases), set(a.cases) - set(cases)
        if missing or extra:
            print(f"case table drift: not in the CMake table {sorted(missing)}, not in the driver {sorted(extra)}")
            return 1
        print(f"table ok: {len(cases)} cases")
        return 0
    if not os.path.exists(a.lib):
        print(f"FAIL: {a.lib} is not built", file=sys.stderr)
        return 1
    a.lib = os.path.abspath(a.lib)
    return run_cases(cases, a.cases or sorted(cases), lambda: new_ctx(a), a.keep)
