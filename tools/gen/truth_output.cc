// Truth file writer: interval lists, per-VM wait totals, the
// semantic-vs-actual differences and the true critical paths.
#include <algorithm>
#include <cinttypes>
#include <map>
#include <memory>

#include "tools/gen/truth.h"

namespace vmtrace::gen {
namespace {

struct CpEntry {
  int host;  // -1 for the network worker
  int proc;
  uint64_t start, end;
  const char* cause;
  const char* layer;
};

class CriticalPath {
 public:
  explicit CriticalPath(const std::vector<TruthRecorder*>& all) : all_(all) {}

  std::vector<CpEntry> Compute(int host, int proc) {
    out_.clear();
    const Timeline& tl = all_[host]->procs()[proc].actual;
    if (tl.items().empty()) return out_;
    uint64_t a = tl.items().front().start;
    for (const Interval& i : tl.items()) {
      if (i.state != static_cast<uint8_t>(AState::kNotStarted)) {
        a = i.start;
        break;
      }
    }
    Walk(host, proc, a, tl.items().back().end, 0);
    return out_;
  }

 private:
  void Emit(int host, int proc, uint64_t s, uint64_t e, const char* cause,
            const char* layer) {
    if (s >= e) return;
    if (!out_.empty()) {
      CpEntry& b = out_.back();
      if (b.host == host && b.proc == proc && b.end == s && b.cause == cause &&
          b.layer == layer) {
        b.end = e;
        return;
      }
    }
    out_.push_back({host, proc, s, e, cause, layer});
  }

  // The path of `proc` over [a, b): its own intervals, except that a wait
  // on another process is replaced by that process's path up to the wake-up.
  void Walk(int host, int proc, uint64_t a, uint64_t b, int depth) {
    const ProcTruth& p = all_[host]->procs()[proc];
    const auto& items = p.actual.items();
    const auto& blocks = all_[host]->blocks();
    const char* layer = p.level == 2 ? "L2" : "L1";
    auto it = std::upper_bound(
        items.begin(), items.end(), a,
        [](uint64_t t, const Interval& i) { return t < i.end; });
    for (; it != items.end() && it->start < b; ++it) {
      uint64_t s = std::max(it->start, a), e = std::min(it->end, b);
      if (s >= e) continue;
      const AState st = static_cast<AState>(it->state);
      if (it + 1 == items.end() && st >= AState::kTimer) {
        // Still blocked when the trace ends: what would wake it is after
        // the end, so the trace cannot tell the cause.
        Emit(host, proc, s, e, "BLOCKED", layer);
        continue;
      }
      switch (st) {
        case AState::kNotStarted:
          break;
        case AState::kRunning:
          Emit(host, proc, s, e, "RUNNING", layer);
          break;
        case AState::kHypervisor:
          Emit(host, proc, s, e, "HYPERVISOR", "L0");
          break;
        case AState::kPreempted:
          Emit(host, proc, s, e, "PREEMPTED", "L0");
          break;
        case AState::kReady:
          Emit(host, proc, s, e, "PREEMPTED", layer);
          break;
        case AState::kTimer:
          Emit(host, proc, s, e, "TIMER", layer);
          break;
        case AState::kDisk:
          Emit(host, proc, s, e, "BLOCK_DEVICE", layer);
          break;
        case AState::kTask: {
          const BlockInfo* bi = it->info >= 0 ? &blocks[it->info] : nullptr;
          if (bi == nullptr || bi->waker < 0 || depth > 48) {
            Emit(host, proc, s, e, "BLOCKED", layer);
            break;
          }
          uint64_t w = std::clamp(bi->wake_ts, s, e);
          if (w > s) Walk(bi->waker_host, bi->waker, s, w, depth + 1);
          Emit(host, proc, w, e, "IPI", layer);
          break;
        }
        case AState::kNet:
        case AState::kReply: {
          // A packet from another guest process (a request to a server, its
          // response): the sender's path until its I/O kick sent it, the
          // network hop until this VM's vhost accepted it, then NETWORK at
          // this process's layer until the interrupt is injected. A packet
          // from outside (or none yet): NETWORK.
          const BlockInfo* bi = it->info >= 0 ? &blocks[it->info] : nullptr;
          if (bi == nullptr || bi->waker < 0 || bi->accept_ts == 0 ||
              depth > 48) {
            Emit(host, proc, s, e, "NETWORK", layer);
            break;
          }
          const uint64_t acc = std::clamp(bi->accept_ts, s, e);
          const uint64_t k = std::clamp(bi->wake_ts, s, acc);
          if (k > s) Walk(bi->waker_host, bi->waker, s, k, depth + 1);
          Emit(-1, -1, k, acc, "NETWORK", "L0");
          Emit(host, proc, acc, e, "NETWORK", layer);
          break;
        }
      }
    }
  }

  const std::vector<TruthRecorder*>& all_;
  std::vector<CpEntry> out_;
};

// Which actual states agree with which semantic state.
bool Agrees(PState s, AState a) {
  switch (s) {
    case PState::kUnknown:
      return a == AState::kNotStarted;
    case PState::kRunning:
      return a == AState::kRunning;
    case PState::kVcpuHypervisor:
      return a == AState::kHypervisor;
    case PState::kVcpuPreempted:
      return a == AState::kPreempted;
    case PState::kWaitTimer:
      return a == AState::kTimer;
    case PState::kWaitDisk:
      return a == AState::kDisk;
    case PState::kWaitNet:
      return a == AState::kNet || a == AState::kReply;
    case PState::kWaitTask:
      return a == AState::kTask;
    case PState::kWaitUnknown:
      return false;
  }
  return false;
}

class Out {
 public:
  explicit Out(FILE* f) : f_(f) {}
  void S(const char* s) { std::fputs(s, f_); }
  void Str(const std::string& s) {
    std::fputc('"', f_);
    for (char c : s) {
      if (c == '"' || c == '\\') std::fputc('\\', f_);
      std::fputc(c, f_);
    }
    std::fputc('"', f_);
  }
  void U(uint64_t v) { std::fprintf(f_, "%" PRIu64, v); }
  void I(int64_t v) { std::fprintf(f_, "%" PRId64, v); }
  void Hex(uint64_t v) { std::fprintf(f_, "\"0x%" PRIx64 "\"", v); }

 private:
  FILE* f_;
};

template <typename NameFn>
void WriteIntervals(Out& o, const Timeline& tl, uint64_t off, NameFn name,
                    bool with_info, uint8_t skip) {
  o.S("[");
  bool first = true;
  for (const Interval& i : tl.items()) {
    if (i.end <= i.start || i.state == skip) continue;
    o.S(first ? "\n      [" : ",\n      [");
    first = false;
    o.U(i.start + off);
    o.S(",");
    o.U(i.end + off);
    o.S(",\"");
    o.S(name(i.state));
    o.S("\"");
    if (with_info && i.info >= 0) {
      o.S(",");
      o.I(i.info);
    }
    o.S("]");
  }
  o.S("]");
}

}  // namespace

Status TruthRecorder::WriteJson(const std::string& path, const HostInfo& info,
                                const std::vector<TruthRecorder*>& all,
                                const std::vector<uint64_t>& to_epoch) const {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create " + path);
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  std::setvbuf(f, buf.get(), _IOFBF, 1 << 20);
  Out o(f);
  const uint64_t off = info.to_epoch_ns;
  auto vname = [](uint8_t s) { return VStateName(static_cast<VState>(s)); };
  auto pname = [](uint8_t s) { return PStateName(static_cast<PState>(s)); };
  auto aname = [](uint8_t s) { return AStateName(static_cast<AState>(s)); };
  const uint8_t kNoSkip = 255;
  o.S("{\n  \"format\": \"vmtrace-gen-truth/1\",\n  \"scenario\": ");
  o.Str(info.scenario);
  o.S(",\n  \"host\": ");
  o.Str(info.host);
  o.S(",\n  \"seed\": ");
  o.U(info.seed);
  o.S(",\n  \"events\": ");
  o.U(info.events);
  o.S(",\n  \"time\": \"ns since the Unix epoch in this host's trace clock\"");
  o.S(",\n  \"begin\": ");
  o.U(begin_ + off);
  o.S(",\n  \"end\": ");
  o.U(end_ + off);
  o.S(",\n  \"unobservable\": [\n"
      "    \"guest-internal preemption: a runnable process waiting in the "
      "guest run queue is labelled WAIT_TASK (or the vCPU wait reason)\",\n"
      "    \"idle with lazy TLB: after a process blocks, the guest idle loop "
      "runs under its CR3 until HLT, labelled RUNNING\",\n"
      "    \"a wake-up that arrives while another process runs on the vCPU "
      "is not visible: the woken process is labelled WAIT_TASK\",\n"
      "    \"per process, 'mismatch' sums the time where the semantic label "
      "differs from the actual state\"\n  ],\n  \"vms\": [");
  CriticalPath cp(all);
  for (size_t vi = 0; vi < vms_.size(); ++vi) {
    const VmTruth& vm = vms_[vi];
    o.S(vi ? ",\n  {\n" : "\n  {\n");
    o.S("    \"name\": ");
    o.Str(vm.name);
    o.S(", \"pid\": ");
    o.I(vm.pid);
    o.S(",\n    \"vectors\": {\"timer\": ");
    o.I(vm.vector_timer);
    o.S(", \"ipi\": ");
    o.I(vm.vector_ipi);
    o.S(", \"disk\": ");
    o.I(vm.vector_disk);
    o.S(", \"net\": ");
    o.I(vm.vector_net);
    o.S("},\n    \"vcpus\": [");
    uint64_t totals[5] = {0, 0, 0, 0, 0};
    for (size_t c = 0; c < vm.vcpus.size(); ++c) {
      const VcpuTruth& v = vm.vcpus[c];
      for (const Interval& i : v.row.items()) {
        int k = i.state - static_cast<uint8_t>(VState::kWaitTimer);
        if (k >= 0 && k < 5) totals[k] += i.end - i.start;
      }
      o.S(c ? ",\n    {\"id\": " : "\n    {\"id\": ");
      o.U(c);
      o.S(", \"tid\": ");
      o.I(v.tid);
      o.S(", \"intervals\": ");
      WriteIntervals(o, v.row, off, vname, true, kNoSkip);
      o.S("}");
    }
    o.S("],\n    \"wait_totals\": {\"WAIT_TIMER\": ");
    o.U(totals[0]);
    o.S(", \"WAIT_DISK\": ");
    o.U(totals[1]);
    o.S(", \"WAIT_NET\": ");
    o.U(totals[2]);
    o.S(", \"WAIT_TASK\": ");
    o.U(totals[3]);
    o.S(", \"WAIT_UNKNOWN\": ");
    o.U(totals[4]);
    o.S("},\n");
    auto write_procs = [&](int level) {
      bool first = true;
      o.S("[");
      for (int pi : vm.procs) {
        const ProcTruth& p = procs_[pi];
        if (p.level != level) continue;
        o.S(first ? "\n    {\"name\": " : ",\n    {\"name\": ");
        first = false;
        o.Str(p.name);
        o.S(", \"cr3\": ");
        o.Hex(p.cr3);
        o.S(", \"vcpu\": ");
        o.I(p.vcpu);
        o.S(", \"role\": \"");
        o.S(p.hypervisor ? "l1-hypervisor" : "process");
        o.S("\", \"worker\": ");
        o.Str(p.worker);
        o.S(",\n     \"intervals\": ");
        WriteIntervals(o, p.semantic, off, pname, false, kNoSkip);
        o.S(",\n     \"actual\": ");
        WriteIntervals(o, p.actual, off, aname, false,
                       static_cast<uint8_t>(AState::kNotStarted));
        // Sweep both timelines for the time where they disagree.
        std::map<std::pair<uint8_t, uint8_t>, uint64_t> mismatch;
        const auto& sa = p.semantic.items();
        const auto& aa = p.actual.items();
        size_t i = 0, j = 0;
        while (i < sa.size() && j < aa.size()) {
          uint64_t s = std::max(sa[i].start, aa[j].start);
          uint64_t e = std::min(sa[i].end, aa[j].end);
          if (e > s && !Agrees(static_cast<PState>(sa[i].state),
                               static_cast<AState>(aa[j].state))) {
            mismatch[{sa[i].state, aa[j].state}] += e - s;
          }
          if (sa[i].end < aa[j].end)
            ++i;
          else
            ++j;
        }
        o.S(",\n     \"mismatch\": [");
        bool mf = true;
        for (const auto& [k, ns] : mismatch) {
          o.S(mf ? "\n      {\"semantic\": \"" : ",\n      {\"semantic\": \"");
          mf = false;
          o.S(pname(k.first));
          o.S("\", \"actual\": \"");
          o.S(aname(k.second));
          o.S("\", \"ns\": ");
          o.U(ns);
          o.S("}");
        }
        o.S("]");
        if (!p.hypervisor) {
          int host_idx = -1;
          for (size_t h = 0; h < all.size(); ++h) {
            if (all[h] == this) host_idx = static_cast<int>(h);
          }
          o.S(",\n     \"critical_path\": [");
          std::vector<CpEntry> path = cp.Compute(host_idx, pi);
          for (size_t k = 0; k < path.size(); ++k) {
            const CpEntry& e = path[k];
            o.S(k ? ",\n      [" : "\n      [");
            if (e.host < 0) {
              o.Str("network");
            } else {
              o.Str(all[e.host]->procs()[e.proc].worker);
            }
            o.S(",");
            o.U(e.start + off);
            o.S(",");
            o.U(e.end + off);
            o.S(",\"");
            o.S(e.cause);
            o.S("\",\"");
            o.S(e.layer);
            o.S("\"]");
          }
          o.S("]");
        }
        o.S("}");
      }
      o.S("]");
    };
    o.S("    \"processes\": ");
    write_procs(1);
    o.S(",\n    \"nested\": [");
    if (vm.has_nested) {
      o.S("\n    {\"name\": ");
      o.Str(vm.nested_name);
      o.S(", \"hypervisor_cr3\": ");
      o.Hex(vm.hypervisor_cr3);
      o.S(",\n     \"vcpus\": [");
      for (size_t c = 0; c < vm.vcpus.size(); ++c) {
        o.S(c ? ",\n     {\"id\": " : "\n     {\"id\": ");
        o.U(c);
        o.S(", \"intervals\": ");
        WriteIntervals(o, vm.vcpus[c].nested_row, off, vname, true,
                       static_cast<uint8_t>(VState::kNone));
        o.S("}");
      }
      o.S("],\n     \"processes\": ");
      write_procs(2);
      o.S("}");
    }
    o.S("]\n  }");
  }
  o.S("]\n}\n");
  (void)to_epoch;
  bool ok = std::ferror(f) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return IoError("cannot write " + path);
  return Status::Ok();
}

}  // namespace vmtrace::gen
