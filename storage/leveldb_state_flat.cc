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
using codec::PutVarint;

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
  std::string index, head;
  uint32_t quark = 0, blocks = 0;
  bool have_quark = false;
  auto finish_quark = [&] {
    if (!have_quark) return;
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
      blocks = 0;
      have_quark = true;
    }
    if (blocks % kGroupBlocks == 0) {
      PutBe64(&index, last);  // rewritten below until the group is full
      PutBe64(&index, offset);
    } else {
      std::string be;
      PutBe64(&be, last);
      index.replace(index.size() - 16, 8, be);
    }
    ++blocks;
    head.clear();
    PutBe64(&head, last);
    PutVarint(&head, v.size());
    out.Add(head.data(), head.size());
    out.Add(v.data(), v.size());
    offset += head.size() + v.size();
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
    // Samples jump through the file: no read-ahead around each block.
    ::madvise(m, size, MADV_RANDOM);
    data = static_cast<const char*>(m);
  }
  ::close(fd);
  return std::unique_ptr<FlatBlocks>(new FlatBlocks(db, data, size));
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
  pos_ = stop_ = 0;
  auto idx = f_.Index(q);
  if (!idx.ok()) {
    *status = idx.status();
    idx_.reset();
    return false;
  }
  idx_ = std::move(idx).value();
  return true;
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
  // Stay in the current group while it reaches t; else binary search for
  // the first group that does (times never decrease, so only forward).
  if (!(pos_ < stop_ && group_ < last.size() && last[group_] >= t)) {
    size_t g = size_t(std::lower_bound(last.begin() + group_, last.end(), t) -
                      last.begin());
    if (g == last.size()) return false;
    group_ = g;
    pos_ = idx_->first[g];
    stop_ = g + 1 < last.size() ? idx_->first[g + 1] : idx_->end;
  }
  const char* data = f_.data();
  while (stop_ - pos_ >= 9) {
    const char* p = data + pos_ + 8;
    const char* e = data + stop_;
    uint64_t size = 0;
    if (!GetVarint(&p, e, &size) || size > uint64_t(e - p)) break;
    int64_t block_last = int64_t(GetBe64(data + pos_));
    pos_ = uint64_t(p - data) + size;
    if (block_last < t) continue;  // not decoded: only its header is read
    block_last_ = block_last;
    have_block_ = Begin(p, size, block_last);
    while (have_block_ && Step()) {
      if (end >= t) return true;
    }
    break;
  }
  have_block_ = have_iv_ = false;
  return false;
}

}  // namespace vmtrace::storage
