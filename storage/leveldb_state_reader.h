// Internal to storage/: the forward block decoder of LevelDbStateHistory,
// shared by its queries (leveldb_state_history.cc) and its cumulative
// totals (leveldb_state_totals.cc). The key layout is documented in
// leveldb_state_history.h.
#ifndef VMTRACE_STORAGE_LEVELDB_STATE_READER_H_
#define VMTRACE_STORAGE_LEVELDB_STATE_READER_H_

#include <leveldb/iterator.h>

#include <cstdint>
#include <limits>

#include "storage/leveldb_state_codec.h"
#include "storage/leveldb_state_history.h"

namespace vmtrace::storage {

// Decodes one block's intervals forward (the block layout is in
// leveldb_state_history.h); start/end/code/big describe the current one.
struct BlockDecoder {
  int64_t start = 0;
  int64_t end = 0;
  uint64_t code = 0;
  uint64_t big = 0;

  // Starts on a block whose last interval ends at last_end; false when it
  // is too short to hold its span.
  bool Begin(const char* data, size_t size, int64_t last_end) {
    p_ = data;
    e_ = data + size;
    uint64_t span = 0;
    if (!codec::GetVarint(&p_, e_, &span)) return false;
    // Unsigned arithmetic: wrapping is well defined at the extremes.
    prev_end_ = uint64_t(last_end) - span - 1;
    return true;
  }

  // Moves to the block's next interval; false past its last one.
  bool NextInBlock() {
    uint64_t d = 0, gap = 0;
    if (p_ >= e_ || !codec::GetVarint(&p_, e_, &d) ||
        ((d & 1) && !codec::GetVarint(&p_, e_, &gap)) ||
        !codec::GetVarint(&p_, e_, &code) ||
        (code == 3 && !codec::GetVarint(&p_, e_, &big))) {
      return false;
    }
    uint64_t s = prev_end_ + 1 + gap;
    start = int64_t(s);
    end = int64_t(s + (d >> 1));
    prev_end_ = uint64_t(end);
    return true;
  }

  // True when the current interval holds an integer, then *v is it.
  bool IntValue(int64_t* v) const {
    if ((code & 3) == 1) {
      *v = codec::UnZigZag(code >> 2);
      return true;
    }
    if (code == 3) {
      *v = codec::UnZigZag(big);
      return true;
    }
    return false;
  }

 private:
  const char* p_ = nullptr;
  const char* e_ = nullptr;
  uint64_t prev_end_ = 0;
};

// Decodes the blocks of one quark forward; positions on the first interval
// ending at or after a non-decreasing sequence of times.
class LevelDbStateHistory::Reader : public BlockDecoder {
 public:
  explicit Reader(leveldb::Iterator* it) : it_(it) {}

  void Reset(Quark q) {
    q_ = q;
    have_block_ = false;
    have_iv_ = false;
  }

  // True when an interval of the quark ends at or after t (then start/end/
  // code/big describe the first such one). Times must not decrease between
  // calls after Reset().
  bool SeekEnd(int64_t t) {
    if (have_iv_ && end >= t) return true;
    if (have_block_) {
      while (Step()) {
        if (end >= t) return true;
      }
      // The block we need is usually a few keys ahead: a Next() only looks
      // at the key (its last end), which is much cheaper than a Seek(), which
      // merges every LevelDB level again. Skipped blocks are not decoded, so
      // a sparse sampling of a long history costs keys, not intervals.
      for (int hop = 0; hop < kMaxHops; ++hop) {
        it_->Next();
        if (!it_->Valid() || !codec::IsIntervalKey(it_->key(), q_)) {
          have_block_ = have_iv_ = false;
          return false;
        }
        if (KeyEnd() >= t) return LoadAndFind(t);
      }
    }
    it_->Seek(codec::IntervalKey(q_, t));
    if (!it_->Valid() || !codec::IsIntervalKey(it_->key(), q_)) {
      have_block_ = have_iv_ = false;
      return false;
    }
    return LoadAndFind(t);
  }

  // True when the quark has an interval; then start/end/code/big describe
  // its last one. Blocks are keyed by their last end, so the quark's last
  // key is its last block.
  bool SeekLast() {
    it_->Seek(codec::IntervalKey(q_, std::numeric_limits<int64_t>::max()));
    if (!it_->Valid()) {
      it_->SeekToLast();
    } else if (!codec::IsIntervalKey(it_->key(), q_)) {
      it_->Prev();
    }
    if (!it_->Valid() || !codec::IsIntervalKey(it_->key(), q_)) {
      have_block_ = have_iv_ = false;
      return false;
    }
    return LoadAndFind(KeyEnd());
  }

  // True when a block is loaded and its last interval ends at or after t:
  // reaching t decodes at most the rest of that block.
  bool BlockReaches(int64_t t) const { return have_block_ && KeyEnd() >= t; }

 private:
  // Past this many skipped blocks a Seek() is cheaper than more Next()s.
  static constexpr int kMaxHops = 32;

  int64_t KeyEnd() const {
    return int64_t(codec::GetBe64(it_->key().data() + 5) ^ codec::kSignBit);
  }

  bool LoadAndFind(int64_t t) {
    leveldb::Slice v = it_->value();
    have_iv_ = false;
    have_block_ = Begin(v.data(), v.size(), KeyEnd());
    while (have_block_ && Step()) {
      if (end >= t) return true;
    }
    have_block_ = false;
    return false;  // only on a corrupt block: its key promised end >= t
  }

  bool Step() {
    have_iv_ = NextInBlock();
    return have_iv_;
  }

  leveldb::Iterator* it_;
  Quark q_ = 0;
  bool have_block_ = false;
  bool have_iv_ = false;
};

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_LEVELDB_STATE_READER_H_
