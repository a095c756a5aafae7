// ExecGraph accessors and the cause / layer names and colours.
#include <sys/mman.h>

#include "analyses/graph/graph_model.h"

namespace vmtrace::graph {

const char* CauseName(Cause c) {
  switch (c) {
    case Cause::kUnknown:
      return "UNKNOWN";
    case Cause::kRunning:
      return "RUNNING";
    case Cause::kBlocked:
      return "BLOCKED";
    case Cause::kInterrupted:
      return "INTERRUPTED";
    case Cause::kPreempted:
      return "PREEMPTED";
    case Cause::kTimer:
      return "TIMER";
    case Cause::kNetwork:
      return "NETWORK";
    case Cause::kBlockDevice:
      return "BLOCK_DEVICE";
    case Cause::kIpi:
      return "IPI";
    case Cause::kHypervisor:
      return "HYPERVISOR";
  }
  return "UNKNOWN";
}

const char* LayerName(Layer l) {
  return l == Layer::kL0 ? "L0" : l == Layer::kL1 ? "L1" : "L2";
}

const char* CauseColor(Cause c) {
  switch (c) {
    case Cause::kUnknown:
      return "#403b33";
    case Cause::kRunning:
      return "#339900";
    case Cause::kBlocked:
      return "#dc143c";
    case Cause::kInterrupted:
      return "#ffdc00";
    case Cause::kPreempted:
      return "#c86400";
    case Cause::kTimer:
      return "#336699";
    case Cause::kNetwork:
      return "#ff9bff";
    case Cause::kBlockDevice:
      return "#6600cc";
    case Cause::kIpi:
      return "#6666cc";
    case Cause::kHypervisor:
      return "#a0a0a0";
  }
  return "#403b33";
}

int ExecGraph::HostIndex(const std::string& name) const {
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const HostThread* ExecGraph::Thread(uint32_t host, int64_t tid) const {
  auto it = thread_of.find({host, tid});
  return it == thread_of.end() ? nullptr : &threads[it->second];
}

const GuestWorker* ExecGraph::Guest(const GuestKey& k) const {
  auto it = guests.find(k);
  return it == guests.end() ? nullptr : &it->second;
}

size_t ExecGraph::MemoryBytes() const {
  size_t n = threads.capacity() * sizeof(HostThread) + host_wakes.heap_bytes() +
             thread_of.size() * 64;
  for (const HostThread& t : threads) n += t.edges.heap_bytes();
  for (const auto& [k, w] : guests) {
    n += 96 + w.wakes.heap_bytes() + w.kicks.heap_bytes() +
         w.hyp_entries.heap_bytes();
  }
  return n;
}

void ExecGraph::ReleasePages() const {
  if (mapping != nullptr && mapped_bytes > 0) {
    ::madvise(const_cast<void*>(mapping.get()), mapped_bytes, MADV_DONTNEED);
  }
}

}  // namespace vmtrace::graph
