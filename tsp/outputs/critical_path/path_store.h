// A walked critical path kept as a state history, so that it is walked once,
// queried by range like any other time graph (bounded by rows x samples),
// and found again after a restart instead of being walked again.
//
// Layout of the history:
//   "Rows/<entry id>"            the path's segments on that worker row:
//                                value PathValue(cause, layer), null between
//   "Preempters/<label>"         1 while the path's guest worker is
//                                preempted by that VM or host thread (L0
//                                PREEMPTED segments), null otherwise
//   "Arrows/<from id>/<to id>"   the arrows between two rows: the value
//                                (the cause) changes at each arrow and holds
//                                until the next one of the pair, so the
//                                interval holding t starts at the last arrow
//                                at or before t.
// Beside it, in <dir>/path.json (written before the history is closed, so
// a complete history always has it): the rows tree and each row's worker
// label. The breakdown of any range is read from the history's totals.
#ifndef VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_PATH_STORE_H_
#define VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_PATH_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analyses/graph/critical_path.h"
#include "base/status.h"
#include "storage/state_history.h"
#include "tsp/outputs/providers.h"

namespace vmtrace::tsp {

inline int64_t PathValue(graph::Cause c, graph::Layer l) {
  return int64_t(c) * 16 + int64_t(l);
}
inline graph::Cause PathCause(int64_t v) { return graph::Cause(v / 16); }
inline graph::Layer PathLayer(int64_t v) { return graph::Layer(v % 16); }

struct StoredPath {
  std::unique_ptr<storage::StateHistory> history;  // owned
  TreeModel tree;
  std::map<int64_t, std::string> labels;   // entry id -> worker label
  std::map<int64_t, storage::Quark> rows;  // entry id -> "Rows/<id>"
  struct Pair {
    int64_t from = 0, to = 0;
    storage::Quark q = 0;
  };
  std::vector<Pair> arrows;
  std::map<std::string, storage::Quark> preempters;  // label -> quark
  int64_t start = 0, end = 0;                        // the path's range
};

// What a walk hands to the store.
struct WalkedPath {
  const graph::CriticalPath* cp = nullptr;
  TreeModel tree;
  std::map<graph::WorkerId, int64_t> id_of;  // worker -> entry id
  std::map<int64_t, std::string> labels;
  // Per segment of *cp, who had the host CPU while it was preempted ("" for
  // a segment that is not an L0 PREEMPTED one of a guest worker); empty
  // when unknown.
  std::vector<std::string> preempters;
  // When `preempters` is empty: the same, asked per segment while saving
  // (a string per segment of a path as long as the trace is not kept).
  std::function<std::string(size_t segment)> preempter_of;
  int64_t start = 0, end = 0;
};

// The rows `items` (entry ids; unknown ones are left out) sampled at
// `times` (ascending): each row's segments holding one of the times, in
// time order; rows by entry id. At most rows x times states.
StatusOr<std::vector<TimeGraphRow>> SampledStates(
    const StoredPath& p, const std::vector<int64_t>& items,
    const std::vector<int64_t>& times);
// The arrows in [times.front(), times.back()]: for each sample interval
// [times[k], times[k+1]) (the last sample alone) and row pair, the last
// arrow in it; in time order. At most pairs x times arrows.
StatusOr<std::vector<TimeGraphArrow>> SampledArrows(
    const StoredPath& p, const std::vector<int64_t>& times);

// The complete path stored in `dir` for `fingerprint`; NotFound when there
// is none (nothing, an interrupted write, another fingerprint or format):
// the caller walks the path and calls SavePath. IoError if the directory
// cannot be used.
StatusOr<std::unique_ptr<StoredPath>> LoadPath(const std::string& dir,
                                               const std::string& fingerprint);
// Writes `w` to `dir` (wiped first) and returns it as LoadPath would; with
// an empty `dir` the history is kept in memory.
StatusOr<std::unique_ptr<StoredPath>> SavePath(const std::string& dir,
                                               const std::string& fingerprint,
                                               const WalkedPath& w);

}  // namespace vmtrace::tsp

#endif  // VMTRACE_TSP_OUTPUTS_CRITICAL_PATH_PATH_STORE_H_
