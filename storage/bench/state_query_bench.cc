// vmtrace-state-query-bench: times the whole-range time-graph query
// (QuerySampled, the first `quarks` leaf quarks that have intervals x
// `samples` sample times spread over the whole history) on a COPY of a
// complete state store written by the server, as issue 11 item 5 asks:
// the first query after open, then the median of `reps` repeated ones.
//
// Usage: vmtrace-state-query-bench --dir=STORE [--quarks=200]
//                                  [--samples=2000] [--reps=11]
//                                  [--prefix=NAME] [--compact] [--leveldb]
//                                  [--rewrite]
// The store's analysis id, version and fingerprint are read from its meta
// key first, so LevelDbStateHistory::Open loads it instead of wiping it.
// Never point it at a live store: a format mismatch would wipe it.
// A format-3 copy (before the sampling copy) is upgraded in place first.
// --rewrite writes the copy's sampling copy again (after a layout change).
// --leveldb queries LevelDB per sample (the path before issue 11 item 5).
// --compact first compacts the copy into its bottom level (an experiment).
// --prefix keeps only quarks whose path starts with that top-level name.
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/leveldb_state_flat.h"
#include "storage/leveldb_state_history.h"

namespace {

using Clock = std::chrono::steady_clock;
using vmtrace::storage::kRootQuark;
using vmtrace::storage::LevelDbStateHistory;
using vmtrace::storage::Quark;
using vmtrace::storage::StateStoreOptions;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

StateStoreOptions OptionsFromMeta(const std::string& dir, bool compact,
                                  bool rewrite) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) Die("open " + dir + ": " + s.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  if (compact) db->CompactRange(nullptr, nullptr);
  std::string meta;
  if (!db->Get(leveldb::ReadOptions(), "m", &meta).ok()) Die("no meta");
  auto j = nlohmann::json::parse(meta, nullptr, false);
  if (!j.is_object() || !j.value("complete", false)) {
    Die("not a complete store: " + meta);
  }
  if (j.value("formatVersion", 0) == 3 || rewrite) {
    // Format 3 differs only by the sampling copy: add it to the copy.
    leveldb::WriteBatch batch;
    auto st = vmtrace::storage::FlatBlocks::Write(db.get(), dir, &batch);
    if (!st.ok()) Die("upgrade: " + st.ToString());
    j["formatVersion"] = LevelDbStateHistory::kFormatVersion;
    batch.Put("m", j.dump());
    if (!db->Write(leveldb::WriteOptions(), &batch).ok()) Die("upgrade");
  }
  StateStoreOptions o;
  o.dir = dir;
  o.analysis_id = j.value("analysisId", "");
  o.analysis_version = j.value("analysisVersion", 0);
  o.fingerprint = j.value("fingerprint", "");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, prefix;
  size_t nquarks = 200, nsamples = 2000;
  int reps = 11;
  bool compact = false;
  bool rewrite = false;
  bool sampling_copy = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--dir=", 0) == 0) {
      dir = a.substr(6);
    } else if (a.rfind("--quarks=", 0) == 0) {
      nquarks = std::stoul(a.substr(9));
    } else if (a.rfind("--samples=", 0) == 0) {
      nsamples = std::max<size_t>(2, std::stoul(a.substr(10)));
    } else if (a.rfind("--reps=", 0) == 0) {
      reps = std::max(1, std::atoi(a.c_str() + 7));
    } else if (a == "--leveldb") {
      sampling_copy = false;
    } else if (a == "--rewrite") {
      rewrite = true;
    } else if (a == "--compact") {
      compact = true;
    } else if (a.rfind("--prefix=", 0) == 0) {
      prefix = a.substr(9);
    } else {
      dir.clear();
      break;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr,
                 "usage: %s --dir=STORE_COPY [--quarks=N] [--samples=N] "
                 "[--reps=N] [--prefix=NAME]\n",
                 argv[0]);
    return 2;
  }
  StateStoreOptions o = OptionsFromMeta(dir, compact, rewrite);
  o.sampling_copy = sampling_copy;
  auto a = Clock::now();
  auto opened = LevelDbStateHistory::Open(o);
  if (!opened.ok()) Die("open: " + opened.status().ToString());
  auto h = std::move(opened).value();
  if (h->needs_build()) Die("the store was not loaded (format mismatch?)");
  double open_ms = Ms(a, Clock::now());

  // Leaf quarks with intervals, in quark order (as the providers list rows).
  std::vector<Quark> quarks;
  for (Quark q = 1; q < h->AttributeCount() && quarks.size() < nquarks; ++q) {
    if (!h->Children(q).empty()) continue;
    if (!prefix.empty()) {
      Quark top = q;
      while (h->Parent(top) != kRootQuark) top = h->Parent(top);
      if (h->Name(top) != prefix) continue;
    }
    auto fl = h->FirstLast(q);
    if (fl.ok() && fl->has_value()) quarks.push_back(q);
  }
  std::vector<int64_t> times;
  int64_t t0 = h->start_time(), t1 = h->flushed_until();
  for (size_t k = 0; k < nsamples; ++k) {
    times.push_back(t0 + int64_t((__int128)(t1 - t0) * k / (nsamples - 1)));
  }
  std::vector<double> ms;
  size_t states = 0;
  for (int run = 0; run <= reps; ++run) {
    auto b = Clock::now();
    auto res = h->QuerySampled(quarks, times);
    auto c = Clock::now();
    if (!res.ok()) Die("query: " + res.status().ToString());
    states = res->size();
    ms.push_back(Ms(b, c));
  }
  double first = ms.front();
  ms.erase(ms.begin());
  std::sort(ms.begin(), ms.end());
  std::printf(
      "intervals %llu quarks %zu samples %zu states %zu open_ms %.1f "
      "first_ms %.1f median_ms %.1f min_ms %.1f\n",
      (unsigned long long)h->interval_count(), quarks.size(), times.size(),
      states, open_ms, first, ms[ms.size() / 2], ms.front());
  return 0;
}
