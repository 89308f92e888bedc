#!/usr/bin/env python3
"""browser_check.py: checks `rstwatch report --format chrome|html` output against the report it renders.

chrome: the trace must be valid Trace Event Format JSON with one track per connection and every
        error/signal/injection as an instant event carrying errno, call and the backtrace.
html:   the page is loaded in a real headless chromium (--dump-dom and --screenshot): one SVG
        timeline per connection, the verdicts shown, the script ran (a #cN-eK link opens that
        backtrace), nothing from the logs became markup, and the screenshot is a real picture.

The report comes either from a JSON file (rendered by browser_harness) or from the real CLI
(`rstwatch report --format json` on logs, then the same logs in the format under test).
Exit 0 = pass, 1 = fail, 77 = skipped (chromium not installed).
"""
import argparse, html.parser, json, os, shutil, signal, struct, subprocess, sys, tempfile, zlib

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
    return cond


def produce(args, fmt, out):
    """Renders the report in fmt into out; returns the report (a dict, docs/report-json.md)."""
    if args.harness:
        subprocess.run([args.harness, fmt, args.report, out], check=True)
        with open(args.report, encoding="utf-8") as f:
            return json.load(f)
    cmd = [args.cli, "report"]
    rep = subprocess.run(cmd + ["--format", "json"] + args.logs, check=True,
                         stdout=subprocess.PIPE).stdout
    subprocess.run(cmd + ["--format", fmt, "-o", out] + args.logs, check=True)
    return json.loads(rep)


def frame_text(fr):
    if fr.get("func") and fr.get("file"):
        return fr["func"] + " (" + fr["file"] + (":%d" % fr["line"] if fr.get("line") else "") + ")"
    name = fr.get("func") or fr.get("sym")
    where = "%s+%s" % (fr.get("obj"), fr.get("off"))
    return "%s (%s)" % (name, where) if name else where


def check_chrome(args):
    out = os.path.join(args.out_dir, args.name + ".trace.json")
    report = produce(args, "chrome", out)
    conns = report["connections"]
    with open(out, encoding="utf-8") as f:
        trace = json.load(f)  # raises (fails the test) on invalid JSON
    evs = trace.get("traceEvents") if isinstance(trace, dict) else None
    if not check(isinstance(evs, list) and evs, "traceEvents is a non-empty array"):
        return
    for i, e in enumerate(evs):
        ok = (isinstance(e, dict) and e.get("ph") in ("M", "X", "i", "B", "E")
              and isinstance(e.get("ts"), (int, float)) and isinstance(e.get("pid"), int)
              and isinstance(e.get("tid"), int) and isinstance(e.get("name"), str))
        check(ok, "event %d has ph/ts/pid/tid/name: %r" % (i, e))
        if ok and e["ph"] == "i":
            check(e.get("s") == "t", "instant event %d is thread-scoped" % i)
        if ok and e["ph"] == "X":
            check(isinstance(e.get("dur"), (int, float)) and e["dur"] >= 0, "X event %d has dur" % i)
    slices = [e for e in evs if e.get("ph") == "X"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in evs
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    tracks = [(e["pid"], e["tid"]) for e in slices]
    check(len(slices) == len(conns), "one slice per connection: %d slices, %d connections"
          % (len(slices), len(conns)))
    check(len(set(tracks)) == len(tracks), "every connection has its own track")
    check(len(names) == len(conns), "one thread_name per connection: %d" % len(names))
    pnames = {e["pid"]: e["args"]["name"] for e in evs
              if e.get("ph") == "M" and e.get("name") == "process_name"}
    n_err = 0
    for c, x in zip(conns, slices):
        track = (x["pid"], x["tid"])
        want = "%s → %s (%s)" % (c["local"], c["peer"], c["verdict"])
        check(names.get(track) == want, "track name %r == %r" % (names.get(track), want))
        check(x["pid"] == c["pid"], "track of %s is in process %d" % (c["id"], c["pid"]))
        check((c.get("exe") or "") in pnames.get(c["pid"], ""), "process %d named after %r" % (c["pid"], c["exe"]))
        check(abs(x["ts"] - c["start_ts"] / 1000) < 0.01, "%s slice starts at start_ts" % c["id"])
        check(abs(x["dur"] - (c["end_ts"] - c["start_ts"]) / 1000) < 0.01, "%s slice lasts" % c["id"])
        check(x["args"].get("verdict") == c["verdict"], "%s slice args name the verdict" % c["id"])
        inst = [e for e in evs if e.get("ph") == "i" and (e["pid"], e["tid"]) == track]
        for ev in c["events"]:
            if ev["ev"] not in ("error", "signal", "inject"):
                continue
            n_err += 1
            hit = [e for e in inst if e["args"].get("ev") == ev["ev"]
                   and abs(e["ts"] - ev["ts"] / 1000) < 0.01 and e.get("cat") == ev["ev"]]
            if not check(len(hit) == 1, "%s: one instant event for %s at %d" % (c["id"], ev["ev"], ev["t"])):
                continue
            a = hit[0]["args"]
            check(a.get("errno") == ev.get("errno"), "%s %s errno %r == %r"
                  % (c["id"], ev["ev"], a.get("errno"), ev.get("errno")))
            check(a.get("call") == ev.get("call"), "%s %s call %r" % (c["id"], ev["ev"], a.get("call")))
            want_bt = [frame_text(fr) for fr in ev.get("bt") or []]
            check(a.get("backtrace", []) == want_bt, "%s %s backtrace %r == %r"
                  % (c["id"], ev["ev"], a.get("backtrace"), want_bt))
    check(n_err > 0, "the report has error events to check")
    check(trace.get("otherData", {}).get("verdicts") == report["summary"].get("verdicts"),
          "otherData.verdicts is the summary's")
    print("chrome: %d events, %d tracks, %d error/signal/inject events checked"
          % (len(evs), len(slices), n_err))


class Dom(html.parser.HTMLParser):
    """What the checks need from the rendered DOM."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **want):
        return [a for t, a in self.tags if t == tag and all(
            k in a and (v is True or v in (a[k] or "").split() or a[k] == v) for k, v in want.items())]


def chromium(args, *extra):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--user-data-dir=" + profile, "--window-size=1200,1600"] + list(extra)
        # Its own process group, so a hung page (a blocking dialog, a loop) takes all of it down.
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise SystemExit("FAIL: chromium did not finish the page within 60 s: " + cmd[-1])
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        raise SystemExit("FAIL: chromium exited with %d: %s" % (p.returncode, " ".join(cmd)))
    return out.decode("utf-8")


def read_png(path):
    """(width, height, rows of RGB(A) bytes): a small PNG decoder (8-bit RGB/RGBA, no interlace)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body, pos = data[pos + 8:pos + 8 + n], pos + 12 + n
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG layout %r" % (hdr,))
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev, i = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp), 0
    for _ in range(h):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_html(args):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        print("browser_check: chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 77
    page = os.path.abspath(os.path.join(args.out_dir, args.name + ".html"))
    shot = os.path.abspath(os.path.join(args.out_dir, args.name + ".png"))
    report = produce(args, "html", page)
    conns = report["connections"]
    with open(page, encoding="utf-8") as f:
        source = f.read()
    style = source[source.find("<style>"):source.find("</style>")]
    check("url(" not in style and "@import" not in style, "the styles load nothing")
    # The event to deep-link: the first signal with a backtrace, else the first such error.
    cands = [(ev["ev"] != "signal", "c%d-e%d" % (ci + 1, ei)) for ci, c in enumerate(conns)
             for ei, ev in enumerate(c["events"]) if ev["ev"] in ("signal", "error") and ev.get("bt")]
    target = min(cands)[1] if cands else None
    url = "file://" + page + ("#" + target if target else "")
    dom, raw = Dom(), chromium(args, "--dump-dom", url)
    dom.feed(raw)
    text = " ".join(dom.text)

    svgs = dom.find("svg", **{"class": "timeline"})
    secs = dom.find("section", **{"class": "conn"})
    check(len(svgs) == len(conns), "one SVG timeline per connection: %d svg, %d connections"
          % (len(svgs), len(conns)))
    check([s.get("data-verdict") for s in secs] == [c["verdict"] for c in conns],
          "sections carry the verdicts in report order")
    for v in sorted({c["verdict"] for c in conns}):
        check(v in text, "verdict %r appears on the page" % v)
    for v, n in report["summary"].get("verdicts", {}).items():
        check(dom.find("a", **{"data-filter": v}), "header has a %s filter (%d)" % (v, n))
    for v in {c["verdict"] for c in conns}:
        n = sum(c["verdict"] == v for c in conns)
        check(raw.count('<span class="badge v-%s">%s</span>' % (v, v)) == n,
              "%d connection badge(s) say %s" % (n, v))
    for c in conns:
        check("%s → %s" % (c["local"], c["peer"]) in text, "%s titled local → peer" % c["id"])
        check(c.get("explanation", "") in text, "explanation of %s shown verbatim" % c["id"])
        check((c.get("exe") or "") in text, "exe of %s shown verbatim" % c["id"])
    # Every failure is marked and its mark points at the event's row.
    ids = {a.get("id") for _, a in dom.tags}
    n_fail = sum(1 for c in conns for e in c["events"] if e["ev"] in ("error", "signal", "inject"))
    marks = [a for a in dom.find("g", **{"class": "mk"})
             if {"err", "sig", "inj"} & set(a["class"].split())]
    check(len(marks) == n_fail, "one red/orange mark per error/signal/injection: %d marks, %d events"
          % (len(marks), n_fail))
    check(all(m.get("data-ev") in ids for m in marks), "every mark points at an event row")
    check(not any("src" in a or t == "link" or (a.get("href") or "#")[:1] != "#" for t, a in dom.tags),
          "the page loads nothing from the network (no src, link or outside href)")
    # Nothing from the logs turned into markup or ran.
    check(len(dom.find("img")) == 0, "no <img> injected from log content")
    check(len(dom.find("script")) == 1, "exactly one (our own) script element")
    check(not any("data-pwned" in a for t, a in dom.tags if t == "body"), "no script from logs ran")
    check(not any("onerror" in a or "onload" in a for _, a in dom.tags), "no event handler attributes")
    # The page's script ran in the browser: the deep link opened that backtrace.
    if check(target is not None, "the report has a backtrace to open"):
        li = [a for t, a in dom.tags if t == "li" and a.get("id") == target]
        check(li and "hit" in (li[0].get("class") or "").split(), "deep link %s highlighted" % target)
        after = dom.tags[[a for _, a in dom.tags].index(li[0]) + 1:] if li else []
        bt = [a for t, a in after[:3] if t == "details" and "bt" in (a.get("class") or "").split()]
        check(bt and "open" in bt[0], "deep link %s opened its backtrace" % target)

    if os.path.exists(shot):
        os.unlink(shot)
    chromium(args, "--screenshot=" + shot, "file://" + page)  # the top: header, first timelines
    if check(os.path.exists(shot), "screenshot %s written" % shot):
        w, h, bpp, rows = read_png(shot)
        check((w, h) == (1200, 1600), "screenshot is 1200x1600: %dx%d" % (w, h))
        colors, red = set(), 0
        for row in rows[::2]:
            for x in range(0, w * bpp, bpp * 2):
                r, g, b = row[x], row[x + 1], row[x + 2]
                colors.add((r >> 4, g >> 4, b >> 4))
                red += r > 180 and g < 90 and b < 90
        check(os.path.getsize(shot) > 20000, "screenshot is not trivial (%d bytes)" % os.path.getsize(shot))
        check(len(colors) > 30, "screenshot has many colors (%d)" % len(colors))
        check(red > 40, "screenshot shows red error marks (%d sampled pixels)" % red)
        print("html: %d timelines, %d marks; screenshot %s (%d colors, %d red samples)"
              % (len(svgs), len(marks), shot, len(colors), red))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=("chrome", "html"))
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--name", default="browser_report")
    ap.add_argument("--harness")
    ap.add_argument("--report")
    ap.add_argument("--cli")
    ap.add_argument("logs", nargs="*")
    args = ap.parse_intermixed_args()
    os.makedirs(args.out_dir, exist_ok=True)
    rc = check_chrome(args) if args.format == "chrome" else check_html(args)
    if rc == 77:
        return 77
    for f in FAILS:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
