#!/usr/bin/env python3
"""Replays the hostile inputs of issue 12 against a real vmtrace-server.

    hostile_requests.py SERVER TEST_DATA WORKDIR

Starts SERVER on a free loopback port with a fresh data dir and trace roots
(TEST_DATA and WORKDIR/traces), builds the damaged traces in WORKDIR/traces,
sends every request of the issue's reproductions (deep JSON, catastrophic
and deeply nested regexes, huge item lists and pages, damaged traces, NUL
bytes, foreign origins and hosts, paths outside the roots) and checks what
a user would see: each gets a clear answer (a TSP error body where it is an
error), none crashes or hangs the server, /health keeps answering while the
worst ones run, and SIGTERM still stops it cleanly. Prints one summary line
with the counts (the figures of docs/benchmarks.md). The time guards are
hang detectors (the issue's hangs lasted > 20 s), not performance limits.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HANG_GUARD_S = 60

failures = []
requests_sent = 0


def fail(what):
    failures.append(what)
    print("FAIL: " + what, flush=True)


class Server:
    def __init__(self, binary, data_dir, roots, log):
        args = [binary, "--port", "0", "--data-dir", data_dir,
                "--log-level", "warning"]
        for r in roots:
            args += ["--trace-root", r]
        self.out = open(log + ".out", "w+")
        self.err = open(log + ".err", "w+")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err)
        self.port = None
        for _ in range(300):
            self.out.seek(0)
            m = re.search(r"listening on http://[^:]+:(\d+)/tsp/api",
                          self.out.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if self.port is None:
            self.err.seek(0)
            raise SystemExit("server did not start: " + self.err.read())

    def alive(self):
        return self.proc.poll() is None

    def request(self, method, path, body=None, headers=None,
                timeout=HANG_GUARD_S):
        global requests_sent
        requests_sent += 1
        h = {"Host": "127.0.0.1:%d" % self.port}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            c.request(method, "/tsp/api" + path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, dict(r.getheaders()), data
        except (OSError, http.client.HTTPException) as e:
            return None, {}, str(e).encode()
        finally:
            c.close()

    def post(self, path, obj, **kw):
        body = obj if isinstance(obj, str) else json.dumps(obj)
        return self.request("POST", path, body, **kw)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def expect_error(name, resp, codes):
    status, headers, body = resp
    if status is None:
        fail("%s: no answer (%s)" % (name, body[:200]))
        return
    if status not in codes:
        fail("%s: status %s, expected one of %s: %s" %
             (name, status, codes, body[:300]))
        return
    try:
        j = json.loads(body)
    except ValueError:
        fail("%s: error body is not JSON: %r" % (name, body[:200]))
        return
    if not isinstance(j, dict) or "title" not in j:
        fail("%s: not a TSP error body: %r" % (name, body[:200]))


def expect_status(name, resp, codes):
    if resp[0] not in codes:
        fail("%s: status %s, expected %s: %r" %
             (name, resp[0], codes, resp[2][:300]))


def wait_indexed(srv, uuid):
    deadline = time.time() + HANG_GUARD_S
    while time.time() < deadline:
        s, _, b = srv.request("GET", "/experiments/" + uuid)
        if s != 200:
            return None
        e = json.loads(b)
        if e.get("indexingStatus") != "RUNNING":
            return e
        time.sleep(0.05)
    fail("experiment %s never left RUNNING" % uuid)
    return None


def open_experiment(srv, path, name):
    s, _, b = srv.post("/traces", {"parameters": {"uri": path, "name": name}})
    if s != 200:
        return s, json.loads(b) if b else None
    t = json.loads(b)
    s, _, b = srv.post("/experiments",
                       {"parameters": {"name": name, "traces": [t["UUID"]]}})
    if s != 200:
        return s, json.loads(b) if b else None
    return 200, wait_indexed(srv, json.loads(b)["UUID"])


class HealthProbe(threading.Thread):
    """Polls /health while the hostile requests run; keeps the worst wait."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.stop_flag, self.worst, self.missed = srv, False, 0.0, 0

    def run(self):
        while not self.stop_flag:
            t = time.time()
            s, _, _ = self.srv.request("GET", "/health", timeout=20)
            self.worst = max(self.worst, time.time() - t)
            if s != 200:
                self.missed += 1
            time.sleep(0.05)


TABLE = ("/table/org.eclipse.tracecompass.internal.provisional.tmf.core."
         "model.events.TmfEventTableDataProvider/lines")


def damaged_traces(src, plain, dst):
    """Copies of small traces, damaged the ways the issue found (`plain` has
    text metadata, so its clock can be edited)."""
    out = {}
    os.makedirs(dst, exist_ok=True)
    streams = sorted(f for f in os.listdir(src)
                     if f != "metadata" and not f.startswith(".") and
                     os.path.isfile(os.path.join(src, f)))
    # A stream file that is a FIFO, and one that is a link to /dev/zero.
    for kind in ("fifo", "devzero"):
        d = os.path.join(dst, kind)
        shutil.copytree(src, d)
        victim = os.path.join(d, streams[-1])
        os.remove(victim)
        if kind == "fifo":
            os.mkfifo(victim)
        else:
            os.symlink("/dev/zero", victim)
        out[kind] = d
    # TSDL metadata nesting 30,000 structs.
    d = os.path.join(dst, "deep-tsdl")
    shutil.copytree(src, d)
    with open(os.path.join(d, "metadata"), "w") as f:
        f.write("/* CTF 1.8 */\n")
        f.write("typealias integer { size = 8; align = 8; signed = false; }"
                " := uint8_t;\n")
        f.write("trace { major = 1; minor = 8; byte_order = le; };\n")
        f.write("event { name = deep; fields := " + "struct { " * 30000 +
                "uint8_t x; " + "} y; " * 29999 + "}; };\n")
    out["deep-tsdl"] = d
    # A clock whose offset_s overflows the nanosecond range.
    d = os.path.join(dst, "clock-overflow")
    shutil.copytree(plain, d)
    meta = os.path.join(d, "metadata")
    with open(meta) as f:
        text = f.read()
    if "offset_s" in text:
        text = re.sub(r"offset_s\s*=\s*\d+", "offset_s = 9223372036854775",
                      text)
    else:
        text = text.replace("clock {", "clock {\n\toffset_s = "
                            "9223372036854775;", 1)
    with open(meta, "w") as f:
        f.write(text)
    out["clock-overflow"] = d
    return out


def main():
    server_bin, test_data, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    traces = os.path.join(work, "traces")
    small = os.path.join(test_data, "tracevizlab-simple-kernel-8cpu")
    bad = damaged_traces(
        small, os.path.join(test_data, "synthetic", "scenario-kvm-4cpu"),
        traces)
    srv = Server(server_bin, os.path.join(work, "data"), [test_data, traces],
                 os.path.join(work, "server"))
    probe = HealthProbe(srv)
    probe.start()

    status, exp = open_experiment(srv, small, "simple")
    if status != 200 or not exp or exp.get("indexingStatus") != "COMPLETED":
        raise SystemExit("cannot open the test trace: %s %s" % (status, exp))
    outputs = "/experiments/%s/outputs" % exp["UUID"]
    rng = {"start": exp["start"], "end": exp["end"]}

    # 1. Nesting: JSON 90,000 deep, a regex of 50,000 nested groups.
    deep = '{"parameters":{"x":' + "[" * 90000 + "]" * 90000 + "}}"
    expect_error("deep JSON /traces", srv.post("/traces", deep), {400})
    expect_error("deep JSON /experiments",
                 srv.post("/experiments", deep), {400})
    expect_error("deep JSON lines", srv.post(outputs + TABLE, deep), {400})
    nested = "(" * 50000 + "a" + ")" * 50000
    expect_error("nested regex", srv.post(outputs + TABLE, {"parameters": {
        "requested_table_index": 0, "requested_table_count": 10,
        "table_search_expressions": {"1": nested},
        "table_search_direction": "NEXT"}}), {400})

    # 2. Catastrophic regexes, eight at once, while /health is polled.
    def evil_search():
        srv.post(outputs + TABLE, {"parameters": {
            "requested_table_index": 0, "requested_table_count": 100,
            "table_search_expressions": {"1": "^(\\d+)+z$"},
            "table_search_direction": "NEXT"}})
    threads = [threading.Thread(target=evil_search) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD_S)
        if t.is_alive():
            fail("catastrophic search regex: no answer")
    tg = outputs + "/timeGraph/vmtrace.kernel.thread_status"
    s, _, b = srv.post(tg + "/tree", {"parameters": {
        "requested_timerange": rng}})
    ids = [e["id"] for e in json.loads(b)["model"]["entries"]][:50]
    expect_status("catastrophic filter regex", srv.post(tg + "/states", {
        "parameters": {"requested_timerange": dict(rng, nbTimes=100),
                       "requested_items": ids,
                       "filter_query_parameters": {"filter_expressions_map":
                                                   {"1": ["^(.+)+z$"]}}}}),
        {200, 400})

    # 3. Unbounded replies.
    s, _, b = srv.post(tg + "/states", {"parameters": {
        "requested_timerange": dict(rng, nbTimes=1000),
        "requested_items": [ids[-1]] * 10000}})
    if s == 200 and len(b) > 2_000_000:
        fail("10,000 copies of one id: %d bytes" % len(b))
    elif s not in (200, 400):
        fail("10,000 copies of one id: status %s" % s)
    expect_status("10^6 copies of one id", srv.post(tg + "/states", {
        "parameters": {"requested_timerange": dict(rng, nbTimes=1000),
                       "requested_items": [ids[-1]] * 1_000_000}}),
        {200, 400})
    expect_error("table count 2^31-1", srv.post(outputs + TABLE, {
        "parameters": {"requested_table_index": 0,
                       "requested_table_count": 2**31 - 1}}), {400})

    # 4. Damaged traces: a clear status, never a crash or a silent loss.
    for kind, path in bad.items():
        if path is None:
            continue
        s, e = open_experiment(srv, path, "bad-" + kind)
        if s == 200 and e is not None and kind in ("fifo", "devzero"):
            if e.get("indexingStatus") == "COMPLETED" and not any(
                    "stream" in str(v).lower() or "not read" in str(v).lower()
                    for v in (e.get("properties") or {}).values()):
                fail("%s: COMPLETED without saying a stream was lost: %s" %
                     (kind, e))
        elif s == 406:
            # Refused at open (the reference's code for a trace it cannot
            # read), with the reason.
            reason = json.dumps(e)
            if kind == "deep-tsdl" and "nests deeper" not in reason:
                fail("deep-tsdl: 406 without the reason: " + reason)
            if kind == "clock-overflow" and "overflow" not in reason:
                fail("clock-overflow: 406 without the reason: " + reason)
        elif s != 200:
            fail("%s: status %s" % (kind, s))
    expect_status("GET /traces after the damaged ones",
                  srv.request("GET", "/traces"), {200})

    # 5. Paths: a NUL byte, and files outside the roots that must not be
    # told apart from missing ones.
    expect_error("NUL in uri", srv.post("/traces", {"parameters": {
        "uri": small + "\u0000/etc/passwd", "name": "nul"}}), {400})
    answers = []
    for p in ("/etc/shadow", os.path.expanduser("~/.ssh"),
              "/nonexistent-" + str(os.getpid())):
        s, _, b = srv.post("/traces", {"parameters": {"uri": p, "name": "x"}})
        answers.append((s, b.replace(p.encode(), b"PATH")))
    if len(set(answers)) != 1 or answers[0][0] == 200:
        fail("outside the roots, answers differ: %s" % answers)

    # 6. Web exposure: foreign origins, simple (text/plain) bodies, hosts.
    s, h, _ = srv.request("GET", "/experiments",
                          headers={"Origin": "http://evil.example"})
    if h.get("Access-Control-Allow-Origin") in ("*", "http://evil.example"):
        fail("foreign origin allowed to read: %s" % h)
    expect_error("foreign origin POST", srv.post(
        "/traces", {"parameters": {"uri": small, "name": "o"}},
        headers={"Origin": "http://evil.example"}), {403})
    expect_error("text/plain body", srv.post(
        "/traces", json.dumps({"parameters": {"uri": small, "name": "p"}}),
        headers={"Content-Type": "text/plain"}), {400, 415})
    expect_error("DNS rebinding host", srv.request(
        "GET", "/experiments", headers={"Host": "evil.example:8080"}),
        {403, 421})
    s, h, _ = srv.request("GET", "/health",
                          headers={"Origin": "http://127.0.0.1:3000"})
    if s != 200 or h.get("Access-Control-Allow-Origin") != \
            "http://127.0.0.1:3000":
        fail("loopback origin not allowed: %s %s" % (s, h))

    probe.stop_flag = True
    probe.join(30)
    if not srv.alive():
        fail("the server died")
    rc = srv.stop()
    if rc != 0:
        fail("SIGTERM: exit code %s" % rc)
    crashes = 0 if rc is not None and rc >= 0 else 1
    print("hostile: %d requests, %d failures, crashes %d, /health worst "
          "%.3f s, missed %d" % (requests_sent, len(failures), crashes,
                                 probe.worst, probe.missed))
    if probe.missed:
        fail("/health did not answer %d times" % probe.missed)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
