#include "analyses/graph/graph_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>
#include <utility>
#include <vector>

namespace vmtrace::graph {
namespace {

constexpr char kMagic[] = "vmtrace-graph";
// 2: raw arrays (mapped, never decoded), an index at the end.
constexpr int kFormat = 2;
constexpr char kTrailer[8] = {'v', 'm', 't', 'g', 'i', 'd', 'x', '2'};

// Streams to the file through a 1 MB buffer, counting the bytes written
// (the index gives the arrays' offsets).
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
    flushed_ += out.size();
    out.clear();
  }
  // Signed values and time deltas (which may be negative between vectors).
  void S(int64_t v) { U((uint64_t(v) << 1) ^ uint64_t(v >> 63)); }
  void Str(const std::string& s) {
    U(s.size());
    out += s;
  }
  void Raw(const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
    if (out.size() >= (1u << 20)) Flush();
  }
  void Align8() {
    while (pos() % 8 != 0) out.push_back(0);
  }
  uint64_t pos() const { return flushed_ + out.size(); }
  std::string out;

 private:
  std::ofstream* f_;
  uint64_t flushed_ = 0;
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

// Copies column c (its runs in the spill file `spill_fd`, then what it
// holds) as a raw array at an 8-aligned offset; returns {offset, count}.
template <typename T>
bool PutColumn(Writer* w, const Column<T>& c, int spill_fd,
               std::pair<uint64_t, uint64_t>* at) {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= 8);
  // No padding bytes, whose values are unspecified: same graph, same file.
  static_assert(std::has_unique_object_representations_v<T>);
  w->Align8();
  at->first = w->pos();
  at->second = c.total();
  std::vector<char> buf;
  for (const auto& run : c.spilled) {
    uint64_t off = run.offset, left = run.count * sizeof(T);
    while (left > 0) {
      buf.resize(std::min<uint64_t>(left, 1 << 20));
      ssize_t r = ::pread(spill_fd, buf.data(), buf.size(), off_t(off));
      if (r <= 0) return false;
      w->Raw(buf.data(), size_t(r));
      off += uint64_t(r);
      left -= uint64_t(r);
    }
  }
  w->Raw(c.begin(), c.size() * sizeof(T));
  return true;
}

void PutAt(Writer* w, const std::pair<uint64_t, uint64_t>& at) {
  w->U(at.first);
  w->U(at.second);
}

// Points column c at its array in the mapping [base, base + limit).
template <typename T>
bool ViewColumn(Reader* r, const char* base, uint64_t limit, Column<T>* c) {
  uint64_t off, n;
  if (!r->U(&off) || !r->U(&n) || off % alignof(T) != 0 || off > limit ||
      n > (limit - off) / sizeof(T)) {
    return false;
  }
  c->View(reinterpret_cast<const T*>(base + off), size_t(n));
  return true;
}

}  // namespace

Status SaveGraph(const ExecGraph& g, const std::string& path,
                 const std::string& fingerprint, int spill_fd) {
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) return IoError("cannot create " + tmp);
  Writer w(&f);
  w.Str(kMagic);
  w.U(kFormat);
  w.U(kGraphVersion);
  w.Str(fingerprint);
  const Status spill_error = IoError("cannot read the graph's spill file");
  using At = std::pair<uint64_t, uint64_t>;
  std::vector<At> thread_at(g.threads.size());
  for (size_t i = 0; i < g.threads.size(); ++i) {
    if (!PutColumn(&w, g.threads[i].edges, spill_fd, &thread_at[i])) {
      return spill_error;
    }
  }
  At wakes_at;
  if (!PutColumn(&w, g.host_wakes, spill_fd, &wakes_at)) return spill_error;
  std::vector<std::array<At, 3>> guest_at;
  for (const auto& [k, gw] : g.guests) {
    std::array<At, 3> a;
    if (!PutColumn(&w, gw.wakes, spill_fd, &a[0]) ||
        !PutColumn(&w, gw.kicks, spill_fd, &a[1]) ||
        !PutColumn(&w, gw.hyp_entries, spill_fd, &a[2])) {
      return spill_error;
    }
    guest_at.push_back(a);
  }
  // The index, then its place.
  const uint64_t index_at = w.pos();
  w.U(g.events);
  w.S(g.begin);
  w.S(g.end);
  w.U(g.hosts.size());
  for (size_t i = 0; i < g.hosts.size(); ++i) {
    w.Str(g.hosts[i]);
    w.S(i < g.host_end.size() ? g.host_end[i] - g.begin : 0);
  }
  w.U(g.threads.size());
  for (size_t i = 0; i < g.threads.size(); ++i) {
    w.U(g.threads[i].host);
    w.S(g.threads[i].tid);
    PutAt(&w, thread_at[i]);
  }
  PutAt(&w, wakes_at);
  w.U(g.guests.size());
  size_t gi = 0;
  for (const auto& [k, gw] : g.guests) {
    w.U(k.host);
    w.S(k.pid);
    w.U(k.cr3);
    for (const At& a : guest_at[gi]) PutAt(&w, a);
    ++gi;
  }
  const uint64_t index_bytes = w.pos() - index_at;
  w.Raw(&index_at, 8);
  w.Raw(&index_bytes, 8);
  w.Raw(kTrailer, 8);
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
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("no graph at " + path);
  struct stat st;
  const Status bad = DataLoss("graph file " + path + " is stale or damaged");
  if (::fstat(fd, &st) != 0 || st.st_size < 24) {
    ::close(fd);
    return bad;
  }
  const uint64_t size = uint64_t(st.st_size);
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return IoError("cannot map " + path);
  std::shared_ptr<const void> mapping(
      m, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  const char* base = static_cast<const char*>(m);
  Reader r(base, base + size);
  std::string magic, fp;
  uint64_t format, version, n;
  if (!r.Str(&magic) || magic != kMagic || !r.U(&format) || format != kFormat ||
      !r.U(&version) || version != kGraphVersion || !r.Str(&fp) ||
      fp != fingerprint) {
    return bad;
  }
  uint64_t index_at, index_bytes;
  std::memcpy(&index_at, base + size - 24, 8);
  std::memcpy(&index_bytes, base + size - 16, 8);
  if (std::memcmp(base + size - 8, kTrailer, 8) != 0 || index_at > size - 24 ||
      index_bytes != size - 24 - index_at) {
    return bad;
  }
  Reader x(base + index_at, base + size - 24);
  ExecGraph g;
  if (!x.U(&g.events) || !x.S(&g.begin) || !x.S(&g.end) || !x.Count(&n)) {
    return bad;
  }
  g.hosts.resize(n);
  g.host_end.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t e;
    if (!x.Str(&g.hosts[i]) || !x.S(&e)) return bad;
    g.host_end[i] = g.begin + e;
  }
  if (!x.Count(&n)) return bad;
  g.threads.resize(n);
  for (uint32_t i = 0; i < g.threads.size(); ++i) {
    HostThread& t = g.threads[i];
    uint64_t host;
    if (!x.U(&host) || !x.S(&t.tid) ||
        !ViewColumn(&x, base, index_at, &t.edges)) {
      return bad;
    }
    t.host = uint32_t(host);
    g.thread_of[{t.host, t.tid}] = i;
  }
  if (!ViewColumn(&x, base, index_at, &g.host_wakes) || !x.Count(&n)) {
    return bad;
  }
  for (uint64_t i = 0; i < n; ++i) {
    GuestKey k{};
    uint64_t host;
    if (!x.U(&host) || !x.S(&k.pid) || !x.U(&k.cr3)) return bad;
    k.host = uint32_t(host);
    GuestWorker& gw = g.guests[k];
    if (!ViewColumn(&x, base, index_at, &gw.wakes) ||
        !ViewColumn(&x, base, index_at, &gw.kicks) ||
        !ViewColumn(&x, base, index_at, &gw.hyp_entries)) {
      return bad;
    }
  }
  if (!x.done()) return bad;
  g.mapping = std::move(mapping);
  g.mapped_bytes = size;
  *out = std::move(g);
  return Status::Ok();
}

}  // namespace vmtrace::graph
