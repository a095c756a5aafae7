// The spill file of the pass (graph_spill.h) and the arrays' moves to and
// from it.
#include "analyses/graph/graph_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace vmtrace::graph {

GraphModel::Spill::~Spill() {
  if (fd >= 0) ::close(fd);
}

bool GraphModel::Spill::Append(const void* p, size_t n, uint64_t* offset) {
  if (!status.ok()) return false;
  *offset = size;
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      status =
          IoError(std::string("graph spill write: ") + std::strerror(errno));
      return false;
    }
    c += w;
    n -= size_t(w);
    size += uint64_t(w);
  }
  return true;
}

bool GraphModel::Spill::Read(uint64_t offset, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::pread(fd, c, n, off_t(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      status = IoError("graph spill read failed");
      return false;
    }
    c += r;
    n -= size_t(r);
    offset += uint64_t(r);
  }
  return true;
}

Status GraphModel::SpillTo(const std::string& path, size_t chunk) {
  auto s = std::make_unique<Spill>();
  s->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (s->fd < 0) return IoError("cannot create " + path);
  s->chunk = std::max<size_t>(chunk, 2);
  spill_ = std::move(s);
  return Status::Ok();
}

int GraphModel::spill_fd() const { return spill_ ? spill_->fd : -1; }

Status GraphModel::spill_status() const {
  return spill_ ? spill_->status : Status::Ok();
}

Status GraphModel::Unspill() {
  if (!spill_) return Status::Ok();
  for (HostThread& t : g_.threads) VMTRACE_RETURN_IF_ERROR(Gather(t.edges));
  VMTRACE_RETURN_IF_ERROR(Gather(g_.host_wakes));
  for (auto& [k, w] : g_.guests) {
    VMTRACE_RETURN_IF_ERROR(Gather(w.wakes));
    VMTRACE_RETURN_IF_ERROR(Gather(w.kicks));
    VMTRACE_RETURN_IF_ERROR(Gather(w.hyp_entries));
  }
  spill_.reset();
  return Status::Ok();
}

template <typename T>
void GraphModel::MaybeSpill(Column<T>& c) {
  std::vector<T>& v = c.vec();
  if (!spill_ || v.size() < spill_->chunk) return;
  const size_t n = v.size() - 1;
  uint64_t offset;
  if (!spill_->Append(v.data(), n * sizeof(T), &offset)) return;
  c.spilled.push_back({offset, n});
  c.spilled_count += n;
  // Keeps the capacity: the vector never grows past the chunk.
  v.erase(v.begin(), v.begin() + std::ptrdiff_t(n));
}

template <typename T>
Status GraphModel::Gather(Column<T>& c) {
  if (c.spilled.empty()) return Status::Ok();
  std::vector<T> all(c.spilled_count + c.vec().size());
  size_t at = 0;
  for (const auto& run : c.spilled) {
    if (!spill_->Read(run.offset, all.data() + at, run.count * sizeof(T))) {
      return spill_->status;
    }
    at += run.count;
  }
  std::copy(c.vec().begin(), c.vec().end(), all.begin() + std::ptrdiff_t(at));
  c.vec().swap(all);
  c.spilled.clear();
  c.spilled_count = 0;
  return Status::Ok();
}

// The arrays of the graph (graph_model.h).
template void GraphModel::MaybeSpill(Column<HostEdge>&);
template void GraphModel::MaybeSpill(Column<HostWake>&);
template void GraphModel::MaybeSpill(Column<GuestWake>&);
template void GraphModel::MaybeSpill(Column<int64_t>&);
template Status GraphModel::Gather(Column<HostEdge>&);
template Status GraphModel::Gather(Column<HostWake>&);
template Status GraphModel::Gather(Column<GuestWake>&);
template Status GraphModel::Gather(Column<int64_t>&);

}  // namespace vmtrace::graph
