#include "storage/leveldb_state_flat.h"

#include <fcntl.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "storage/leveldb_state_codec.h"

namespace vmtrace::storage {

using codec::GetBe32;
using codec::GetBe64;
using codec::GetVarint;
using codec::PutBe32;
using codec::PutBe64;

namespace {

std::string IndexKey(uint32_t q) {
  std::string k = "x";
  PutBe32(&k, q);
  return k;
}

std::string FilePath(const std::string& dir) {
  return (std::filesystem::path(dir) / FlatBlocks::kFileName).string();
}

// Buffered writer of the flat file; fails on the first short write.
class Out {
 public:
  explicit Out(std::FILE* f) : f_(f) {}
  void Add(const char* p, size_t n) {
    buf_.append(p, n);
    if (buf_.size() >= (1u << 20)) Drain();
  }
  void Drain() {
    if (ok_ && !buf_.empty() &&
        std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      ok_ = false;
    }
    buf_.clear();
  }
  bool ok() const { return ok_; }

 private:
  std::FILE* f_;
  std::string buf_;
  bool ok_ = true;
};

}  // namespace

void FlatBlocks::Remove(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove(FilePath(dir), ec);
}

Status FlatBlocks::Write(leveldb::DB* db, const std::string& dir,
                         leveldb::WriteBatch* batch) {
  std::string path = FilePath(dir);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create " + path);
  Out out(f);
  uint64_t offset = 0;
  std::string index, bodies, table;
  std::vector<std::pair<uint64_t, uint32_t>> heads;  // last end, body end
  uint32_t quark = 0;
  bool have_quark = false;
  // A group: u8 n, n x (be64 last_end, be32 end of the body relative to the
  // group's first byte), then the n bodies.
  auto finish_group = [&] {
    if (heads.empty()) return;
    uint32_t table_bytes = 1 + 12 * uint32_t(heads.size());
    table.assign(1, char(heads.size()));
    for (const auto& [last, body_end] : heads) {
      PutBe64(&table, last);
      PutBe32(&table, table_bytes + body_end);
    }
    PutBe64(&index, heads.back().first);
    PutBe64(&index, offset);
    out.Add(table.data(), table.size());
    out.Add(bodies.data(), bodies.size());
    offset += table.size() + bodies.size();
    heads.clear();
    bodies.clear();
  };
  auto finish_quark = [&] {
    if (!have_quark) return;
    finish_group();
    std::string v;
    PutBe64(&v, offset);
    v += index;
    batch->Put(IndexKey(quark), v);
    index.clear();
  };
  std::unique_ptr<leveldb::Iterator> it(
      db->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("i"); it->Valid() && it->key()[0] == 'i'; it->Next()) {
    leveldb::Slice k = it->key(), v = it->value();
    if (k.size() != 13) continue;
    uint32_t q = GetBe32(k.data() + 1);
    uint64_t last = GetBe64(k.data() + 5) ^ codec::kSignBit;
    if (!have_quark || q != quark) {
      finish_quark();
      quark = q;
      have_quark = true;
    }
    bodies.append(v.data(), v.size());
    heads.emplace_back(last, uint32_t(bodies.size()));
    if (heads.size() == kGroupBlocks) finish_group();
  }
  finish_quark();
  out.Drain();
  bool ok = out.ok() && it->status().ok() && std::fflush(f) == 0 &&
            ::fsync(::fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return IoError("cannot write " + path);
  return Status::Ok();
}

StatusOr<std::unique_ptr<FlatBlocks>> FlatBlocks::Open(leveldb::DB* db,
                                                       const std::string& dir) {
  std::string path = FilePath(dir);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("no " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return IoError("cannot stat " + path);
  }
  uint64_t size = uint64_t(st.st_size);
  const char* data = nullptr;
  if (size > 0) {
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      ::close(fd);
      return IoError("cannot map " + path);
    }
    data = static_cast<const char*>(m);
  }
  ::close(fd);
  return std::unique_ptr<FlatBlocks>(new FlatBlocks(db, data, size));
}

void FlatBlocks::ReleasePages() const {
  if (data_ != nullptr) {
    ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);
  }
}

FlatBlocks::~FlatBlocks() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

StatusOr<std::shared_ptr<const FlatBlocks::QuarkIndex>> FlatBlocks::Index(
    uint32_t q) const {
  {
    std::lock_guard lock(mu_);
    auto found = cache_.find(q);
    if (found != cache_.end()) return found->second;
  }
  auto idx = std::make_shared<QuarkIndex>();
  std::string v;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), IndexKey(q), &v);
  if (s.ok()) {
    if (v.size() < 8 || (v.size() - 8) % 16 != 0) {
      return DataLoss("corrupt sampling index of quark " + std::to_string(q));
    }
    idx->end = GetBe64(v.data());
    size_t groups = (v.size() - 8) / 16;
    idx->last.reserve(groups);
    idx->first.reserve(groups);
    for (size_t g = 0; g < groups; ++g) {
      const char* p = v.data() + 8 + 16 * g;
      idx->last.push_back(int64_t(GetBe64(p)));
      idx->first.push_back(GetBe64(p + 8));
      if (idx->first[g] > idx->end ||
          (g > 0 && (idx->first[g] < idx->first[g - 1] ||
                     idx->last[g] < idx->last[g - 1]))) {
        return DataLoss("corrupt sampling index of quark " + std::to_string(q));
      }
    }
    if (idx->end > size_) {
      return DataLoss("sampling file shorter than its index");
    }
  } else if (!s.IsNotFound()) {
    return IoError("sampling index: " + s.ToString());
  }
  size_t bytes = 64 + 16 * idx->last.size();
  std::lock_guard lock(mu_);
  if (cache_bytes_ + bytes > kMaxIndexBytes) {
    cache_.clear();  // readers keep the indexes they hold
    cache_bytes_ = 0;
  }
  cache_bytes_ += bytes;
  cache_[q] = idx;
  return std::shared_ptr<const QuarkIndex>(idx);
}

bool FlatReader::Reset(uint32_t q, Status* status) {
  have_block_ = have_iv_ = false;
  group_ = 0;
  n_ = next_ = 0;
  auto idx = f_.Index(q);
  if (!idx.ok()) {
    *status = idx.status();
    idx_.reset();
    return false;
  }
  idx_ = std::move(idx).value();
  return true;
}

bool FlatReader::EnterGroup(size_t g) {
  group_ = g;
  n_ = next_ = 0;
  uint64_t at = idx_->first[g];
  uint64_t stop = g + 1 < idx_->first.size() ? idx_->first[g + 1] : idx_->end;
  if (stop <= at) return false;
  const char* data = f_.data();
  uint32_t n = uint8_t(data[at]);
  if (n == 0 || n > FlatBlocks::kGroupBlocks || 1 + 12 * n > stop - at) {
    return false;
  }
  table_ = data + at + 1;
  group_at_ = at;
  group_bytes_ = stop - at;
  n_ = n;
  return true;
}

size_t FlatReader::GroupFor(int64_t t) const {
  const std::vector<int64_t>& last = idx_->last;
  if (n_ > 0 && next_ < n_ && group_ < last.size() && last[group_] >= t) {
    return group_;
  }
  // Times never decrease and the next sample's group is usually a few
  // ahead: gallop forward, then binary search the last stride, so the
  // walk touches the index mostly sequentially.
  size_t lo = n_ == 0 ? group_ : group_ + 1;
  size_t step = 1, hi = lo;
  while (hi < last.size() && last[hi] < t) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  hi = std::min(hi, last.size());
  return size_t(std::lower_bound(last.begin() + lo, last.begin() + hi, t) -
                last.begin());
}

void FlatReader::Prefetch(int64_t t, bool body) const {
  if (!idx_ || (have_block_ && block_last_ >= t)) return;
  size_t g = GroupFor(t);
  if (g >= idx_->first.size() || (n_ > 0 && g == group_)) return;
  // Its misses then overlap the decoding of the current sample's block.
  const char* p = f_.data() + idx_->first[g];
  if (!body) {
    // The group's header table (193 bytes at most).
    for (int line = 0; line < 4; ++line) __builtin_prefetch(p + 64 * line);
    return;
  }
  // The block's first bytes; the table was asked for one sample earlier.
  uint64_t bytes =
      (g + 1 < idx_->first.size() ? idx_->first[g + 1] : idx_->end) -
      idx_->first[g];
  uint32_t n = uint8_t(p[0]);
  if (n == 0 || n > FlatBlocks::kGroupBlocks || 1 + 12 * n > bytes) return;
  for (uint32_t k = 0; k < n; ++k) {
    const char* h = p + 1 + 12 * k;
    if (int64_t(GetBe64(h)) < t) continue;
    uint64_t from = k == 0 ? 1 + 12 * n : GetBe32(h - 4);
    uint64_t to = std::min<uint64_t>(GetBe32(h + 8), bytes);
    for (uint64_t at = from; at < to && at < from + 256; at += 64) {
      __builtin_prefetch(p + at);
    }
    return;
  }
}

bool FlatReader::SeekEnd(int64_t t) {
  if (have_iv_ && end >= t) return true;
  if (have_block_ && block_last_ >= t) {
    while (Step()) {
      if (end >= t) return true;
    }
    have_block_ = false;
    return false;  // only on a corrupt block: its header promised end >= t
  }
  have_block_ = have_iv_ = false;
  if (!idx_) return false;
  const std::vector<int64_t>& last = idx_->last;
  if (next_ >= n_ || group_ >= last.size() || last[group_] < t) {
    size_t g = GroupFor(t);
    if (g == last.size() || !EnterGroup(g)) return false;
  }
  // The group's header table: the first block whose last end reaches t.
  const char* data = f_.data() + group_at_;
  for (; next_ < n_; ++next_) {
    const char* h = table_ + 12 * next_;
    int64_t block_last = int64_t(GetBe64(h));
    if (block_last < t) continue;
    uint64_t from = next_ == 0 ? 1 + 12 * n_ : GetBe32(h - 4);
    uint64_t to = GetBe32(h + 8);
    ++next_;
    if (from > to || to > group_bytes_) break;
    block_last_ = block_last;
    have_block_ = Begin(data + from, to - from, block_last);
    while (have_block_ && Step()) {
      if (end >= t) return true;
    }
    break;
  }
  have_block_ = have_iv_ = false;
  return false;
}

}  // namespace vmtrace::storage
