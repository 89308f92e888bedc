#!/usr/bin/env python3
"""check_cleanup.py: samples/run leaves no namespace, veth, qdisc, nft table or process behind.

usage: check_cleanup.py REPO BUILD OUTDIR

Runs the namespace scenarios to completion, then interrupts the runner (SIGTERM, then SIGINT) in
the middle of a crash/reboot and of a blackhole, and after each run checks: no namespace named
after that run, no process left in the runner's session or using its output directory, and the
root namespace's links, qdiscs and nft tables exactly as they were before. Exit 77 when network
namespaces cannot be created here (not root, no netns support).
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rswtest  # noqa: E402

soft = rswtest.Soft()
failures = soft.failures


def sh(*cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout if r.returncode == 0 else ""


def root_state():
    """What the runner must never change in the namespace it runs in."""
    links = sorted(line.split(":")[1].strip().split("@")[0]
                   for line in sh("ip", "-o", "link", "show").splitlines() if ":" in line)
    return {"links": links, "qdiscs": sh("tc", "qdisc", "show"),
            "nft tables": sh("nft", "list", "tables")}


def leftovers(pid, outdir):
    found = [f"namespace {ns}" for ns in sh("ip", "netns", "list").split()
             if ns.startswith(f"rsw-{pid}-")]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, session = fields[0], int(fields[3])
        if state == "Z":
            continue  # already dead; its new parent reaps it
        if session == pid or outdir in cmdline:
            found.append(f"process {entry} ({cmdline.strip()})")
    return found


def run(outdir, env, scenarios, interrupt=None):
    """Run samples/run; with interrupt=(signal, line to wait for in the programs' output)."""
    before = root_state()
    runner = subprocess.Popen([os.path.join(REPO, "samples", "run"), "--quiet", "--out", outdir]
                              + scenarios, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    label = f"{' '.join(scenarios)}" + (f" interrupted by {interrupt[0].name}" if interrupt else "")
    if interrupt:
        progout = os.path.join(outdir, scenarios[0], "programs.txt")
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(progout) and interrupt[1] in open(progout).read():
                break
            time.sleep(0.02)
        else:
            failures.append(f"{label}: never saw {interrupt[1]!r}")
        runner.send_signal(interrupt[0])
    out, _ = runner.communicate(timeout=90)
    if interrupt:
        if runner.returncode != -interrupt[0]:
            failures.append(f"{label}: exit {runner.returncode}, want death by {interrupt[0].name}")
    elif runner.returncode != 0:
        failures.append(f"{label}: exit {runner.returncode}, want 0\n{out}")
    left = leftovers(runner.pid, outdir)
    for _ in range(100):  # killed processes may take a moment to vanish
        if not left:
            break
        time.sleep(0.05)
        left = leftovers(runner.pid, outdir)
    failures.extend(f"{label}: left behind: {x}" for x in left)
    after = root_state()
    for key in before:
        if before[key] != after[key]:
            failures.append(f"{label}: root namespace {key} changed:\n{before[key]}\n->\n{after[key]}")
    print(f"{label}: exit {runner.returncode}, {len(left)} left over")
    return out


def main():
    global REPO
    if len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} REPO BUILD OUTDIR")
    REPO, build, outdir = sys.argv[1:]
    env = dict(os.environ, RSTWATCH_BUILD=build)
    out = run(os.path.join(outdir, "complete"), env, ["peer-reboot", "unreachable", "blackhole"])
    skipped = [line for line in out.splitlines() if line.startswith("skipped: ")]
    if skipped:
        print(f"SKIP: {skipped[0][len('skipped: '):]}")
        sys.exit(77)
    run(os.path.join(outdir, "term"), env, ["peer-reboot"], (signal.SIGTERM, "idle: sending nothing"))
    run(os.path.join(outdir, "int"), env, ["blackhole"], (signal.SIGINT, "TCP_SYNCNT"))
    run(os.path.join(outdir, "int-loopback"), env, ["abort", "write-after-close"],
        (signal.SIGINT, "listening on"))


if __name__ == "__main__":
    main()
    sys.exit(soft.finish("nothing left behind", "samples/run left something behind or misbehaved"))
