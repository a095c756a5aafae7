// GraphStore: the execution graph on disk, so reopening an experiment does
// not read the trace again for it.
//
// One file, <dir>/graph.bin, written once at the end of the pass to a
// temporary name and renamed (a crash leaves no half-written file that
// could be trusted). Header: magic, format version, the graph model's
// version and the trace fingerprint; Load() refuses a file whose header
// differs, and a file that does not decode to its end. Body: the ExecGraph
// vectors, varint-encoded (times as deltas).
#ifndef VMTRACE_ANALYSES_GRAPH_GRAPH_STORE_H_
#define VMTRACE_ANALYSES_GRAPH_GRAPH_STORE_H_

#include <string>

#include "analyses/graph/graph_model.h"
#include "base/status.h"

namespace vmtrace::graph {

// Bumped when what GraphModel records changes (the file is then rebuilt).
inline constexpr int kGraphVersion = 4;  // 2 network, 3 kept, 4 no resumes

// Writes `g` to `path` atomically. IoError on failure.
Status SaveGraph(const ExecGraph& g, const std::string& path,
                 const std::string& fingerprint);
// NotFound if there is no file; DataLoss if it is not a complete graph of
// this version and fingerprint (then the caller rebuilds it).
Status LoadGraph(const std::string& path, const std::string& fingerprint,
                 ExecGraph* g);

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_STORE_H_
