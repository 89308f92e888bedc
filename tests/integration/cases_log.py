"""cases_log.py: integration cases about the log itself: RSTWATCH_LOG_MAX, and a log whose disk fills up
(a real 64 KiB tmpfs) and frees again: lost lines with exact counts, no torn line, one word on stderr."""

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time

from rswlog import case, normalize
from rswtest import EVENT_KINDS, Fail, Skip, check, diff, show, status, validate_line

# Log format v3 kinds this file's cases may meet besides the v2 ones rswtest knows.
V3_KINDS = {"lost", "log_max", "stack", "suppressed", "tally", "unload"}
QUIET = {"RSTWATCH_EVENTS": "errors", "RSTWATCH_RATE": "0"}  # one error line per refused connect
HERE = os.path.dirname(os.path.abspath(__file__))


def read_log(path, t0, t1):
    """(events, fragments) of a log that may have lost lines: every line ends in "\\n"; each is
    valid JSON with the common fields, or a fragment (bytes) left by a short write. seq numbers
    are unique per pid (gaps are lost lines)."""
    mode = os.stat(path).st_mode & 0o777
    check(mode == 0o600, f"{path}: mode {oct(mode)}, expected 0o600")
    with open(path, "rb") as f:
        data = f.read()
    check(data == b"" or data.endswith(b"\n"), f"{path}: last line not terminated (torn): {data[-200:]!r}")
    events, fragments, seen = [], [], set()
    for no, raw in enumerate(data.split(b"\n")[:-1], 1):
        where = f"{os.path.basename(path)}:{no}"
        try:
            ev = json.loads(raw.decode("utf-8", errors="strict"))
        except ValueError:
            fragments.append((no, raw))
            continue
        check(isinstance(ev, dict) and ev.get("v") == 3, f"{where}: not a v3 line: {raw[:300]!r}")
        for k in ("ts", "seq", "pid", "tid"):
            check(type(ev.get(k)) is int, f"{where}: {k} not an integer: {show(ev)}")
        check(t0 - 2_000_000_000 <= ev["ts"] <= t1 + 2_000_000_000, f"{where}: ts outside the run: {show(ev)}")
        if ev.get("ev") in EVENT_KINDS:
            validate_line(ev, where, t0, t1)
        else:
            check(ev.get("ev") in V3_KINDS, f"{where}: unknown ev: {show(ev)}")
        check((ev["pid"], ev["seq"]) not in seen, f"{where}: seq {ev['seq']} twice for pid {ev['pid']}")
        seen.add((ev["pid"], ev["seq"]))
        events.append(ev)
    return events, fragments


def seq_gaps(events, pid):
    seqs = sorted(e["seq"] for e in events if e["pid"] == pid)
    return seqs[-1] + 1 - len(seqs) if seqs else 0


def log_messages(stderr):
    return [line for line in stderr.splitlines() if line.startswith("rstwatch:")]


def same_as_bare(ctx, watched_rc, watched_out, bare_rc, bare_out, what):
    if watched_rc != bare_rc:
        raise Fail(f"{what}: {status(watched_rc)} under the preload, {status(bare_rc)} without")
    if normalize(watched_out) != normalize(bare_out):
        raise Fail(f"{what}: output differs under the preload:\n{diff(normalize(bare_out), normalize(watched_out))}")


# RSTWATCH_LOG_MAX ------------------------------------------------------------------------------

@case
def log_max(ctx):
    """RSTWATCH_LOG_MAX=16K and 300 error events: the lines that fit, then log_max, then (at exit)
    lost with the exact count; the file within 16384 bytes; one line on stderr."""
    n = 300
    env = {**QUIET, "RSTWATCH_LOG_MAX": "16K"}
    run, bare = ctx.both("t_logfull", str(n), "burst", env=env)
    run.expect_rc(0)
    check(run.stdout == bare.stdout, f"output:\n{diff(bare.stdout, run.stdout)}")
    path = os.path.join(run.logdir, f"t_logfull.{run.pid}.jsonl")
    size = os.path.getsize(path)
    check(size <= 16384, f"{path}: {size} bytes, more than RSTWATCH_LOG_MAX=16384")
    events, fragments = read_log(path, run.t0, run.t1)
    check(not fragments, f"fragments in a log that never failed: {fragments[:3]}")
    errors = [e for e in events if e["ev"] == "error"]
    with open(path, "rb") as f:
        raw = f.read().split(b"\n")[:-1]
    before = sum(len(line) + 1 for line in raw[:-2])  # the file starts empty
    longest = max(len(line) + 1 for line in raw)
    check(16384 - 1024 - longest < before <= 16384 - 1024,
          f"the lines before log_max take {before} bytes: not within a line of 16384 - 1024 (the reserve)")
    last, final = events[-2], events[-1]
    check(last["ev"] == "log_max" and last.get("log_max") == 16384, f"second to last line not log_max: {show(last)}")
    check(final["ev"] == "lost" and final.get("reason") == "log_max", f"last line not lost/log_max: {show(final)}")
    check(final.get("events") == n - len(errors),
          f"lost.events {final.get('events')}, expected {n} events - {len(errors)} error lines = {n - len(errors)}")
    check(seq_gaps(events, run.pid) == final["events"],
          f"{seq_gaps(events, run.pid)} seq numbers missing, lost says {final['events']}")
    check(all(e["ev"] in ("start", "module", "stack", "error") for e in events[:-2]), "other lines before log_max")
    want = (f"rstwatch: pid {run.pid} (t_logfull): the log {path} reached RSTWATCH_LOG_MAX (16384 bytes); "
            f"further events are counted, not written")
    check(run.stderr.splitlines() == [want], f"stderr: expected\n{want}\nseen:\n{run.stderr}")


# A full disk -----------------------------------------------------------------------------------

def on_small_fs(ctx, name, body):
    """Runs body(mountpoint) on a fresh 64 KiB tmpfs. The case runs again in a mount namespace of its
    own (`unshare -m` as root, `unshare -rm` (user+mount) otherwise), so the mount dies with it; as
    root without unshare, mounted here and unmounted after. Skip (77) when neither works."""
    if os.environ.get("RSW_SMALLFS_NS") or (shutil.which("unshare") is None and os.geteuid() == 0):
        mnt = os.path.join(ctx.tmp, "mnt")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip(f"cannot mount a 64 KiB tmpfs: {((r.stderr or r.stdout).strip().splitlines() or ['?'])[0]}")
        try:
            body(mnt)
        finally:
            subprocess.run(["umount", mnt], capture_output=True)
        return
    if shutil.which("unshare") is None:
        raise Skip("not root and no unshare(1) for a user+mount namespace: cannot mount a tmpfs")
    ns = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    argv = ns + [sys.executable, os.path.join(HERE, "rswcheck.py"), "--lib", ctx.lib, "--bindir", ctx.bindir, name]
    p = subprocess.run(argv, env={**os.environ, "RSW_SMALLFS_NS": "1"}, capture_output=True, text=True, timeout=60)
    if p.returncode == 0:
        return
    if p.returncode == 77:
        raise Skip(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "skipped in the namespace")
    if p.stderr.startswith("unshare:"):
        raise Skip(f"no mount namespace here ({p.stderr.strip().splitlines()[0]}): cannot mount a tmpfs")
    raise Fail(f"in a mount namespace:\n{p.stdout}{p.stderr}")


def wait_for(path, text, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, encoding="utf-8", errors="replace") as f:
            if text in f.read():
                return
        if proc.poll() is not None:
            raise Fail(f"the program exited ({status(proc.returncode)}) before printing {text!r}")
        time.sleep(0.01)
    raise Fail(f"no {text!r} from the program after {timeout} s")


def fill(path):
    """Writes path until the filesystem is full (ENOSPC); returns its size."""
    total, chunk = 0, b"f" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                w = os.write(fd, chunk)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    return total
                raise
            if w == 0:
                return total
            total += w
    finally:
        os.close(fd)


def rounds(ctx, n, preload, log, cwd, filler=None):
    """t_logfull n: one connect; the disk filled; n connects; the disk freed; n connects. Returns
    (exit status, stdout, stderr, t0, t1, pid)."""
    env = ctx.env(preload, {**QUIET, "RSTWATCH_LOG": log}, log)
    out_path, err_path = os.path.join(cwd, "stdout"), os.path.join(cwd, "stderr")
    t0 = time.time_ns()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([ctx.prog("t_logfull"), str(n)], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                stdout=out, stderr=err)
        try:
            wait_for(out_path, "wait round=1", proc)
            if filler:
                check(fill(filler) > 0, "the filler found no room")
            proc.stdin.write(b"g")
            proc.stdin.flush()
            wait_for(out_path, "wait round=2", proc)
            if filler:
                os.unlink(filler)
            proc.stdin.write(b"g")
            proc.stdin.close()
            rc = proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    t1 = time.time_ns()
    with open(out_path, encoding="utf-8") as f, open(err_path, encoding="utf-8", errors="replace") as g:
        return rc, f.read(), g.read(), t0, t1, proc.pid


def full_disk(ctx, name, shared):
    """The log's disk fills in the middle of the run, then has room again: one rstwatch: line, no
    torn line (cut off in a per-process log; ended by the next line in a shared one), and a lost
    line whose events are exactly the error lines that are not in the log."""
    n = 40

    def body(mnt):
        logs = os.path.join(mnt, "logs")
        os.mkdir(logs)
        log = os.path.join(logs, "shared.jsonl") if shared else logs
        bare_cwd, cwd = os.path.join(ctx.tmp, "bare"), os.path.join(ctx.tmp, "watched")
        os.mkdir(bare_cwd)
        os.mkdir(cwd)
        brc, bout, berr, *_ = rounds(ctx, n, False, log, bare_cwd)
        check(os.listdir(logs) == [], f"a run without the preload wrote logs: {os.listdir(logs)}")
        rc, out, err, t0, t1, pid = rounds(ctx, n, True, log, cwd, filler=os.path.join(mnt, "filler"))
        same_as_bare(ctx, rc, out, brc, bout, f"t_logfull {n}")
        path = log if shared else os.path.join(logs, f"t_logfull.{pid}.jsonl")
        msgs = log_messages(err)
        # a per-process log completes a short write or learns why it failed (ENOSPC); a shared
        # one cannot write the rest, so its first failure may be a short write with no errno
        cause = r"(ENOSPC|short write: \d+ of \d+ bytes)" if shared else "ENOSPC"
        pattern = (rf"rstwatch: pid {pid} \(t_logfull\): cannot write the log {re.escape(path)} "
                   rf"\({cause}\); events are counted until it can")
        check(len(msgs) == 1 and re.fullmatch(pattern, msgs[0]), f"expected one line matching\n{pattern}\nstderr:\n{err}")
        check(err.splitlines() == msgs, f"other output on stderr:\n{err}")
        events, fragments = read_log(path, t0, t1)
        if not shared:
            check(not fragments, f"torn lines left in a per-process log: {[f[:80] for _, f in fragments]}")
        for no, frag in fragments:  # shared: each ended by the next line, a prefix of a line
            check(frag and (frag.startswith(b'{"v":3,') or b'{"v":3,'.startswith(frag)) and frag.count(b'{"v":') <= 1,
                  f"line {no}: not a fragment of one log line: {frag[:200]!r}")
        errors = [e for e in events if e["ev"] == "error"]
        lost = [e for e in events if e["ev"] == "lost"]
        check(lost, f"no lost line; {len(errors)} of {2 * n + 1} error lines written")
        for e in lost:
            check(e.get("reason") == "write_failed" and type(e.get("events")) is int and e["events"] > 0,
                  f"lost line: {show(e)}")
            check(e.get("errno", "ENOSPC" if shared else None) == "ENOSPC", f"lost line errno: {show(e)}")
        total = sum(e["events"] for e in lost)
        check(total == 2 * n + 1 - len(errors),
              f"lost lines count {total}, expected {2 * n + 1} events - {len(errors)} error lines = {2 * n + 1 - len(errors)}")
        check(len(errors) >= n + 1, f"only {len(errors)} error lines: the room that came back was not used")
        check(seq_gaps(events, pid) >= total, "fewer seq gaps than lost events")
        check(events[-1]["ev"] in ("error", "lost"), f"last line: {show(events[-1])}")

    on_small_fs(ctx, name, body)


@case
def log_full(ctx):
    full_disk(ctx, "log_full", shared=False)


@case
def log_full_shared(ctx):
    full_disk(ctx, "log_full_shared", shared=True)


# RSTWATCH_LOG naming what does not exist yet ------------------------------------------------------

@case
def log_new_dir_or_file(ctx):
    """RSTWATCH_LOG=DIR/ (ending with /) for a missing DIR (two levels): the directory is made and holds
    one log per process; RSTWATCH_LOG=PATH for a missing PATH without the slash: one shared file, and
    the one process that created it says so in one line naming it."""
    run, bare = ctx.both("t_fork", env={**QUIET, "RSTWATCH_LOG": os.path.join(ctx.tmp, "made", "here") + "/"})
    d = os.path.join(ctx.tmp, "made", "here")
    check(os.path.isdir(d), f"{d}/ was not created")
    files = sorted(os.listdir(d))
    check(len(files) == 2 and all(f.startswith("t_fork.") and f.endswith(".jsonl") for f in files),
          f"{d}: one log per process (t_fork and its child), seen {files}")
    check(log_messages(run.stderr) == [], f"nothing to say on stderr: {run.stderr}")
    path = os.path.join(ctx.tmp, "logs")  # no extension: perhaps meant as a directory
    run = ctx.run("t_fork", env={**QUIET, "RSTWATCH_LOG": path})
    check(os.path.isfile(path), f"{path}: no file made")
    want = (f"rstwatch: pid {run.pid} (t_fork): RSTWATCH_LOG named nothing that exists: created the file {path} "
            f"(one file for every process); end the value with / for a directory of per-process logs")
    check(log_messages(run.stderr) == [want], f"stderr: expected\n{want}\nseen:\n{run.stderr}")
    with open(path) as f:
        pids = {json.loads(line)["pid"] for line in f}
    check(len(pids) == 2 and run.pid in pids, f"{path}: both processes' lines in the one file: pids {pids}")
    named = os.path.join(ctx.tmp, "shared.jsonl")  # a file name: the documented shared-file use, quiet
    run = ctx.run("t_fork", env={**QUIET, "RSTWATCH_LOG": named})
    check(os.path.isfile(named) and log_messages(run.stderr) == [], f"{named}: made quietly: {run.stderr}")
