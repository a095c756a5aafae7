#!/usr/bin/env python3
"""vmtrace scale benchmark: every output, as a user meets it, at one trace size.

    tools/bench/scale.py --trace DIR [--server build/tsp/vmtrace-server]
                         [--reps 5] [--samples 2000] [--rows 200]
                         [--experiments N] [--smaps]

Starts vmtrace-server on a fresh data dir with `--open DIR`, times the pass
(server start -> COMPLETED), runs `babeltrace2 --output-format=dummy` on the
same trace in the same run as the baseline, then for every output the server
lists (derived critical paths included) asks what a viewer asks -- the tree,
then the states / XY / first table page -- over the whole range and over a 1%
window in the middle, once cold ("first") and `reps` more times
("repeated", median). It checks the time-graph bound (states <= rows x
samples + 2 per row) and prints Markdown: pass vs babeltrace2, the server's
peak RSS (VmHWM, from /proc; per phase, the sampled VmRSS / RssAnon /
RssFile peaks and with --smaps the largest mappings), the store's size
against the trace's, and one line per output and range. Loopback; client and
server share the cores.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

API = "/tsp/api"


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(self, method, path, body=None):
        """Returns (status, parsed JSON or None, reply bytes, seconds)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        t0 = time.perf_counter()
        try:
            self.conn.request(method, API + path, body=data, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=600)
            return 0, None, 0, time.perf_counter() - t0
        dt = time.perf_counter() - t0
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, doc, len(raw), dt


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def mem_mb(pid):
    """VmHWM, VmRSS, RssAnon, RssFile of `pid` in MB (0 if gone)."""
    out = {"VmHWM": 0.0, "VmRSS": 0.0, "RssAnon": 0.0, "RssFile": 0.0}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k in out:
                    out[k] = int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return out


def smaps_mb(pid):
    """Rss of `pid` per mapping kind in MB: files by name with runs of
    digits folded (LevelDB's 000123.ldb -> #.ldb), anonymous as [anon]."""
    out, name = {}, None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split(None, 5)
                    name = parts[5].strip() if len(parts) > 5 else "[anon]"
                    name = re.sub(r"[0-9]+", "#", os.path.basename(name)) \
                        if name.startswith("/") else name
                elif line.startswith("Rss:") and name is not None:
                    kb = int(line.split()[1])
                    if kb:
                        out[name] = out.get(name, 0.0) + kb / 1024.0
    except OSError:
        pass
    return out


class PeakSampler(threading.Thread):
    """Samples the server's RssAnon / RssFile every 50 ms: VmHWM alone does
    not say whether the peak was heap or mapped files. With `smaps`, also
    keeps /proc/PID/smaps's Rss per mapping at each phase's highest VmRSS
    (read at most once a second)."""

    def __init__(self, pid, smaps=False):
        super().__init__(daemon=True)
        self.pid, self.stop, self.peak = pid, threading.Event(), {}
        self.mark, self.smaps, self.at_peak = "pass", smaps, {}
        self.last_smaps = 0.0

    def run(self):
        while not self.stop.wait(0.05):
            m = mem_mb(self.pid)
            p = self.peak.setdefault(self.mark, {})
            high = m["VmRSS"] > p.get("VmRSS", 0.0)
            for k in ("RssAnon", "RssFile", "VmRSS"):
                p[k] = max(p.get(k, 0.0), m[k])
            now = time.monotonic()
            if self.smaps and high and now - self.last_smaps >= 1.0:
                self.last_smaps = now
                self.at_peak[self.mark] = (m["VmRSS"], smaps_mb(self.pid))


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def wait_completed(client, proc, uuid=None):
    while True:
        if proc.poll() is not None:
            sys.exit("server exited during the pass")
        st, doc, _, _ = client.call("GET", "/experiments")
        if st == 200 and doc:
            doc = [e for e in doc if e.get("UUID") == uuid or (
                uuid is None and
                not e.get("name", "").startswith("scale-extra-"))]
        if st == 200 and doc:
            s = doc[0].get("indexingStatus")
            if s == "COMPLETED":
                return doc[0]
            if s in ("CLOSED", "CANCELLED"):
                sys.exit("pass ended " + s)
        time.sleep(0.02)


def model(doc):
    if isinstance(doc, dict):
        return doc.get("model"), doc.get("status")
    return None, None


class OutputBench:
    """The requests one output needs, for one time range."""

    def __init__(self, client, exp, out, args):
        self.c, self.exp, self.out, self.args = client, exp, out, args
        self.base = f"/experiments/{exp}/outputs"

    def tree(self, rng):
        kind = {"TIME_GRAPH": "timeGraph", "TREE_TIME_XY": "XY",
                "DATA_TREE": "data"}.get(self.out["type"])
        if kind is None:
            return None, 0, 0.0, 0
        st, doc, n, dt = self.c.call(
            "POST", f"{self.base}/{kind}/{self.out['id']}/tree",
            {"parameters": {"requested_timerange":
                            {"start": rng[0], "end": rng[1]}}})
        m, _ = model(doc)
        entries = (m or {}).get("entries", []) if isinstance(m, dict) else []
        return entries, n, dt, st

    def query(self, rng, entries):
        """One data request; returns (status, bytes, seconds, states, rows)."""
        t = self.out["type"]
        a = self.args
        tr = {"start": rng[0], "end": rng[1], "nbTimes": a.samples}
        if t == "TIME_GRAPH":
            ids = [e["id"] for e in entries][: a.rows]
            st, doc, n, dt = self.c.call(
                "POST", f"{self.base}/timeGraph/{self.out['id']}/states",
                {"parameters": {"requested_timerange": tr,
                                "requested_items": ids}})
            m, _ = model(doc)
            rows = (m or {}).get("rows", []) if isinstance(m, dict) else []
            states = sum(len(r.get("states", [])) for r in rows)
            return st, n, dt, states, len(ids)
        if t == "TREE_TIME_XY":
            ids = [e["id"] for e in entries][: a.rows]
            st, doc, n, dt = self.c.call(
                "POST", f"{self.base}/XY/{self.out['id']}/xy",
                {"parameters": {"requested_timerange": tr,
                                "requested_items": ids}})
            return st, n, dt, None, len(ids)
        if t == "TABLE":
            st, _, n, dt = self.c.call(
                "POST", f"{self.base}/table/{self.out['id']}/lines",
                {"parameters": {"requested_timerange":
                                {"start": rng[0], "end": rng[1]},
                                "requested_table_index": 0,
                                "requested_table_count": 100}})
            return st, n, dt, None, None
        if t == "DATA_TREE":
            st, _, n, dt = self.c.call(
                "POST", f"{self.base}/data/{self.out['id']}/tree",
                {"parameters": {"requested_timerange":
                                {"start": rng[0], "end": rng[1]}}})
            return st, n, dt, None, None
        return 0, 0, 0.0, None, None

    def once(self, rng):
        """Tree + data as a viewer sends them; returns a result dict."""
        entries, tree_bytes, tree_s, tree_st = self.tree(rng)
        if self.out["type"] == "TABLE":
            self.c.call("POST", f"{self.base}/table/{self.out['id']}/columns",
                        {"parameters": {}})
        st, n, dt, states, rows = self.query(rng, entries or [])
        return {"status": st if tree_st in (0, 200) else tree_st,
                "seconds": tree_s + dt, "bytes": tree_bytes + n,
                "states": states, "rows": rows}


def fmt_s(s):
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def wait_paths(c, uuid):
    """Critical paths are walked in the background after the pass: waits
    until every derived path answers; returns the seconds waited."""
    t_cp = time.perf_counter()
    for _ in range(6000):
        st, doc, _, _ = c.call(
            "POST", f"/experiments/{uuid}/outputs/timeGraph/"
            "vmtrace.critical-path/tree", {"parameters": {}})
        running = not isinstance(doc, dict) or doc.get("status") == "RUNNING"
        if st != 200:
            return None
        if not running:
            _, outs, _, _ = c.call("GET", f"/experiments/{uuid}/outputs")
            paths = [o for o in outs or []
                     if o.get("parentId") == "vmtrace.critical-path"]
            if all(c.call("POST", f"/experiments/{uuid}/outputs/timeGraph/"
                          f"{o['id']}/tree", {"parameters": {}})[1]
                   .get("status") != "RUNNING" for o in paths):
                return time.perf_counter() - t_cp
        time.sleep(0.1)
    return None


def open_more(c, proc, exp, n):
    """Opens `n` more experiments of the same traces (other names, so other
    stores and passes, one after the other); returns their UUIDs."""
    st, traces, _, _ = c.call("GET", "/traces")
    ids = [t["UUID"] for t in traces or []]
    uuids = []
    for i in range(n):
        st, doc, _, _ = c.call("POST", "/experiments", {
            "parameters": {"name": f"scale-extra-{i + 2}", "traces": ids}})
        if st != 200 or not isinstance(doc, dict):
            sys.exit(f"cannot open experiment {i + 2}: HTTP {st}")
        wait_completed(c, proc, doc["UUID"])
        wait_paths(c, doc["UUID"])
        uuids.append(doc["UUID"])
    return uuids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--server", default="build/tsp/vmtrace-server")
    ap.add_argument("--port", type=int, default=18250)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=200,
                    help="rows (entries) asked per states/XY request")
    ap.add_argument("--no-babeltrace", action="store_true")
    ap.add_argument("--data-dir", help="reuse (and keep) this data dir: the "
                    "pass is then skipped if its stores are complete")
    ap.add_argument("--only", help="regex on output names to measure")
    ap.add_argument("--smaps", action="store_true",
                    help="print the largest mappings (smaps Rss) at each "
                    "phase's highest sampled RSS")
    ap.add_argument("--experiments", type=int, default=1,
                    help="experiments open: the others are the same traces "
                    "under other names (own stores and passes, run after "
                    "the first); each gets every output once over the "
                    "whole range before the measured sweep")
    args = ap.parse_args()

    trace_bytes = du(args.trace)
    bt = None
    if not args.no_babeltrace and shutil.which("babeltrace2"):
        t0 = time.perf_counter()
        subprocess.run(["babeltrace2", "--output-format=dummy", args.trace],
                       check=True, stdout=subprocess.DEVNULL)
        bt = time.perf_counter() - t0

    data = args.data_dir or tempfile.mkdtemp(prefix="vmtrace-scale-")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [args.server, "--port", str(args.port), "--data-dir", data,
         "--log-level", "off", "--open", args.trace],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = PeakSampler(proc.pid, args.smaps)
    sampler.start()
    try:
        c = Client(args.port)
        exp = wait_completed(c, proc)
        pass_s = time.perf_counter() - t0
        pass_hwm = vm_hwm_mb(proc.pid)
        sampler.mark = "walks"
        uuid, start, end = exp["UUID"], exp["start"], exp["end"]
        nb_events = exp.get("nbEvents", 0)
        mid = (start + end) // 2
        half = max(1, (end - start) // 200)
        ranges = {"whole": (start, end), "1%": (mid - half, mid + half)}

        st, outs, _, list_s = c.call("GET", f"/experiments/{uuid}/outputs")
        cp_ready = wait_paths(c, uuid)
        walks_hwm = vm_hwm_mb(proc.pid)
        extra_hwm = None
        if args.experiments > 1:
            sampler.mark = "extra experiments"
            for x in open_more(c, proc, exp, args.experiments - 1):
                _, xo, _, _ = c.call("GET", f"/experiments/{x}/outputs")
                for o in xo or []:
                    OutputBench(c, x, o, args).once((start, end))
            extra_hwm = vm_hwm_mb(proc.pid)
        sampler.mark = "queries"
        _, outs, _, _ = c.call("GET", f"/experiments/{uuid}/outputs")
        outs = sorted(outs or [], key=lambda o: (o["type"], o["id"]))
        results = []
        for o in outs:
            if args.only and not re.search(args.only, o["name"]):
                continue
            ob = OutputBench(c, uuid, o, args)
            for rname, rng in ranges.items():
                first = ob.once(rng)
                reps = [ob.once(rng) for _ in range(args.reps)]
                rep_s = statistics.median(r["seconds"] for r in reps)
                results.append((o, rname, first, rep_s))
        end_hwm = vm_hwm_mb(proc.pid)
        store = du(data)
    finally:
        sampler.stop.set()
        proc.terminate()
        proc.wait()
        if not args.data_dir:
            shutil.rmtree(data, ignore_errors=True)

    print(f"#### `{os.path.basename(os.path.normpath(args.trace))}`: "
          f"{nb_events:,} events, {trace_bytes / 1e6:.0f} MB")
    print()
    print(f"- Pass (server start -> COMPLETED): {pass_s:.2f} s"
          + (f"; babeltrace2 dummy decode, same run: {bt:.2f} s "
             f"(pass = {bt / pass_s:.2f}x babeltrace2's rate)" if bt else ""))
    print(f"- Peak RSS (VmHWM): {pass_hwm:.0f} MB after the pass, "
          f"{walks_hwm:.0f} MB after the critical-path walks, "
          + (f"{extra_hwm:.0f} MB with {args.experiments} experiments open "
             f"and queried, " if extra_hwm else "")
          + f"{end_hwm:.0f} MB after every query below")
    print("- Peak VmRSS / RssAnon / RssFile (sampled every 50 ms): " +
          "; ".join(f"{k} {v.get('VmRSS', 0):.0f} / "
                    f"{v.get('RssAnon', 0):.0f} / {v.get('RssFile', 0):.0f} MB"
                    for k, v in sampler.peak.items()))
    for k, (rss, maps) in sampler.at_peak.items():
        top = sorted(maps.items(), key=lambda kv: -kv[1])[:8]
        print(f"- Largest mappings at the {k} phase's highest sample "
              f"(VmRSS {rss:.0f} MB): " + ", ".join(
                  f"{n} {mb:.0f} MB" for n, mb in top))
    store /= args.experiments
    print(f"- Store (per experiment): {store / 1e6:.0f} MB = "
          f"{store / trace_bytes:.3f} x the trace; listing the outputs: "
          f"{fmt_s(list_s)}")
    if cp_ready is not None:
        print(f"- Critical paths walked and stored in the background: ready "
              f"{fmt_s(cp_ready)} after COMPLETED")
    print(f"- Requests: tree + states/XY ({args.samples} samples, at most "
          f"{args.rows} rows) or first table page (100 lines); first = cold, "
          f"repeated = median of {args.reps}")
    print()
    print("| output | type | range | first | repeated | reply | states "
          "(bound) | status |")
    print("|---|---|---|---|---|---|---|---|")
    over = 0
    for o, rname, first, rep_s in results:
        states = ""
        if first["states"] is not None:
            bound = first["rows"] * args.samples + 2 * first["rows"]
            ok = first["states"] <= bound
            over += 0 if ok else 1
            states = f"{first['states']:,} ({bound:,}){'' if ok else ' OVER'}"
        print(f"| {o['name'][:60]} | {o['type']} | {rname} | "
              f"{fmt_s(first['seconds'])} | {fmt_s(rep_s)} | "
              f"{first['bytes'] / 1e6:.2f} MB | {states} | "
              f"{first['status']} |")
    print()
    slow_first = [r for r in results if r[2]["seconds"] >= 1]
    slow_rep = [r for r in results if r[3] >= 0.2]
    print(f"Outputs x ranges: {len(results)}; first >= 1 s: {len(slow_first)};"
          f" repeated >= 200 ms: {len(slow_rep)}; states over the bound: "
          f"{over}.")


if __name__ == "__main__":
    main()
