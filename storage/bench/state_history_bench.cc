// vmtrace-state-bench: writes synthetic state histories into the LevelDB
// state store and measures what issue 4 asks of it: write throughput, store
// bytes per interval, and the latency of the time-graph query
// (QuerySampled, 100 quarks x 2,000 samples, median of 20) at 1M and 10M
// intervals, with the 10M/1M ratio.
//
// Usage: vmtrace-state-bench [--sizes=1000000,10000000] [--attrs=1000]
//                            [--dir=/tmp] [--keep] [--reuse]
// --keep leaves the stores in place; --reuse (implies --keep) queries a
// complete store left by an earlier run instead of writing it again.
// The history: `attrs` attributes under "Threads/<n>/Status"; each event
// picks an attribute at random and gives it a new value (a small int, a
// string one time in ten) at a time advancing by 1..200 ns, so durations
// are random and every attribute spans the whole trace. The writer flushes
// every 100,000 intervals, as an analysis pass would at batch boundaries.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/leveldb_state_history.h"

namespace {

using Clock = std::chrono::steady_clock;
using vmtrace::storage::LevelDbStateHistory;
using vmtrace::storage::Quark;
using vmtrace::storage::StateStoreOptions;
using vmtrace::storage::StateValue;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Result {
  uint64_t intervals = 0;
  double write_s = 0;
  uint64_t bytes_closed = 0;
  uint64_t bytes_reopened = 0;
  double median_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  size_t states = 0;
};

std::unique_ptr<LevelDbStateHistory> OpenOrDie(const StateStoreOptions& o) {
  auto h = LevelDbStateHistory::Open(o);
  if (!h.ok()) {
    std::fprintf(stderr, "open %s: %s\n", o.dir.c_str(),
                 h.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(h).value();
}

// Median (and extremes) of 20 QuerySampled runs over 100 quarks spread over
// the tree and 2,000 samples spread over the whole history.
void MeasureQuery(const LevelDbStateHistory& h, const std::vector<Quark>& all,
                  Result* r) {
  std::vector<Quark> quarks;
  for (size_t k = 0; k < 100 && k < all.size(); ++k) {
    quarks.push_back(all[k * all.size() / 100]);
  }
  std::vector<int64_t> times;
  int64_t t0 = h.start_time(), t1 = h.flushed_until();
  for (int k = 0; k < 2000; ++k) times.push_back(t0 + (t1 - t0) * k / 1999);
  std::vector<double> ms;
  for (int run = 0; run < 20; ++run) {
    auto a = Clock::now();
    auto res = h.QuerySampled(quarks, times);
    auto b = Clock::now();
    if (!res.ok()) {
      std::fprintf(stderr, "query: %s\n", res.status().ToString().c_str());
      std::exit(1);
    }
    r->states = res->size();
    ms.push_back(Seconds(a, b) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  r->median_ms = (ms[9] + ms[10]) / 2;
  r->min_ms = ms.front();
  r->max_ms = ms.back();
}

Result Run(const std::string& dir, uint64_t n, int attrs, bool reuse) {
  Result r;
  StateStoreOptions o{
      dir, "bench", 1,
      "synthetic-" + std::to_string(n) + "-" + std::to_string(attrs)};
  if (!reuse) std::filesystem::remove_all(dir);
  auto h = OpenOrDie(o);
  std::vector<Quark> quarks;
  for (int a = 0; a < attrs; ++a) {
    quarks.push_back(
        h->GetOrAddPath({"Threads", std::to_string(1000 + a), "Status"}));
  }
  if (!h->needs_build()) {  // --reuse of a complete store: query only
    r.intervals = h->interval_count();
    r.bytes_closed = r.bytes_reopened = h->ApproximateSize();
    MeasureQuery(*h, quarks, &r);
    return r;
  }
  std::vector<std::string> names;
  for (int k = 0; k < 50; ++k) names.push_back("proc-" + std::to_string(k));
  std::mt19937_64 rng(42);
  int64_t t = 1'000'000'000;
  auto start = Clock::now();
  for (Quark q : quarks) h->Set(t, q, StateValue::Int(0));
  uint64_t next_flush = 100000;
  while (h->interval_count() < n) {
    t += 1 + int64_t(rng() % 200);
    Quark q = quarks[rng() % quarks.size()];
    uint64_t x = rng();
    StateValue v = x % 10 == 0 ? StateValue::Str(names[(x >> 8) % 50])
                               : StateValue::Int(int64_t((x >> 8) % 6));
    if (v == h->Current(q)) v = StateValue::Int(100 + int64_t(x % 7));
    h->Set(t, q, std::move(v));
    if (h->interval_count() >= next_flush) {
      if (!h->Flush(t).ok()) std::exit(1);
      next_flush += 100000;
    }
  }
  if (!h->Close(t).ok()) std::exit(1);
  r.write_s = Seconds(start, Clock::now());
  r.intervals = h->interval_count();
  r.bytes_closed = h->ApproximateSize();
  h.reset();
  // The server's steady state: a complete store opened from disk.
  h = OpenOrDie(o);
  if (h->needs_build()) {
    std::fprintf(stderr, "reopened store wants a rebuild\n");
    std::exit(1);
  }
  r.bytes_reopened = h->ApproximateSize();
  MeasureQuery(*h, quarks, &r);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> sizes = {1'000'000, 10'000'000};
  int attrs = 1000;
  std::string base = "/tmp";
  bool keep = false;
  bool reuse = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--sizes=", 0) == 0) {
      sizes.clear();
      for (size_t p = 8; p < a.size();) {
        size_t c = a.find(',', p);
        if (c == std::string::npos) c = a.size();
        sizes.push_back(std::stoull(a.substr(p, c - p)));
        p = c + 1;
      }
    } else if (a.rfind("--attrs=", 0) == 0) {
      attrs = std::max(1, std::atoi(a.c_str() + 8));
    } else if (a.rfind("--dir=", 0) == 0) {
      base = a.substr(6);
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--reuse") {
      keep = reuse = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--sizes=N,M] [--attrs=A] [--dir=D] [--keep] "
                   "[--reuse]\n",
                   argv[0]);
      return 2;
    }
  }
  std::printf("%12s %10s %12s %10s %10s %10s %10s %9s\n", "intervals",
              "write_s", "intervals/s", "B/intv", "B/intv*", "median_ms",
              "min_ms", "states");
  std::vector<Result> results;
  for (uint64_t n : sizes) {
    std::string dir = base + "/vmtrace-state-bench-" + std::to_string(n) + "-" +
                      std::to_string(attrs);
    Result r = Run(dir, n, attrs, reuse);
    results.push_back(r);
    std::printf("%12llu %10.2f %12.0f %10.2f %10.2f %10.2f %10.2f %9zu\n",
                (unsigned long long)r.intervals, r.write_s,
                r.intervals / r.write_s, double(r.bytes_closed) / r.intervals,
                double(r.bytes_reopened) / r.intervals, r.median_ms, r.min_ms,
                r.states);
    std::fflush(stdout);
    if (!keep) std::filesystem::remove_all(dir);
  }
  std::printf("(B/intv: store size after Close; B/intv*: after reopen)\n");
  if (results.size() >= 2) {
    std::printf("QuerySampled latency ratio %llu/%llu: %.2f\n",
                (unsigned long long)results.back().intervals,
                (unsigned long long)results.front().intervals,
                results.back().median_ms / results.front().median_ms);
  }
  return 0;
}
