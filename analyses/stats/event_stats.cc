#include "analyses/stats/event_stats.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <set>

#include "analyses/stats/buckets.h"
#include "base/log.h"
#include "base/varint.h"

namespace vmtrace::stats {
namespace {

constexpr uint64_t kPreemptionBit = uint64_t(1) << 31;
constexpr uint64_t kSubChunkBit = uint64_t(1) << 30;
constexpr int64_t kMaxReasonCode = (int64_t(1) << 30) - 1;
// Chunks per slab: the builder's unit, and how far back an edge replays
// the process <-> process rule from its stored state.
constexpr int kSlabLog2 = 4;
constexpr int64_t kSlabChunks = int64_t(1) << kSlabLog2;

// Chunk length: a power of two of at least 1 us, about 1/32768 of the
// window, so the edges of a range stay small whatever the trace's length.
int64_t ChunkLength(const Window& w) {
  int64_t l = 1 << 10;
  while (l < (int64_t(1) << 50) && l * 32768 < w.length()) l <<= 1;
  return l;
}

int64_t FloorDiv(int64_t x, int64_t d) {
  int64_t q = x / d;
  return (x % d != 0 && x < 0) ? q - 1 : q;
}

std::string SlabKey(int64_t slab) {
  std::string k = "s";
  uint64_t u = uint64_t(slab) ^ (uint64_t(1) << 63);
  for (int i = 7; i >= 0; --i) k.push_back(char(u >> (8 * i)));
  return k;
}

void PutStr(std::string* out, const std::string& s) {
  PutVarint(out, s.size());
  out->append(s);
}
bool GetStr(const char** p, const char* e, std::string* s) {
  uint64_t n;
  if (!GetVarint(p, e, &n) || uint64_t(e - *p) < n) return false;
  s->assign(*p, n);
  *p += n;
  return true;
}

std::string EncodeSwitches(const SwitchStates& s) {
  std::string out;
  PutVarint(&out, s.size());
  for (const auto& [q, v] : s) {
    PutVarint(&out, q);
    PutVarint(&out, v.size());
    for (const SwitchState& x : v) {
      PutStr(&out, x.cur_l1);
      PutStr(&out, x.cur_l2);
      out.push_back(char((x.idle_l1 ? 1 : 0) | (x.idle_l2 ? 2 : 0)));
    }
  }
  return out;
}

bool DecodeSwitches(const std::string& in, SwitchStates* s) {
  const char* p = in.data();
  const char* e = p + in.size();
  uint64_t n;
  if (!GetVarint(&p, e, &n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t q, m;
    if (!GetVarint(&p, e, &q) || !GetVarint(&p, e, &m)) return false;
    auto& v = (*s)[Quark(q)];
    v.resize(m);
    for (SwitchState& x : v) {
      if (!GetStr(&p, e, &x.cur_l1) || !GetStr(&p, e, &x.cur_l2) || p >= e) {
        return false;
      }
      uint8_t f = uint8_t(*p++);
      x.idle_l1 = f & 1;
      x.idle_l2 = f & 2;
    }
  }
  return p == e;
}

bool Wanted(uint64_t key, int kinds) {
  if (IsSubChunkKey(key)) return false;
  return IsExitKey(key) ? (kinds & kExits) : (kinds & kPreemptions);
}

}  // namespace

uint64_t ExitKey(Quark vcpu, int64_t reason, bool from_l2) {
  const int64_t code =
      reason < -1 ? 0 : std::min<int64_t>(reason, kMaxReasonCode - 1) + 1;
  return (uint64_t(vcpu) << 32) | (uint64_t(code) << 1) | (from_l2 ? 1 : 0);
}
uint64_t PreemptionKey(Quark vm, int kind) {
  return (uint64_t(vm) << 32) | kPreemptionBit | uint64_t(kind);
}
int64_t KeyReason(uint64_t key) {
  return int64_t((key >> 1) & uint64_t(kMaxReasonCode)) - 1;
}
bool KeyFromL2(uint64_t key) { return key & 1; }
int KeyKind(uint64_t key) { return int(key & 0xff); }
uint64_t SubChunkKey(Quark vcpu, int sub) {
  return (uint64_t(vcpu) << 32) | kPreemptionBit | kSubChunkBit | uint64_t(sub);
}

Status ScanEvents(const StateHistory& h, const std::vector<VmRef>& vms,
                  int64_t from, int64_t a, int64_t b, const Window& w,
                  int kinds, SwitchStates* switches, TallyMap* out) {
  for (const VmRef& vm : vms) {
    if (kinds & kExits) {
      for (const VcpuRef& v : vm.vcpus) {
        VMTRACE_ASSIGN_OR_RETURN(auto exits, ExitsStartingIn(h, v, a, b, w));
        for (const Exit& e : exits) {
          (*out)[ExitKey(v.q, e.reason, e.from_l2)].Add(e.ns);
        }
      }
    }
    if (kinds & kPreemptions) {
      VMTRACE_ASSIGN_OR_RETURN(
          auto ps, PreemptionsIn(h, vm, from, a, b, w, &(*switches)[vm.q]));
      for (const Preemption& p : ps) {
        (*out)[PreemptionKey(vm.q, p.kind)].Add(p.ns);
      }
    }
  }
  return Status::Ok();
}

EventStats::EventStats(const StateHistory* h, std::string dir,
                       std::string fingerprint, bool build)
    : h_(h), dir_(std::move(dir)), fingerprint_(std::move(fingerprint)) {
  if (build) Start();
}

void EventStats::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

storage::TieredStatsOptions EventStats::StoreOptions(const StateHistory& h,
                                                     const std::string& dir,
                                                     const std::string& fp) {
  const Window w = ObservedWindow(h);
  storage::TieredStatsOptions o;
  o.dir = dir;
  o.stats_id = "vm-events";
  o.version = kVersion;
  o.fingerprint = fp + "|window:" + std::to_string(w.start) + "," +
                  std::to_string(w.end) +
                  "|attributes:" + std::to_string(h.AttributeCount());
  o.chunk_ns = ChunkLength(w);
  return o;
}

int64_t EventStats::chunk_ns() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_ ? store_->chunk_ns() : 0;
}

EventStats::~EventStats() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EventStats::Sleep(int ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return cancel_; });
  return !cancel_;
}

void EventStats::Run() {
  pthread_setname_np(pthread_self(), "vmt-evstats");
  // The aggregates are computed from the complete history only: the
  // definitions look at the whole attribute tree and at rows written late
  // (deferred wait labels), which a partial history does not settle.
  while (!h_->complete()) {
    if (!Sleep(50)) return;
  }
  const Window w = ObservedWindow(*h_);
  const std::vector<VmRef> vms = ListVms(*h_);
  auto store =
      storage::TieredStatsStore::Open(StoreOptions(*h_, dir_, fingerprint_));
  Status st = store.status();
  if (store.ok()) {
    std::shared_ptr<storage::TieredStatsStore> s(std::move(*store));
    reused_ = !s->needs_build();
    {
      std::lock_guard<std::mutex> lock(mu_);
      store_ = s;
    }
    if (s->needs_build()) {
      const auto t0 = std::chrono::steady_clock::now();
      st = Build(s.get(), w, vms);
      if (st.ok()) st = s->Close();
      build_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
      if (st.ok()) {
        VMTRACE_LOG(kInfo,
                    "vm event statistics built in %s: %lld ms, %llu bytes",
                    dir_.c_str(), (long long)build_ms_.load(),
                    (unsigned long long)s->ApproximateSize());
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!st.ok() && !cancel_) {
      VMTRACE_LOG(kWarning,
                  "vm event statistics not stored (answers scan the "
                  "history): %s",
                  st.ToString().c_str());
    }
    status_ = st;
  }
  cv_.notify_all();
}

Status EventStats::Build(storage::TieredStatsStore* store, const Window& w,
                         const std::vector<VmRef>& vms) {
  if (w.length() == 0) return Status::Ok();
  const int64_t l = store->chunk_ns();
  const int64_t first = FloorDiv(store->ChunkOf(w.start), kSlabChunks);
  const int64_t last = FloorDiv(store->ChunkOf(w.end), kSlabChunks);
  SwitchStates sw;
  VMTRACE_RETURN_IF_ERROR(store->PutBlob(SlabKey(first), EncodeSwitches(sw)));
  for (int64_t slab = first; slab <= last; ++slab) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancel_) return Unavailable("stopped");
    }
    const int64_t c0 = slab * kSlabChunks;
    // Chunk by chunk: small reads (a slab's intervals at once made vectors
    // of megabytes, whose page faults dominated the build).
    for (int64_t c = c0; c < c0 + kSlabChunks; ++c) {
      const int64_t a = c * l;
      const int64_t b = std::min(a + l - 1, w.end);
      TallyMap chunk;
      if (a <= w.end) {
        // Exits here (for the sub-chunk counts), preemptions by the scan.
        const int64_t sub_ns = l / kSubChunks;
        for (const VmRef& vm : vms) {
          for (const VcpuRef& v : vm.vcpus) {
            VMTRACE_ASSIGN_OR_RETURN(auto exits,
                                     ExitsStartingIn(*h_, v, a, b, w));
            for (const Exit& e : exits) {
              chunk[ExitKey(v.q, e.reason, e.from_l2)].Add(e.ns);
              ++chunk[SubChunkKey(v.q, int((e.start - a) / sub_ns))].count;
            }
          }
        }
        VMTRACE_RETURN_IF_ERROR(
            ScanEvents(*h_, vms, a, a, b, w, kPreemptions, &sw, &chunk));
      }
      VMTRACE_RETURN_IF_ERROR(store->AddChunk(c, chunk));
    }
    // The next slab's starting state lands with this slab's chunks.
    VMTRACE_RETURN_IF_ERROR(
        store->PutBlob(SlabKey(slab + 1), EncodeSwitches(sw)));
    VMTRACE_RETURN_IF_ERROR(store->Publish(c0 + kSlabChunks));
    if (on_slab_) on_slab_(c0 + kSlabChunks);
  }
  return Status::Ok();
}

StatusOr<bool> EventStats::LoadSwitches(const storage::TieredStatsStore& s,
                                        int64_t slab, SwitchStates* out) const {
  VMTRACE_ASSIGN_OR_RETURN(auto blob, s.GetBlob(SlabKey(slab)));
  if (!blob) return false;
  if (!DecodeSwitches(*blob, out)) return DataLoss("corrupt switch states");
  return true;
}

Status EventStats::Edge(const storage::TieredStatsStore* s, int64_t ready,
                        const std::vector<VmRef>& vms, const Window& w,
                        int64_t a, int64_t b, int kinds, TallyMap* out) const {
  if (a > b) return Status::Ok();
  SwitchStates sw;
  int64_t from = w.start;
  if (s && (kinds & kPreemptions)) {
    // Replay from the stored state of the slab holding a (or the last one
    // stored): at most a slab before a.
    int64_t slab = FloorDiv(s->ChunkOf(a), kSlabChunks);
    if (ready != INT64_MAX) slab = std::min(slab, FloorDiv(ready, kSlabChunks));
    const int64_t slab_start = slab * kSlabChunks * s->chunk_ns();
    VMTRACE_ASSIGN_OR_RETURN(bool found, LoadSwitches(*s, slab, &sw));
    if (found || slab_start <= w.start) {
      from = std::min(slab_start, a);
    } else {
      sw.clear();
    }
  }
  return ScanEvents(*h_, vms, from, a, b, w, kinds, &sw, out);
}

StatusOr<TallyMap> EventStats::Range(int64_t a, int64_t b, int kinds) const {
  TallyMap out;
  const Window w = ObservedWindow(*h_);
  if (w.length() == 0) return out;
  a = std::max(a, w.start);
  b = std::min(b, w.end);
  if (a > b) return out;
  const std::vector<VmRef> vms = ListVms(*h_);
  std::shared_ptr<storage::TieredStatsStore> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (h_->complete()) s = store_;
  }
  const int64_t ready = s ? s->ready_until() : INT64_MIN;
  if (ready == INT64_MIN) s.reset();  // nothing published yet
  if (s) {
    const int64_t l = s->chunk_ns();
    // Chunks lying inside [a, b] that are stored: [c1, c2).
    const int64_t c1 = s->ChunkOf(a - 1) + 1;
    const int64_t c2 = std::min(s->ChunkOf(b + 1), ready);
    if (c1 < c2) {
      VMTRACE_ASSIGN_OR_RETURN(TallyMap mid, s->Sum(c1, c2));
      for (const auto& [k, t] : mid) {
        if (Wanted(k, kinds)) out[k].Merge(t);
      }
      VMTRACE_RETURN_IF_ERROR(
          Edge(s.get(), ready, vms, w, a, c1 * l - 1, kinds, &out));
      VMTRACE_RETURN_IF_ERROR(
          Edge(s.get(), ready, vms, w, c2 * l, b, kinds, &out));
      return out;
    }
    VMTRACE_RETURN_IF_ERROR(Edge(s.get(), ready, vms, w, a, b, kinds, &out));
    return out;
  }
  VMTRACE_RETURN_IF_ERROR(Edge(nullptr, 0, vms, w, a, b, kinds, &out));
  return out;
}

StatusOr<std::map<Quark, std::vector<double>>> EventStats::ExitCountsByVcpu(
    const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times) const {
  std::map<Quark, std::vector<double>> out;
  for (const VcpuRef& v : vcpus) out[v.q].assign(times.size(), 0.0);
  const Window w = ObservedWindow(*h_);
  if (times.size() < 2 || w.length() == 0) return out;
  std::shared_ptr<storage::TieredStatsStore> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (h_->complete()) s = store_;
  }
  // Exits only happen in [w.start, w.end]: P(t), the number of exits
  // starting before t, is P(clamp(t, w.start, w.end + 1)).
  std::vector<int64_t> tc(times.size());
  for (size_t k = 0; k < times.size(); ++k) {
    tc[k] = std::clamp(times[k], w.start, w.end + 1);
  }
  const int64_t ready = s ? s->ready_until() : INT64_MIN;
  if (!s || ready == INT64_MIN || s->ChunkOf(tc.back()) >= ready) {
    // No aggregates (yet) for this part: one scan of the sampled range.
    for (const VcpuRef& v : vcpus) {
      VMTRACE_ASSIGN_OR_RETURN(
          auto exits,
          ExitsStartingIn(*h_, v, tc.front(), tc.back() - 1, w, false));
      for (const Exit& e : exits) CountInBucket(e.start, times, &out[v.q]);
    }
    return out;
  }
  // P(t) = the stored chunks before t's chunk c + c's sub-chunks before t's
  // + a scan of t's sub-chunk up to t.
  const int64_t l = s->chunk_ns();
  const int64_t sub_ns = l / kSubChunks;
  int64_t cur = s->ChunkOf(w.start);
  std::map<Quark, int64_t> before;  // exits in the chunks [first, cur)
  int64_t loaded = INT64_MIN;
  TallyMap chunk;  // the record of chunk `loaded`
  std::map<Quark, std::vector<double>> p;
  for (const VcpuRef& v : vcpus) p[v.q].resize(times.size());
  for (size_t k = 0; k < tc.size(); ++k) {
    const int64_t c = s->ChunkOf(tc[k]);
    if (c > cur) {
      VMTRACE_ASSIGN_OR_RETURN(TallyMap mid, s->Sum(cur, c));
      for (const auto& [key, t] : mid) {
        if (IsExitKey(key) && out.count(KeyQuark(key))) {
          before[KeyQuark(key)] += t.count;
        }
      }
      cur = c;
    }
    if (c != loaded) {
      VMTRACE_ASSIGN_OR_RETURN(chunk, s->Chunk(c));
      loaded = c;
    }
    const int sub = int((tc[k] - c * l) / sub_ns);
    const int64_t a = std::max(c * l + sub * sub_ns, w.start);
    const int64_t b = std::min(tc[k] - 1, w.end);
    for (const VcpuRef& v : vcpus) {
      int64_t n = before[v.q];
      for (int j = 0; j < sub; ++j) {
        auto it = chunk.find(SubChunkKey(v.q, j));
        if (it != chunk.end()) n += it->second.count;
      }
      if (a <= b) {
        VMTRACE_ASSIGN_OR_RETURN(auto exits,
                                 ExitsStartingIn(*h_, v, a, b, w, false));
        n += int64_t(exits.size());
      }
      p[v.q][k] = double(n);
    }
  }
  for (auto& [q, acc] : out) {
    for (size_t k = 0; k + 1 < times.size(); ++k) {
      acc[k] = p[q][k + 1] - p[q][k];
    }
  }
  return out;
}

StatusOr<std::vector<double>> EventStats::ExitCounts(
    const std::vector<VcpuRef>& vcpus,
    const std::vector<int64_t>& times) const {
  std::vector<double> acc(times.size(), 0.0);
  VMTRACE_ASSIGN_OR_RETURN(auto by_vcpu, ExitCountsByVcpu(vcpus, times));
  for (const auto& [q, v] : by_vcpu) {
    for (size_t k = 0; k < v.size(); ++k) acc[k] += v[k];
  }
  return acc;
}

bool EventStats::built() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_ && store_->complete();
}

bool EventStats::WaitBuilt(int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] {
    return (store_ && store_->complete()) || !status_.ok() || cancel_;
  });
  return store_ && store_->complete();
}

Status EventStats::build_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

uint64_t EventStats::StoreSize() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_ ? store_->ApproximateSize() : 0;
}

}  // namespace vmtrace::stats
