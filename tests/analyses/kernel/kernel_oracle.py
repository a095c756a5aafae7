#!/usr/bin/env python3
"""Independent oracle for the kernel model (analyses/kernel/kernel_model.h).

Reads the text that babeltrace2's `sink.text.pretty` prints with
`--clock-seconds --no-delta --names=scope,context,payload` and replays the
thread/CPU rules of vm-analyses.md (b.4), written from those rules (not from
the C++ code), to give each thread's status and each CPU's status and
current thread at chosen timestamps.

Usage:
  kernel_oracle.py generate TRACE_DIR OUT.json [--no-muxer]
      picks ~20 sample times and writes the golden file.
  kernel_oracle.py check TRACE_DIR GOLDEN.json [--no-muxer]
      recomputes the answers at the golden's times; exit 1 if they differ
      (so a golden can't silently drift from the oracle).

--no-muxer reads a single-stream trace without babeltrace2's muxer (the
lttng-synctraces-scp traces have overlapping packets that the muxer rejects).

Rules (each choice the digest leaves open is marked CHOICE; the C++ model
makes the same ones, listed in the header comment of kernel_model.h):
* Time: an event at t takes effect at t; the state "at t" is after every
  event with timestamp <= t.
* CPU of an event: the packet context's cpu_id (perf: a perf_cpu context if
  any). Event names lose a perf "subsystem:" prefix.
* sched_switch(prev, next) on CPU c: prev leaves, next becomes c's current
  thread. prev (tid > 0) becomes WAIT_FOR_CPU if it was preempted, else
  WAIT_BLOCKED; CHOICE: "preempted" is (prev_state & 0xff) == 0, which
  covers TASK_RUNNING (0) and the TASK_STATE_MAX / TASK_REPORT_MAX values
  (0x100 ... 0x1000) kernels report for a preemption; 0x402 (TASK_IDLE) and
  0x80 (TASK_REPORT_IDLE) are blocked. A prev that had a
  sched_process_exit is gone: null status from this switch-out on.
* Running thread: RUN_SYSCALL while inside a syscall (entered with a
  syscall entry event while it ran, not yet exited), else RUN_USERMODE;
  INTERRUPTED while an IRQ or soft IRQ runs on its CPU. The "inside a
  syscall" flag belongs to the thread and survives switch-out/in; a thread
  first seen at a switch-in is not in a syscall (CHOICE).
* Syscall events apply to the CPU's current thread; ignored while it is
  unknown or idle. Entry names: syscall_entry_*, compat_syscall_entry_*,
  sys_* (lttng-modules <= 2.5), sys_enter_* and sys_enter (perf). Exit
  names: syscall_exit_*, compat_syscall_exit_*, exit_syscall (<= 2.5),
  sys_exit_* and sys_exit (perf).
* IRQ / soft IRQ: irq_handler_entry/exit, (irq_)softirq_entry/exit; CHOICE:
  an exit with no matching entry on that CPU (trace started inside the
  handler) is ignored.
* CPU status: IRQ if an IRQ handler runs, else SOFT_IRQ if a soft IRQ
  runs, else IDLE if the current thread is 0 (swapper), else RUN_SYSCALL /
  RUN_USERMODE after its current thread; unknown (null) while nothing is
  known about the CPU's thread. Current_thread: next_tid of the last
  switch (null before the first one).
* Wake-up (sched_wakeup, sched_waking, sched_wakeup_new) of a thread that
  is not running: WAIT_BLOCKED, WAIT_FORK, WAIT_UNKNOWN, UNKNOWN or null ->
  WAIT_FOR_CPU; other statuses are kept. Wake-ups of running threads are
  spurious and ignored.
* sched_process_fork: the child is WAIT_FORK (and no longer "exited").
* sched_process_free of a thread not running: null.
* lttng_statedump_process_state describes threads before the trace began:
  CHOICE: its status holds from the trace's first event, only for a thread
  whose status is still unknown at the statedump and which is not running;
  status 1 WAIT_FORK, 2 WAIT_FOR_CPU, 5 WAIT_BLOCKED, 6 RUN_SYSCALL if
  mode is 1 (syscall) else RUN_USERMODE, others WAIT_UNKNOWN.
* Idle threads (tid 0, one per CPU) have no status: they are the CPU's IDLE
  state. They are left out of the thread answers.

Output: {"trace", "host", "samples": [{"t", "threads": {tid: status},
"cpus": {cpu: {"status": name|null, "thread": tid|null}}}]}; threads with a
null status are left out.
"""

import json
import subprocess
import sys

THREAD_NAMES = {0: "UNKNOWN", 1: "WAIT_BLOCKED", 2: "RUN_USERMODE",
                3: "RUN_SYSCALL", 4: "INTERRUPTED", 5: "WAIT_FOR_CPU",
                6: "WAIT_UNKNOWN", 7: "WAIT_FORK"}


# --- babeltrace2 text parsing ---------------------------------------------

class _Parser:
    """Parses babeltrace2's pretty field syntax: { a = 1, b = "x", c = [ [0]
    = 2 ], d = ( "LABEL" : container = 3 ) }."""

    def __init__(self, s, i):
        self.s, self.i = s, i

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1

    def value(self):
        self.ws()
        c = self.s[self.i]
        if c == "{":
            return self.struct()
        if c == "[":
            return self.array()
        if c == '"':
            return self.string()
        if c == "(":
            return self.enum()
        j = self.i
        while j < len(self.s) and self.s[j] not in ",}]) ":
            j += 1
        tok = self.s[self.i:j]
        self.i = j
        try:
            return int(tok, 0)
        except ValueError:
            try:
                return float(tok)
            except ValueError:
                return tok

    def string(self):
        self.i += 1
        out = []
        while self.s[self.i] != '"':
            if self.s[self.i] == "\\":
                self.i += 1
            out.append(self.s[self.i])
            self.i += 1
        self.i += 1
        return "".join(out)

    def enum(self):
        # ( "LABEL" : container = N ) or ( <unknown> : container = N )
        depth = 0
        j = self.i
        while True:
            if self.s[j] == "(":
                depth += 1
            elif self.s[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        inner = self.s[self.i:j]
        self.i = j + 1
        return int(inner.rsplit("=", 1)[1].strip(), 0)

    def struct(self):
        self.i += 1
        out = {}
        while True:
            self.ws()
            if self.s[self.i] == "}":
                self.i += 1
                return out
            if self.s[self.i] == "{":  # a variant's value: no name
                out[len(out)] = self.struct()
                continue
            j = self.s.index(" = ", self.i)
            key = self.s[self.i:j]
            self.i = j + 3
            out[key] = self.value()
            self.ws()
            if self.s[self.i] == ",":
                self.i += 1

    def array(self):
        self.i += 1
        out = []
        while True:
            self.ws()
            if self.s[self.i] == "]":
                self.i += 1
                return out
            j = self.s.index(" = ", self.i)
            self.i = j + 3
            out.append(self.value())
            self.ws()
            if self.s[self.i] == ",":
                self.i += 1


class Event:
    __slots__ = ("ts", "host", "name", "packet", "ctx", "fields")


def parse_line(line):
    # [SEC.NS] [HOST ]NAME: scope = {...}, scope = {...}
    if not line.startswith("["):
        return None
    close = line.index("]")
    sec, ns = line[1:close].split(".")
    ev = Event()
    ev.ts = int(sec) * 1000000000 + int(ns.ljust(9, "0"))
    rest = line[close + 2:]
    k = rest.find(": stream.")
    k2 = rest.find(": event.")
    if k < 0 or (0 <= k2 < k):
        k = k2
    head = rest[:k]
    ev.host, _, name = head.rpartition(" ")
    ev.name = name.rsplit(":", 1)[-1]  # perf: "sched:sched_switch"
    ev.packet, ev.ctx, ev.fields = {}, {}, {}
    p = _Parser(rest, k + 2)
    while p.i < len(rest):
        p.ws()
        j = rest.index(" = ", p.i)
        scope = rest[p.i:j]
        p.i = j + 3
        v = p.value()
        if scope == "stream.packet.context":
            ev.packet = v
        elif scope in ("stream.event.context", "event.context"):
            ev.ctx.update(v)
        elif scope == "event.fields":
            ev.fields = v
        p.ws()
        if p.i < len(rest) and rest[p.i] == ",":
            p.i += 1
    return ev


def read_events(trace_dir, no_muxer):
    if no_muxer:
        cmd = ["babeltrace2", "run", "--component=src:src.ctf.fs",
               "--params=inputs=[\"%s\"]" % trace_dir,
               "--component=sink:sink.text.pretty",
               "--params=clock-seconds=true,no-delta=true,name-context=true,"
               "name-payload=true,name-scope=true",
               "--connect=src:sink"]
    else:
        cmd = ["babeltrace2", "--clock-seconds", "--no-delta",
               "--names=scope,context,payload", trace_dir]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         text=True, errors="replace").stdout
    for line in out.splitlines():
        ev = parse_line(line)
        if ev is not None:
            yield ev


# --- the rules -------------------------------------------------------------

def _first(d, *names):
    for n in names:
        if n in d:
            return d[n]
    return None


def syscall_kind(name):
    if name.startswith(("syscall_entry_", "compat_syscall_entry_",
                        "sys_enter")):
        return "entry"
    if name.startswith(("syscall_exit_", "compat_syscall_exit_", "sys_exit")) \
            or name == "exit_syscall":
        return "exit"
    if name.startswith("sys_"):
        return "entry"  # lttng-modules <= 2.5: sys_open, sys_read...
    return None


class History:
    """Per key, the list of (time, value) changes; value None is null."""

    def __init__(self):
        self.changes = {}

    def set(self, key, t, v):
        lst = self.changes.setdefault(key, [])
        if lst and lst[-1][1] == v:
            return
        if lst and lst[-1][0] == t:
            lst[-1] = (t, v)
            if len(lst) > 1 and lst[-2][1] == v:
                lst.pop()
            return
        if not lst and v is None:
            return
        lst.append((t, v))

    def current(self, key):
        lst = self.changes.get(key)
        return lst[-1][1] if lst else None

    def at(self, key, t):
        v = None
        for (s, val) in self.changes.get(key, ()):
            if s > t:
                break
            v = val
        return v


class Oracle:
    def __init__(self):
        self.h = History()
        self.first_ts = None
        self.in_syscall = set()   # tids inside a syscall
        self.exited = set()       # tids with a sched_process_exit
        self.current = {}         # cpu -> tid
        self.irqs = {}            # cpu -> set of running irq numbers
        self.softirqs = {}        # cpu -> set of running soft irq vectors
        self.cpus = set()

    def running(self, tid):
        return tid in self.current.values()

    def refresh(self, t, cpu):
        """Recomputes the status of CPU `cpu` and of its current thread."""
        irq = bool(self.irqs.get(cpu))
        soft = bool(self.softirqs.get(cpu))
        tid = self.current.get(cpu)
        if irq:
            cs = "IRQ"
        elif soft:
            cs = "SOFT_IRQ"
        elif tid is None:
            cs = None
        elif tid == 0:
            cs = "IDLE"
        elif tid in self.in_syscall:
            cs = "RUN_SYSCALL"
        else:
            cs = "RUN_USERMODE"
        self.h.set(("cpu", cpu), t, cs)
        if tid:
            if irq or soft:
                ts = 4
            else:
                ts = 3 if tid in self.in_syscall else 2
            self.h.set(("thread", tid), t, ts)

    def on_event(self, ev):
        if self.first_ts is None:
            self.first_ts = ev.ts
        t, n, f = ev.ts, ev.name, ev.fields
        cpu = _first(ev.ctx, "perf_cpu")
        if cpu is None:
            cpu = ev.packet.get("cpu_id")
        if cpu is None:
            return
        self.cpus.add(cpu)
        if cpu not in self.current:
            ctx_tid = _first(ev.ctx, "tid", "perf_tid")
            if ctx_tid is not None:
                self.current[cpu] = ctx_tid
                self.h.set(("current", cpu), t, ctx_tid)
        if n == "sched_switch":
            prev = _first(f, "prev_tid", "prev_pid")
            nxt = _first(f, "next_tid", "next_pid")
            if prev:
                if prev in self.exited:
                    st = None
                elif (f.get("prev_state", 0) & 0xff) == 0:
                    st = 5
                else:
                    st = 1
                self.h.set(("thread", prev), t, st)
            self.current[cpu] = nxt
            self.h.set(("current", cpu), t, nxt)
            self.refresh(t, cpu)
        elif n in ("sched_wakeup", "sched_waking", "sched_wakeup_new"):
            tid = _first(f, "tid", "pid")
            if tid and not self.running(tid):
                if self.h.current(("thread", tid)) in (None, 0, 1, 6, 7):
                    self.h.set(("thread", tid), t, 5)
        elif n == "sched_process_fork":
            child = _first(f, "child_tid", "child_pid")
            if child:
                self.exited.discard(child)
                self.h.set(("thread", child), t, 7)
        elif n == "sched_process_exit":
            tid = _first(f, "tid", "pid")
            if tid is not None:
                self.exited.add(tid)
        elif n == "sched_process_free":
            tid = _first(f, "tid", "pid")
            if tid and not self.running(tid):
                self.h.set(("thread", tid), t, None)
        elif n == "lttng_statedump_process_state":
            tid = f.get("tid")
            key = ("thread", tid)
            if tid and not self.running(tid) and \
                    not self.h.changes.get(key):
                status, mode = f.get("status", 0), f.get("mode", 0)
                st = {1: 7, 2: 5, 5: 1}.get(status, 6)
                if status == 6:
                    st = 3 if mode == 1 else 2
                self.h.changes[key] = [(self.first_ts, st)]
        elif n == "irq_handler_entry":
            self.irqs.setdefault(cpu, set()).add(f.get("irq"))
            self.refresh(t, cpu)
        elif n == "irq_handler_exit":
            s = self.irqs.setdefault(cpu, set())
            if f.get("irq") in s:
                s.discard(f.get("irq"))
                self.refresh(t, cpu)
        elif n in ("irq_softirq_entry", "softirq_entry"):
            self.softirqs.setdefault(cpu, set()).add(f.get("vec"))
            self.refresh(t, cpu)
        elif n in ("irq_softirq_exit", "softirq_exit"):
            s = self.softirqs.setdefault(cpu, set())
            if f.get("vec") in s:
                s.discard(f.get("vec"))
                self.refresh(t, cpu)
        else:
            kind = syscall_kind(n)
            tid = self.current.get(cpu)
            if kind and tid:
                if kind == "entry":
                    self.in_syscall.add(tid)
                else:
                    self.in_syscall.discard(tid)
                self.refresh(t, cpu)

    def answer(self, t):
        threads = {}
        for key in self.h.changes:
            if key[0] != "thread":
                continue
            v = self.h.at(key, t)
            if v is not None:
                threads[str(key[1])] = THREAD_NAMES[v]
        cpus = {}
        for cpu in sorted(self.cpus):
            st = self.h.at(("cpu", cpu), t)
            cur = self.h.at(("current", cpu), t)
            if st is None and cur is None:
                continue
            cpus[str(cpu)] = {"status": st, "thread": cur}
        return {"t": t, "threads": threads, "cpus": cpus}


def run(trace_dir, no_muxer):
    o = Oracle()
    events = []  # (ts, name) for choosing samples
    host = ""
    for ev in read_events(trace_dir, no_muxer):
        o.on_event(ev)
        events.append((ev.ts, ev.name))
        host = host or ev.host
    return o, events, host


def choose_times(events):
    """10 evenly spread times plus, for 5 sched_switch events spread over
    the trace whose timestamp no other event shares (so the tie order of
    simultaneous events can't matter), 1 ns before and at the switch."""
    first, last = events[0][0], events[-1][0]
    times = {first + (last - first) * k // 9 for k in range(10)}
    count = {}
    for ts, _ in events:
        count[ts] = count.get(ts, 0) + 1
    switches = [ts for ts, n in events if n == "sched_switch" and
                count[ts] == 1]
    for k in range(5):
        ts = switches[(len(switches) - 1) * (2 * k + 1) // 10]
        times.add(ts - 1)
        times.add(ts)
    return sorted(times)


def main(argv):
    if len(argv) < 4 or argv[1] not in ("generate", "check"):
        sys.stderr.write(__doc__)
        return 2
    mode, trace_dir, path = argv[1], argv[2], argv[3]
    no_muxer = "--no-muxer" in argv[4:]
    o, events, host = run(trace_dir, no_muxer)
    if mode == "generate":
        times = choose_times(events)
    else:
        with open(path) as fh:
            golden = json.load(fh)
        times = [s["t"] for s in golden["samples"]]
    # The host subtree: the trace's hostname, else its directory's name.
    name = trace_dir.rstrip("/").split("/")[-1]
    result = {"trace": name, "host": host or name,
              "samples": [o.answer(t) for t in times]}
    if mode == "generate":
        with open(path, "w") as fh:  # one sample a line
            fh.write('{"trace": %s, "host": %s, "samples": [\n' %
                     (json.dumps(result["trace"]), json.dumps(result["host"])))
            fh.write(",\n".join(json.dumps(s, sort_keys=True)
                                 for s in result["samples"]))
            fh.write("\n]}\n")
        return 0
    if result["samples"] != golden["samples"]:
        for a, b in zip(result["samples"], golden["samples"]):
            if a != b:
                sys.stderr.write("golden %s differs from the oracle at t=%d\n"
                                 % (path, a["t"]))
                break
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
