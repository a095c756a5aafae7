// Fuzzes the CTF packet decoder: the input is the content of one stream
// file of a trace whose metadata is fixed (an LTTng 2.x kernel trace), read
// to the end through the merged reader, every payload formatted, and one
// saved position restored.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "analyses/ctf/reader.h"

namespace {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir;
  std::shared_ptr<const vmtrace::ctf::Trace> trace;
};

// The trace is opened once, with a placeholder stream file; each input then
// replaces that file's content (the reader maps it when it opens it).
Fixture* Setup() {
  auto* f = new Fixture;
  f->dir = fs::temp_directory_path() /
           ("vmtrace-ctf-fuzz-" + std::to_string(::getpid()));
  fs::remove_all(f->dir);
  fs::create_directories(f->dir);
  fs::copy_file(VMTRACE_FUZZ_METADATA, f->dir / "metadata");
  std::ofstream(f->dir / "stream_0", std::ios::binary) << "placeholder";
  auto t = vmtrace::ctf::Trace::Open(f->dir.string());
  if (!t.ok()) std::abort();
  f->trace = *t;
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() /
                       ("vmtrace-ctf-fuzz-" + std::to_string(::getpid())),
                   ec);
  });
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmtrace::ctf;
  static Fixture* f = Setup();
  {
    std::ofstream out(f->dir / "stream_0", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  auto reader = EventReader::Open({f->trace});
  if (!reader.ok()) return 0;
  Event ev;
  std::string saved;
  uint64_t n = 0;
  while ((*reader)->Next(&ev)) {
    (void)ev.FormatPayload();
    for (size_t i = 0; i < ev.value_count; ++i) (void)ev.values[i].AsInt();
    if (++n == 2) saved = (*reader)->SavePosition();
  }
  if (!saved.empty() && (*reader)->RestorePosition(saved).ok()) {
    (*reader)->Next(&ev);
  }
  return 0;
}
