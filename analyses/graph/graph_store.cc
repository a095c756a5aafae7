#include "analyses/graph/graph_store.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace vmtrace::graph {
namespace {

constexpr char kMagic[] = "vmtrace-graph";
constexpr int kFormat = 1;

// Streams to the file through a 1 MB buffer: the graph of a 10M-event
// trace encodes to ~50 MB, which need not sit in memory beside it.
class Writer {
 public:
  explicit Writer(std::ofstream* f) : f_(f) {}
  void U(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(char(v | 0x80));
      v >>= 7;
    }
    out.push_back(char(v));
    if (out.size() >= (1u << 20)) Flush();
  }
  void Flush() {
    f_->write(out.data(), std::streamsize(out.size()));
    out.clear();
  }
  // Signed values and time deltas (which may be negative between vectors).
  void S(int64_t v) { U((uint64_t(v) << 1) ^ uint64_t(v >> 63)); }
  void Str(const std::string& s) {
    U(s.size());
    out += s;
  }
  std::string out;

 private:
  std::ofstream* f_;
};

class Reader {
 public:
  Reader(const char* p, const char* e) : p_(p), e_(e) {}
  bool U(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p_ < e_; shift += 7) {
      uint8_t b = uint8_t(*p_++);
      r |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool S(int64_t* v) {
    uint64_t u;
    if (!U(&u)) return false;
    *v = int64_t((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!U(&n) || n > uint64_t(e_ - p_)) return false;
    s->assign(p_, n);
    p_ += n;
    return true;
  }
  // A count that must fit in what is left (each element takes >= 1 byte),
  // so a corrupt count cannot allocate gigabytes.
  bool Count(uint64_t* n) { return U(n) && *n <= uint64_t(e_ - p_); }
  bool done() const { return p_ == e_; }

 private:
  const char* p_;
  const char* e_;
};

}  // namespace

Status SaveGraph(const ExecGraph& g, const std::string& path,
                 const std::string& fingerprint) {
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) return IoError("cannot create " + tmp);
  Writer w(&f);
  w.Str(kMagic);
  w.U(kFormat);
  w.U(kGraphVersion);
  w.Str(fingerprint);
  w.U(g.events);
  w.S(g.begin);
  w.S(g.end);
  w.U(g.hosts.size());
  for (size_t i = 0; i < g.hosts.size(); ++i) {
    w.Str(g.hosts[i]);
    w.S(i < g.host_end.size() ? g.host_end[i] - g.begin : 0);
  }
  w.U(g.threads.size());
  for (const auto& t : g.threads) {
    w.U(t.host);
    w.S(t.tid);
    w.U(t.edges.size());
    int64_t prev = g.begin;
    for (const auto& e : t.edges) {
      w.S(e.ts - prev);
      prev = e.ts;
      w.U(uint8_t(e.cause));
    }
  }
  w.U(g.host_wakes.size());
  int64_t prev = g.begin;
  for (const auto& hw : g.host_wakes) {
    w.S(hw.ts - prev);
    prev = hw.ts;
    w.S(hw.waker);
    w.S(hw.wakee);
  }
  w.U(g.guests.size());
  for (const auto& [k, gw] : g.guests) {
    w.U(k.host);
    w.S(k.pid);
    w.U(k.cr3);
    w.U(gw.wakes.size());
    for (const auto& x : gw.wakes) {
      w.S(x.inj_ts - g.begin);
      w.S(x.wake_ts - x.inj_ts);
      w.S(x.vector);
      w.S(x.source_tid);
      w.U(x.waker_cr3);
      w.U((x.ipi ? 1 : 0) | (x.kept ? 2 : 0));
      w.U(uint8_t(x.device));
      w.S(x.vcpu);
      w.S(x.net_host);
      if (x.net_host >= 0) {
        w.S(x.accept_ts - x.inj_ts);
        w.S(x.net_pid);
        w.U(x.net_cr3);
        w.S(x.net_kick_ts - x.inj_ts);
      }
    }
    auto times = [&w, &g](const std::vector<int64_t>& v) {
      w.U(v.size());
      int64_t p = g.begin;
      for (int64_t t : v) {
        w.S(t - p);
        p = t;
      }
    };
    times(gw.kicks);
    times(gw.hyp_entries);
  }

  w.Flush();
  f.flush();
  if (!f) return IoError("cannot write " + tmp);
  f.close();
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return IoError("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Status LoadGraph(const std::string& path, const std::string& fingerprint,
                 ExecGraph* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("no graph at " + path);
  std::string data((std::istreambuf_iterator<char>(f)),
                   std::istreambuf_iterator<char>());
  Reader r(data.data(), data.data() + data.size());
  const Status bad = DataLoss("graph file " + path + " is stale or damaged");
  std::string magic, fp;
  uint64_t format, version, n;
  if (!r.Str(&magic) || magic != kMagic || !r.U(&format) || format != kFormat ||
      !r.U(&version) || version != kGraphVersion || !r.Str(&fp) ||
      fp != fingerprint) {
    return bad;
  }
  ExecGraph g;
  if (!r.U(&g.events) || !r.S(&g.begin) || !r.S(&g.end) || !r.Count(&n)) {
    return bad;
  }
  g.hosts.resize(n);
  g.host_end.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t e;
    if (!r.Str(&g.hosts[i]) || !r.S(&e)) return bad;
    g.host_end[i] = g.begin + e;
  }
  if (!r.Count(&n)) return bad;
  g.threads.resize(n);
  for (uint32_t i = 0; i < g.threads.size(); ++i) {
    HostThread& t = g.threads[i];
    uint64_t host, edges;
    if (!r.U(&host) || !r.S(&t.tid) || !r.Count(&edges)) return bad;
    t.host = uint32_t(host);
    t.edges.resize(edges);
    int64_t prev = g.begin;
    for (auto& e : t.edges) {
      int64_t d;
      uint64_t c;
      if (!r.S(&d) || !r.U(&c)) return bad;
      e.ts = prev + d;
      prev = e.ts;
      e.cause = Cause(c);
    }
    g.thread_of[{t.host, t.tid}] = i;
  }
  if (!r.Count(&n)) return bad;
  g.host_wakes.resize(n);
  int64_t prev = g.begin;
  for (auto& hw : g.host_wakes) {
    int64_t d;
    if (!r.S(&d) || !r.S(&hw.waker) || !r.S(&hw.wakee)) return bad;
    hw.ts = prev + d;
    prev = hw.ts;
  }
  if (!r.Count(&n)) return bad;
  for (uint64_t i = 0; i < n; ++i) {
    GuestKey k{};
    uint64_t host, m;
    if (!r.U(&host) || !r.S(&k.pid) || !r.U(&k.cr3) || !r.Count(&m)) {
      return bad;
    }
    k.host = uint32_t(host);
    GuestWorker& gw = g.guests[k];
    gw.wakes.resize(m);
    for (auto& x : gw.wakes) {
      int64_t inj, wake, vcpu;
      uint64_t ipi, dev;
      if (!r.S(&inj) || !r.S(&wake) || !r.S(&x.vector) || !r.S(&x.source_tid) ||
          !r.U(&x.waker_cr3) || !r.U(&ipi) || !r.U(&dev) || !r.S(&vcpu)) {
        return bad;
      }
      x.inj_ts = g.begin + inj;
      x.wake_ts = x.inj_ts + wake;
      x.ipi = (ipi & 1) != 0;
      x.kept = (ipi & 2) != 0;
      x.device = Cause(dev);
      x.vcpu = int32_t(vcpu);
      int64_t net_host, accept, kick;
      if (!r.S(&net_host)) return bad;
      x.net_host = int32_t(net_host);
      if (net_host >= 0) {
        if (!r.S(&accept) || !r.S(&x.net_pid) || !r.U(&x.net_cr3) ||
            !r.S(&kick)) {
          return bad;
        }
        x.accept_ts = x.inj_ts + accept;
        x.net_kick_ts = x.inj_ts + kick;
      }
    }
    auto times = [&r, &g](std::vector<int64_t>* v) {
      uint64_t c;
      if (!r.Count(&c)) return false;
      v->resize(c);
      int64_t p = g.begin;
      for (auto& t : *v) {
        int64_t d;
        if (!r.S(&d)) return false;
        t = p + d;
        p = t;
      }
      return true;
    };
    if (!times(&gw.kicks) || !times(&gw.hyp_entries)) return bad;
  }
  if (!r.done()) return bad;
  *out = std::move(g);
  return Status::Ok();
}

}  // namespace vmtrace::graph
