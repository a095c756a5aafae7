// GraphStore: the execution graph on disk, so reopening an experiment does
// not read the trace again for it.
//
// One file, <dir>/graph.bin, written once at the end of the pass to a
// temporary name and renamed (a crash leaves no half-written file that
// could be trusted). Header: magic, format version, the graph model's
// version and the trace fingerprint; then every array of the ExecGraph
// (each thread's edges, the host wakes, each guest's wakes, kicks and
// hypervisor entries) raw, 8-aligned, one after the other; then an index
// (varint: hosts, threads, guests and where their arrays are) and a
// trailer (the index's offset and size, a magic). Load() maps the file and
// points the graph's columns at it (graph_model.h Column): nothing of the
// arrays is on the heap, and a critical-path walk reads only the pages of
// what it visits (ExecGraph::ReleasePages gives them back). Load() refuses
// a file whose header differs and one whose index or trailer is damaged
// or does not fit the file.
#ifndef VMTRACE_ANALYSES_GRAPH_GRAPH_STORE_H_
#define VMTRACE_ANALYSES_GRAPH_GRAPH_STORE_H_

#include <string>

#include "analyses/graph/graph_model.h"
#include "base/status.h"

namespace vmtrace::graph {

// Bumped when what GraphModel records changes (the file is then rebuilt).
// 2 network, 3 kept, 4 no resumes, 5 mapped arrays, 6 packed edges,
// 56-byte guest wakes and 16-byte host wakes.
inline constexpr int kGraphVersion = 6;

// Writes `g` to `path` atomically. `spill_fd`: the pass's spill file
// holding the columns' spilled runs (GraphModel::SpillTo), -1 if none.
// IoError on failure.
Status SaveGraph(const ExecGraph& g, const std::string& path,
                 const std::string& fingerprint, int spill_fd = -1);
// NotFound if there is no file; DataLoss if it is not a complete graph of
// this version and fingerprint (then the caller rebuilds it). On success
// `g`'s columns view the mapped file (g->mapping keeps it mapped); the file
// must not be truncated while `g` lives (SaveGraph replaces, never edits).
Status LoadGraph(const std::string& path, const std::string& fingerprint,
                 ExecGraph* g);

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_STORE_H_
