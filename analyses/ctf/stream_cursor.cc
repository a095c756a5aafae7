#include "analyses/ctf/stream_cursor.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vmtrace::ctf {

namespace {
constexpr size_t kMaxMessages = 20;
}  // namespace

StreamCursor::StreamCursor(const TraceImpl* trace, const StreamFiles* files,
                           uint32_t trace_index, uint32_t stream_index,
                           ReaderStats* stats)
    : trace_(trace), files_(files), stats_(stats) {
  event_.trace_index = trace_index;
  event_.stream_index = stream_index;
  scratch_.reserve(4096);
  fixups_.reserve(16);
}

StreamCursor::~StreamCursor() { CloseFile(); }

void StreamCursor::CloseFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
  map_ = nullptr;
  map_size_ = 0;
  released_ = 0;
}

void StreamCursor::Note(const std::string& message) {
  if (stats_->messages.size() < kMaxMessages) {
    stats_->messages.push_back(message);
  }
}

// Mapping whole files keeps strings as views into the data, and the kernel
// page cache, not our heap, holds the bytes: memory does not grow with the
// trace length.
bool StreamCursor::OpenFile(uint32_t index) {
  CloseFile();
  file_ = index;
  if (index >= files_->paths.size()) return false;
  const std::string& path = files_->paths[index];
  // The file was a non-empty regular file when the trace was opened; if it
  // no longer is, its events are lost and that is reported. O_NONBLOCK: a
  // FIFO put in its place must not block the reader.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    ++stats_->unread_files;
    Note(path + ": cannot open: " + std::strerror(errno) +
         "; rest of the stream skipped");
    return false;
  }
  struct stat sb;
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
    ::close(fd);
    ++stats_->unread_files;
    Note(path +
         ": no longer a non-empty regular file; rest of the stream "
         "skipped");
    return false;
  }
  void* m = ::mmap(nullptr, size_t(sb.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) {
    Note("cannot map " + path);
    return false;
  }
  ::madvise(m, size_t(sb.st_size), MADV_SEQUENTIAL);
  map_ = static_cast<const uint8_t*>(m);
  map_size_ = size_t(sb.st_size);
  return true;
}

bool StreamCursor::Fail(const std::string& why) {
  ended_ = true;
  if (!truncated_) {
    ++stats_->decode_errors;
    Note(files_->paths[std::min<size_t>(file_, files_->paths.size() - 1)] +
         " at byte " + std::to_string(packet_off_ + r_.pos / 8) + ": " + why +
         "; rest of the stream skipped");
  }
  return false;
}

bool StreamCursor::OpenPacket(uint64_t off) {
  packet_off_ = off;
  truncated_ = false;
  uint64_t avail = map_size_ - std::min<uint64_t>(off, map_size_);
  const char* err = nullptr;
  if (avail == 0 ||
      !trace_->DecodePacketPrefix(map_ + off, avail, &prefix_values_,
                                  &prefix_scratch_, &fixups_, &packet_, &err)) {
    if (err && std::strstr(err, "truncated")) {
      ++stats_->truncated_packets;
      truncated_ = true;
      Note(files_->paths[file_] + ": file ends inside the packet at byte " +
           std::to_string(off));
      ended_ = true;
      return false;
    }
    r_.pos = 0;
    return Fail(err ? err : "empty packet");
  }
  uint64_t packet_bits = packet_.packet_bits ? packet_.packet_bits : avail * 8;
  uint64_t content_bits =
      packet_.content_bits ? packet_.content_bits : packet_bits;
  if (packet_bits % 8 != 0 || content_bits > packet_bits ||
      packet_.header_bits > content_bits) {
    r_.pos = 0;
    return Fail("inconsistent packet/content size");
  }
  packet_bytes_ = packet_bits / 8;
  if (packet_bytes_ > avail) {
    ++stats_->truncated_packets;
    truncated_ = true;
    Note(files_->paths[file_] + ": file ends inside the packet at byte " +
         std::to_string(off));
    content_bits = std::min(content_bits, avail * 8);
  }
  r_.base = map_ + off;
  r_.pos = packet_.header_bits;
  r_.end = content_bits;
  if (packet_.has_ts_begin) {
    if (has_prev_end_ && packet_.ts_begin < prev_end_) {
      ++stats_->overlapping_packets;
    }
    clock_ = packet_.ts_begin;
  }
  has_prev_end_ = packet_.has_ts_end;
  prev_end_ = packet_.ts_end;
  if (packet_.has_discarded) {
    // LTTng counts discarded events cumulatively per stream.
    if (packet_.discarded > last_discarded_) {
      const uint64_t lost = packet_.discarded - last_discarded_;
      stats_->discarded_events += lost;
      auto& per = stats_->discarded_by_stream;
      auto it = std::find_if(per.begin(), per.end(), [this](const auto& d) {
        return d.stream_index == event_.stream_index;
      });
      if (it == per.end()) {
        it = per.insert(per.end(),
                        StreamDiscards{event_.trace_index, event_.stream_index,
                                       packet_.cpu, 0});
      }
      it->count += lost;
    }
    last_discarded_ = packet_.discarded;
  }
  const StreamClass& sc = *packet_.sc;
  if (values_.size() < sc.max_slots) values_.resize(sc.max_slots);
  if (header_values_.size() < sc.header.slot_names.size()) {
    header_values_.resize(sc.header.slot_names.size());
  }
  event_.cpu = packet_.cpu;
  return true;
}

bool StreamCursor::NextPacket() {
  if (truncated_) {
    ended_ = true;
    return false;
  }
  uint64_t off = packet_off_ + packet_bytes_;
  ReleaseBefore(off);
  while (off >= map_size_) {
    if (!OpenFile(file_ + 1)) {
      ended_ = true;
      return false;
    }
    off = 0;
  }
  return OpenPacket(off);
}

bool StreamCursor::Seek(const StreamPos& pos) {
  ended_ = true;
  has_prev_end_ = false;
  last_ts_ = INT64_MIN;
  if (!pos.active || !OpenFile(pos.file)) return false;
  if (pos.packet_off >= map_size_) return false;
  ended_ = false;
  clock_ = pos.clock;
  if (!OpenPacket(pos.packet_off)) return false;
  if (pos.bit != 0) {
    r_.pos = pos.bit;
    clock_ = pos.clock;
  }
  return Advance();
}

bool StreamCursor::Advance() {
  while (!ended_) {
    if (r_.pos >= r_.end) {
      if (!NextPacket()) return false;
      continue;
    }
    const StreamClass& sc = *packet_.sc;
    ev_bit_ = r_.pos;
    ev_clock_ = clock_;
    RunState st;
    st.clock = clock_;
    st.scratch = &scratch_;
    st.fixups = &fixups_;
    scratch_.clear();
    fixups_.clear();
    if (sc.has_header) {
      st.values = header_values_.data();
      if (!RunProgram(sc.header, r_, &st)) return Fail(st.error);
    }
    const CompiledClass* cc = st.has_id ? sc.Find(st.id) : sc.only;
    if (!cc) {
      return Fail(st.has_id ? "unknown event id " + std::to_string(st.id)
                            : std::string("no event id in the header"));
    }
    st.values = values_.data();
    if (!RunProgram(cc->prog, r_, &st)) return Fail(st.error);
    for (int32_t slot : fixups_) {
      Value& v = values_[size_t(slot)];
      v.s = std::string_view(scratch_.data() + v.u, v.s.size());
    }
    clock_ = st.clock;
    if (!trace_->ToNs(clock_, &event_.timestamp)) {
      ++stats_->time_overflows;
      return Fail("time beyond the int64 nanosecond range (clock value " +
                  std::to_string(clock_) + ")");
    }
    if (event_.timestamp < last_ts_) ++stats_->unordered_events;
    last_ts_ = event_.timestamp;
    event_.cls = &cc->cls;
    event_.values = values_.data();
    event_.value_count = cc->prog.slot_names.size();
    return true;
  }
  return false;
}

// Pages of packets already decoded are dropped from this process's mapping:
// the page cache keeps them for a re-read, but the pass's RSS then stays at
// about one packet per stream instead of the whole trace.
void StreamCursor::ReleaseBefore(uint64_t off) {
  static const uint64_t kPage = uint64_t(::sysconf(_SC_PAGESIZE));
  uint64_t upto = std::min<uint64_t>(off, map_size_) / kPage * kPage;
  if (upto > released_ + kReleaseChunk) {
    ::madvise(const_cast<uint8_t*>(map_) + released_, upto - released_,
              MADV_DONTNEED);
    released_ = upto;
  }
}

StreamPos StreamCursor::HeadPos() const {
  return StreamPos{!ended_, file_, packet_off_, ev_bit_, ev_clock_};
}

StreamPos StreamCursor::NextPos() const {
  return StreamPos{!ended_, file_, packet_off_, r_.pos, clock_};
}

}  // namespace vmtrace::ctf
