// Internal to storage/: the one place where the LevelDB options of every
// store (registry, checkpoint index, state histories, statistics tiers) are
// made.
//
// Why (issue 11, peak RSS): Debian's LevelDB maps up to 1000 table files
// with mmap for reads, and every page a query touched then counts in the
// server's resident set (VmHWM) for as long as the table stays open: 1 GB
// of mapped tables after a sweep of the views of a 100M-event trace. The
// stores here read tables with pread() instead (PreadEnv), so what stays in
// memory is the block cache, one LRU cache of kBlockCacheBytes shared by
// every store of the process (LevelDB keys its entries per table file, so
// sharing is safe), whatever the number of experiments open.
#ifndef VMTRACE_STORAGE_LEVELDB_OPTIONS_H_
#define VMTRACE_STORAGE_LEVELDB_OPTIONS_H_

#include <leveldb/options.h>

#include <cstddef>

namespace vmtrace::storage {

// Bytes of uncompressed table blocks cached for all stores together.
inline constexpr size_t kBlockCacheBytes = size_t(16) << 20;

// Options with create_if_missing, the pread environment and the shared
// block cache; `compress` false for stores whose values are varint-packed
// already (snappy gains little on them and costs a decompression per
// block read).
leveldb::Options StoreOptions(bool compress);

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_LEVELDB_OPTIONS_H_
