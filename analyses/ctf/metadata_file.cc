// Reading the metadata stream file: plain TSDL text or the packetized form
// LTTng writes (a 37-byte header per packet, then text up to content_size).
#include <cstdio>
#include <cstring>
#include <memory>

#include "analyses/ctf/tsdl_parser.h"

namespace vmtrace::ctf {

namespace {

constexpr uint32_t kMetadataMagic = 0x75D11D57;
constexpr size_t kHeaderBytes = 37;
// Real metadata is at most a few MiB; this bound keeps a bogus file from
// exhausting memory.
constexpr long kMaxMetadataBytes = 256L << 20;

uint32_t Load32(const char* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

bool IsCtfMetadataFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"),
                                          &std::fclose);
  if (!f) return false;
  char buf[8] = {};
  size_t n = std::fread(buf, 1, sizeof buf, f.get());
  if (n >= 4) {
    uint32_t m = Load32(buf, false);
    if (m == kMetadataMagic || m == __builtin_bswap32(kMetadataMagic)) {
      return true;
    }
  }
  return n >= 6 && std::string_view(buf, 6) == "/* CTF";
}

StatusOr<std::string> ReadMetadataText(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"),
                                          &std::fclose);
  if (!f) return NotFound("cannot open " + path);
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return IoError("seek " + path);
  long size = std::ftell(f.get());
  if (size < 0) return IoError("cannot size " + path);
  if (size > kMaxMetadataBytes) return DataLoss("metadata too large: " + path);
  std::fseek(f.get(), 0, SEEK_SET);
  std::string data(size_t(size), '\0');
  if (size > 0 &&
      std::fread(data.data(), 1, data.size(), f.get()) != data.size()) {
    return IoError("cannot read " + path);
  }
  if (data.size() >= 4) {
    uint32_t m = Load32(data.data(), false);
    bool swap = m == __builtin_bswap32(kMetadataMagic);
    if (m == kMetadataMagic || swap) {
      std::string text;
      size_t off = 0;
      while (off + kHeaderBytes <= data.size()) {
        const char* h = data.data() + off;
        if (Load32(h, swap) != kMetadataMagic) {
          return DataLoss(path + ": bad metadata packet magic at byte " +
                          std::to_string(off));
        }
        uint64_t content = Load32(h + 24, swap) / 8;
        uint64_t packet = Load32(h + 28, swap) / 8;
        if (packet < kHeaderBytes || content < kHeaderBytes ||
            content > packet) {
          return DataLoss(path + ": bad metadata packet sizes at byte " +
                          std::to_string(off));
        }
        // A final packet cut short still contributes what is there.
        uint64_t avail = data.size() - off;
        text.append(h + kHeaderBytes,
                    size_t(std::min(content, avail) - kHeaderBytes));
        off += size_t(std::min(packet, avail));
      }
      return text;
    }
  }
  if (data.rfind("/* CTF", 0) == 0) return data;
  return Unimplemented(path + " is not CTF metadata");
}

}  // namespace vmtrace::ctf
