// The merged, seekable event stream over every stream of every trace.
#include <algorithm>
#include <memory>

#include "analyses/ctf/stream_cursor.h"
#include "analyses/ctf/trace_impl.h"

namespace vmtrace::ctf {

namespace {

constexpr char kBlobMagic[4] = {'V', 'M', 'C', 'P'};
constexpr uint8_t kBlobVersion = 1;
// Messages about unread stream files, out of the 20 a reader keeps (see
// StreamCursor::Note), so that decoding anomalies still have room.
constexpr size_t kMaxUnreadMessages = 10;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out->push_back(char(uint8_t(v)));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    uint8_t b = uint8_t((*in)[0]);
    in->remove_prefix(1);
    *v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (char c : s) {
    h ^= uint8_t(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class MergedReader : public EventReader {
 public:
  explicit MergedReader(std::vector<std::shared_ptr<const TraceImpl>> traces)
      : traces_(std::move(traces)) {
    // Stream files the traces could not read come first in the messages:
    // they are what a user must know about a partial experiment.
    for (const auto& t : traces_) {
      for (const std::string& why : t->info().unread_streams) {
        ++stats_.unread_files;
        if (stats_.messages.size() < kMaxUnreadMessages) {
          stats_.messages.push_back(why + "; its events are missing");
        }
      }
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t t = 0; t < traces_.size(); ++t) {
      h = Fnv1a(h, traces_[t]->info().path);
      for (const StreamFiles& s : traces_[t]->streams()) {
        h = Fnv1a(h, s.key);
        h = Fnv1a(h, std::to_string(s.paths.size()));
        cursors_.push_back(
            std::make_unique<StreamCursor>(traces_[t].get(), &s, uint32_t(t),
                                           uint32_t(cursors_.size()), &stats_));
      }
    }
    fingerprint_ = h;
    heap_.reserve(cursors_.size());
    for (size_t i = 0; i < cursors_.size(); ++i) {
      if (cursors_[i]->Seek(StreamPos{true, 0, 0, 0, 0})) Push(uint32_t(i));
    }
  }

  bool Next(Event* event) override {
    if (pending_ >= 0) {
      if (cursors_[size_t(pending_)]->Advance()) Push(uint32_t(pending_));
      pending_ = -1;
    }
    if (heap_.empty()) return false;
    std::pop_heap(heap_.begin(), heap_.end(), Later{this});
    uint32_t s = heap_.back();
    heap_.pop_back();
    *event = cursors_[s]->event();
    pending_ = int64_t(s);
    return true;
  }

  std::string SavePosition() const override {
    std::string out(kBlobMagic, 4);
    out.push_back(char(kBlobVersion));
    PutVarint(&out, fingerprint_);
    PutVarint(&out, cursors_.size());
    std::vector<bool> live(cursors_.size(), false);
    for (uint32_t s : heap_) live[s] = true;
    for (size_t i = 0; i < cursors_.size(); ++i) {
      StreamPos p;
      // The stream whose event was just returned resumes after it; streams
      // waiting in the heap resume at their (already decoded) head event.
      if (int64_t(i) == pending_) {
        p = cursors_[i]->NextPos();
      } else if (live[i]) {
        p = cursors_[i]->HeadPos();
      }
      if (!p.active) {
        out.push_back(0);
        continue;
      }
      out.push_back(1);
      PutVarint(&out, p.file);
      PutVarint(&out, p.packet_off);
      PutVarint(&out, p.bit);
      PutVarint(&out, p.clock);
    }
    return out;
  }

  Status RestorePosition(std::string_view blob) override {
    if (blob.size() < 5 ||
        blob.substr(0, 4) != std::string_view(kBlobMagic, 4) ||
        uint8_t(blob[4]) != kBlobVersion) {
      return InvalidArgument("not a saved reader position");
    }
    blob.remove_prefix(5);
    uint64_t fp, n;
    if (!GetVarint(&blob, &fp) || !GetVarint(&blob, &n) || fp != fingerprint_ ||
        n != cursors_.size()) {
      return InvalidArgument("saved position belongs to another trace set");
    }
    std::vector<StreamPos> pos(cursors_.size());
    for (StreamPos& p : pos) {
      if (blob.empty()) return InvalidArgument("saved position is truncated");
      uint8_t flag = uint8_t(blob[0]);
      blob.remove_prefix(1);
      if (flag == 0) continue;
      uint64_t file;
      if (flag != 1 || !GetVarint(&blob, &file) ||
          !GetVarint(&blob, &p.packet_off) || !GetVarint(&blob, &p.bit) ||
          !GetVarint(&blob, &p.clock) || file > UINT32_MAX) {
        return InvalidArgument("saved position is corrupt");
      }
      p.active = true;
      p.file = uint32_t(file);
    }
    if (!blob.empty()) return InvalidArgument("saved position has extra bytes");
    heap_.clear();
    pending_ = -1;
    for (size_t i = 0; i < cursors_.size(); ++i) {
      if (cursors_[i]->Seek(pos[i])) Push(uint32_t(i));
    }
    return Status::Ok();
  }

  const ReaderStats& stats() const override { return stats_; }

 private:
  // Heap order: std heaps are max-heaps, so "less" means "comes later".
  struct Later {
    const MergedReader* r;
    bool operator()(uint32_t a, uint32_t b) const {
      const Event& x = r->cursors_[a]->event();
      const Event& y = r->cursors_[b]->event();
      if (x.timestamp != y.timestamp) return x.timestamp > y.timestamp;
      if (x.trace_index != y.trace_index) return x.trace_index > y.trace_index;
      return a > b;
    }
  };

  void Push(uint32_t s) {
    heap_.push_back(s);
    std::push_heap(heap_.begin(), heap_.end(), Later{this});
  }

  std::vector<std::shared_ptr<const TraceImpl>> traces_;
  std::vector<std::unique_ptr<StreamCursor>> cursors_;
  std::vector<uint32_t> heap_;
  int64_t pending_ = -1;
  uint64_t fingerprint_ = 0;
  ReaderStats stats_;
};

}  // namespace

StatusOr<std::unique_ptr<EventReader>> EventReader::Open(
    std::vector<std::shared_ptr<const Trace>> traces) {
  std::vector<std::shared_ptr<const TraceImpl>> impls;
  for (auto& t : traces) {
    auto impl = std::dynamic_pointer_cast<const TraceImpl>(t);
    if (!impl) return InvalidArgument("trace was not opened by Trace::Open");
    impls.push_back(std::move(impl));
  }
  return std::unique_ptr<EventReader>(new MergedReader(std::move(impls)));
}

}  // namespace vmtrace::ctf
