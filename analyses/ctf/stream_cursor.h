// Sequential decoding of one data stream (one or more files, packet after
// packet), with enough state exposed to save and restore its position.
#ifndef VMTRACE_ANALYSES_CTF_STREAM_CURSOR_H_
#define VMTRACE_ANALYSES_CTF_STREAM_CURSOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "analyses/ctf/trace_impl.h"

namespace vmtrace::ctf {

// A resumable point in a stream. bit == 0 means "the first event of the
// packet" (the packet context then sets the clock).
struct StreamPos {
  bool active = false;
  uint32_t file = 0;
  uint64_t packet_off = 0;  // bytes, in that file
  uint64_t bit = 0;         // bits from the packet start
  uint64_t clock = 0;       // clock value (cycles) before that event
};

class StreamCursor {
 public:
  StreamCursor(const TraceImpl* trace, const StreamFiles* files,
               uint32_t trace_index, uint32_t stream_index, ReaderStats* stats);
  ~StreamCursor();
  StreamCursor(const StreamCursor&) = delete;
  StreamCursor& operator=(const StreamCursor&) = delete;

  // Positions at `pos` and decodes the event there (or the next one after
  // it). False if the stream has no event from there on.
  bool Seek(const StreamPos& pos);
  // Decodes the next event. False at the end of the stream (or at the first
  // undecodable event, which is recorded in the stats).
  bool Advance();

  // Valid after a true Seek/Advance, until the next call.
  const Event& event() const { return event_; }
  // Where event() starts, and where the event after it starts.
  StreamPos HeadPos() const;
  StreamPos NextPos() const;

 private:
  bool OpenFile(uint32_t index);
  void CloseFile();
  bool OpenPacket(uint64_t off);
  bool NextPacket();
  void ReleaseBefore(uint64_t off);
  bool Fail(const std::string& why);
  void Note(const std::string& message);

  const TraceImpl* trace_;
  const StreamFiles* files_;
  ReaderStats* stats_;
  Event event_;

  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  uint64_t released_ = 0;  // bytes of the map already given back
  // Release in chunks: one madvise per few MB keeps the syscall rate low.
  static constexpr uint64_t kReleaseChunk = 4 << 20;
  uint32_t file_ = 0;
  bool ended_ = true;

  PacketInfo packet_;
  uint64_t packet_off_ = 0, packet_bytes_ = 0;
  bool truncated_ = false;  // the current packet is cut by the file end
  BitReader r_;
  uint64_t clock_ = 0;
  uint64_t ev_bit_ = 0, ev_clock_ = 0;  // start of event_

  bool has_prev_end_ = false;
  uint64_t prev_end_ = 0, last_discarded_ = 0;
  int64_t last_ts_ = INT64_MIN;

  std::vector<Value> values_, header_values_, prefix_values_;
  std::string scratch_, prefix_scratch_;
  std::vector<int32_t> fixups_;
};

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_STREAM_CURSOR_H_
