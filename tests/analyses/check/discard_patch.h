// Test helper: makes a generated LTTng-layout trace (tools/gen/ctf_writer.h)
// declare lost events, as LTTng's packet contexts do when its consumer falls
// behind: events_discarded is set, cumulatively per stream, to `step` times
// the packet's rank in its stream file.
#ifndef VMTRACE_TESTS_ANALYSES_CHECK_DISCARD_PATCH_H_
#define VMTRACE_TESTS_ANALYSES_CHECK_DISCARD_PATCH_H_

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace vmtrace::testing {

// Offsets in the generator's LTTng packet (ctf_writer.h): a 32-byte header
// (magic, uuid, stream_id, stream_instance_id), then the context
// timestamp_begin, timestamp_end, content_size, packet_size, packet_seq_num,
// events_discarded (8 bytes each), cpu_id.
inline constexpr size_t kPacketSizeAt = 32 + 24;
inline constexpr size_t kDiscardedAt = 32 + 40;

// Patches every `channel0_<cpu>` file below `dir`; returns the events declared
// lost per CPU (cpus without a second packet lose none and are absent).
inline std::map<int64_t, uint64_t> DeclareDiscarded(
    const std::filesystem::path& dir, uint64_t step) {
  std::map<int64_t, uint64_t> lost;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("channel0_", 0) != 0) continue;
    const int64_t cpu = std::stoll(name.substr(9));
    std::vector<char> bytes;
    {
      std::ifstream in(e.path(), std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    uint64_t off = 0, rank = 0;
    while (off + kDiscardedAt + 8 <= bytes.size()) {
      uint32_t magic = 0;
      uint64_t packet_bits = 0;
      std::memcpy(&magic, &bytes[off], 4);
      std::memcpy(&packet_bits, &bytes[off + kPacketSizeAt], 8);
      if (magic != 0xC1FC1FC1u || packet_bits == 0) break;
      const uint64_t discarded = rank * step;
      std::memcpy(&bytes[off + kDiscardedAt], &discarded, 8);
      if (rank > 0) lost[cpu] = discarded;
      ++rank;
      off += packet_bits / 8;
    }
    std::ofstream out(e.path(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  return lost;
}

}  // namespace vmtrace::testing

#endif  // VMTRACE_TESTS_ANALYSES_CHECK_DISCARD_PATCH_H_
