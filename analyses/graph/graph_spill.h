// Internal to analyses/graph: the spill file of the pass (GraphModel::SpillTo),
// where the oldest elements of the graph's arrays go while it is built, so
// that the pass holds at most a chunk of each in memory.
#ifndef VMTRACE_ANALYSES_GRAPH_GRAPH_SPILL_H_
#define VMTRACE_ANALYSES_GRAPH_GRAPH_SPILL_H_

#include <cstddef>
#include <cstdint>

#include "analyses/graph/graph_model.h"
#include "base/status.h"

namespace vmtrace::graph {

// Runs of elements appended with write() (the kernel's page cache holds
// them; nothing of it is mapped). The first failure is kept in `status`
// and every later call fails.
struct GraphModel::Spill {
  int fd = -1;
  uint64_t size = 0;
  size_t chunk = 0;
  Status status;
  ~Spill();
  // Appends n bytes; *offset is where they start.
  bool Append(const void* p, size_t n, uint64_t* offset);
  bool Read(uint64_t offset, void* p, size_t n);
};

}  // namespace vmtrace::graph

#endif  // VMTRACE_ANALYSES_GRAPH_GRAPH_SPILL_H_
