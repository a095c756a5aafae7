#include "storage/leveldb_options.h"

#include <fcntl.h>
#include <leveldb/cache.h>
#include <leveldb/env.h>
#include <leveldb/status.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vmtrace::storage {
namespace {

// A table file read with pread(): nothing is mapped, the bytes land in
// LevelDB's scratch buffer (then, for a data block, in the block cache).
class PreadFile : public leveldb::RandomAccessFile {
 public:
  PreadFile(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~PreadFile() override { ::close(fd_); }

  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch + done, n - done, off_t(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        *result = leveldb::Slice(scratch, 0);
        return leveldb::Status::IOError(name_, std::strerror(errno));
      }
      if (r == 0) break;  // end of file: a short read, as PosixEnv's
      done += size_t(r);
    }
    *result = leveldb::Slice(scratch, done);
    return leveldb::Status::OK();
  }

 private:
  std::string name_;
  int fd_;
};

class PreadEnv : public leveldb::EnvWrapper {
 public:
  PreadEnv() : EnvWrapper(leveldb::Env::Default()) {}
  leveldb::Status NewRandomAccessFile(
      const std::string& name, leveldb::RandomAccessFile** result) override {
    int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *result = nullptr;
      return errno == ENOENT
                 ? leveldb::Status::NotFound(name, std::strerror(errno))
                 : leveldb::Status::IOError(name, std::strerror(errno));
    }
    *result = new PreadFile(name, fd);
    return leveldb::Status::OK();
  }
};

}  // namespace

leveldb::Options StoreOptions(bool compress) {
  // Both live as long as the process: stores may close at exit in any order.
  static PreadEnv* env = new PreadEnv();
  static leveldb::Cache* cache = leveldb::NewLRUCache(kBlockCacheBytes);
  leveldb::Options options;
  options.create_if_missing = true;
  options.env = env;
  options.block_cache = cache;
  options.compression =
      compress ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  return options;
}

}  // namespace vmtrace::storage
