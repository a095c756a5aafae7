// Hostile or damaged traces: deep TSDL nesting, stream files that are not
// regular files, clock offsets that overflow. Each must be refused or
// reported with a message, never crash, block or be dropped silently.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "analyses/ctf/tsdl_parser.h"
#include "gtest/gtest.h"

namespace vmtrace::ctf {
namespace {

namespace fs = std::filesystem;
const std::string kData = VMTRACE_TEST_DATA;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("vmtrace_hostile_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// A small LTTng-like trace: packet header, context, compact event header.
// `fields` is the payload struct body of event "ev" (id 0), `prelude` goes
// before the trace block (typealiases), `clock` into the clock block.
std::string Metadata(const std::string& fields, const std::string& prelude = "",
                     const std::string& clock = "offset_s = 1500000000;") {
  return "/* CTF 1.8 */\n"
         "typealias integer { size = 8; align = 8; signed = false; } := "
         "uint8_t;\n"
         "typealias integer { size = 32; align = 8; signed = false; } := "
         "uint32_t;\n"
         "typealias integer { size = 64; align = 8; signed = false; } := "
         "uint64_t;\n" +
         prelude +
         "trace { major = 1; minor = 8; byte_order = le;\n"
         "  packet.header := struct { uint32_t magic; uint32_t stream_id; };\n"
         "};\n"
         "clock { name = \"monotonic\"; freq = 1000000000; " +
         clock +
         " };\n"
         "typealias integer { size = 64; align = 8; signed = false; "
         "map = clock.monotonic.value; } := uint64_clock_t;\n"
         "stream { id = 0;\n"
         "  packet.context := struct { uint64_clock_t timestamp_begin;\n"
         "    uint64_clock_t timestamp_end; uint64_t content_size;\n"
         "    uint64_t packet_size; uint32_t cpu_id; };\n"
         "  event.header := struct { uint32_t id; uint64_clock_t timestamp; "
         "};\n"
         "};\n"
         "event { name = \"ev\"; id = 0; stream_id = 0;\n"
         "  fields := struct { " +
         fields + " };\n};\n";
}

void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(char(uint8_t(v >> (8 * i))));
}

// One packet of `n` events with payload bytes `payload`, timestamps 1000+i.
std::string Packet(int n, const std::string& payload) {
  std::string events;
  for (int i = 0; i < n; ++i) {
    Put(&events, 0, 4);
    Put(&events, 1000 + i, 8);
    events += payload;
  }
  std::string p;
  Put(&p, 0xC1FC1FC1, 4);
  Put(&p, 0, 4);
  const uint64_t bits = (44 + events.size()) * 8;
  Put(&p, 1000, 8);
  Put(&p, 1000 + n, 8);
  Put(&p, bits, 8);
  Put(&p, bits, 8);
  Put(&p, 0, 4);
  return p + events;
}

fs::path WriteTrace(const std::string& name, const std::string& metadata,
                    const std::string& stream) {
  fs::path dir = TempDir(name);
  std::ofstream(dir / "metadata", std::ios::binary) << metadata;
  if (!stream.empty()) {
    std::ofstream(dir / "stream_0", std::ios::binary) << stream;
  }
  return dir;
}

std::vector<std::string> Payloads(const fs::path& dir, ReaderStats* stats) {
  std::vector<std::string> out;
  auto t = Trace::Open(dir.string());
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return out;
  auto r = EventReader::Open({*t});
  EXPECT_TRUE(r.ok());
  Event ev;
  while ((*r)->Next(&ev)) out.push_back(ev.FormatPayload());
  if (stats) *stats = (*r)->stats();
  return out;
}

const char kTooDeep[] = "metadata nests deeper than 64 levels";

TEST(TsdlNesting, ThirtyThousandNestedStructsAreRefused) {
  // Crashed the server (stack overflow) in POST /traces and GET /traces.
  std::string text = Metadata(Repeat("struct { ", 30000) + "uint32_t x;" +
                              Repeat(" } a;", 30000));
  auto md = ParseTsdl(text);
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(md.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(md.status().message().find(kTooDeep), std::string::npos)
      << md.status().message();
}

TEST(TsdlNesting, OtherDeepFormsAreRefused) {
  // Array dimensions, enum containers and variants nest as well.
  for (const std::string& fields :
       {"uint8_t a" + Repeat("[1]", 30000) + ";",
        Repeat("enum : ", 30000) + "uint8_t { A } e;",
        "enum : uint8_t { A } t; " + Repeat("variant <t> { ", 30000) +
            "uint8_t A;" + Repeat(" } A;", 30000)}) {
    auto md = ParseTsdl(Metadata(fields));
    ASSERT_FALSE(md.ok());
    EXPECT_NE(md.status().message().find(kTooDeep), std::string::npos)
        << md.status().message();
  }
  // Aliases of aliases nest without braces: each level wraps the last.
  std::string prelude = "typealias struct { uint8_t x; } := s0;\n";
  for (int i = 1; i <= 100; ++i) {
    prelude += "typealias struct { s" + std::to_string(i - 1) + " x; } := s" +
               std::to_string(i) + ";\n";
  }
  auto md = ParseTsdl(Metadata("s100 v;", prelude));
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.status().message().find(kTooDeep), std::string::npos)
      << md.status().message();
}

TEST(TsdlNesting, DeepestLegalTypeIsDecodedAndFormatted) {
  // The event payload struct is level 1, the integer the last one: 62
  // nested structs in between reach exactly the limit, and every recursive
  // walk (compiling, decoding, formatting) handles it.
  const int inner = int(kMaxTypeDepth) - 2;
  std::string fields =
      Repeat("struct { ", inner) + "uint32_t x;" + Repeat(" } a;", inner);
  std::string payload;
  Put(&payload, 7, 4);
  fs::path dir = WriteTrace("deepest", Metadata(fields), Packet(3, payload));
  ReaderStats stats;
  std::vector<std::string> got = Payloads(dir, &stats);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "a = " + Repeat("{ a = ", inner - 1) + "{ x = 7" +
                        Repeat(" }", inner));
  EXPECT_EQ(stats.decode_errors, 0u);
  // One level more is refused when the trace is opened.
  fields = Repeat("struct { ", inner + 1) + "uint32_t x;" +
           Repeat(" } a;", inner + 1);
  std::ofstream(dir / "metadata", std::ios::binary) << Metadata(fields);
  auto t = Trace::Open(dir.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find(kTooDeep), std::string::npos);
  fs::remove_all(dir);
}

TEST(TsdlNesting, ExponentialHeaderIsRefusedNotExpanded) {
  // 40 levels of "two copies of the previous alias" describe 2^40 header
  // fields in a few kilobytes: flattening them would never end.
  std::string prelude = "typealias struct { uint8_t x; uint8_t y; } := d0;\n";
  for (int i = 1; i <= 40; ++i) {
    std::string p = "d" + std::to_string(i - 1);
    prelude += "typealias struct { " + p + " l; " + p + " r; } := d" +
               std::to_string(i) + ";\n";
  }
  std::string text = Metadata("uint32_t x;", prelude);
  // The bomb goes into the packet header, which is flattened.
  text.replace(text.find("uint32_t stream_id; }"), 21,
               "uint32_t stream_id; d40 bomb; }");
  fs::path dir = WriteTrace("bomb", text, "");
  auto t = Trace::Open(dir.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("type too large"), std::string::npos)
      << t.status().message();
  fs::remove_all(dir);
}

TEST(TsdlNesting, ArraysOfEmptyStructsStopAtTheTextLimit) {
  // Elements that take no bits are not bounded by the packet size; the
  // formatted value is (16 MiB), so decoding ends with a decode error.
  std::string fields = "uint8_t n; struct { } e[n][n][n][n];";
  std::string payload(1, char(255));
  fs::path dir = WriteTrace("empty", Metadata(fields), Packet(30, payload));
  ReaderStats stats;
  std::vector<std::string> got = Payloads(dir, &stats);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(stats.decode_errors, 1u);
  ASSERT_FALSE(stats.messages.empty());
  EXPECT_NE(stats.messages[0].find("formatted value larger than 16 MiB"),
            std::string::npos)
      << stats.messages[0];
  fs::remove_all(dir);
}

TEST(TsdlNumbers, OutOfRangeClockValuesAreErrors) {
  for (const std::string& clock :
       {std::string("offset_s = 99999999999999999999;"),
        std::string("offset_s = 9223372036854775808;"),
        std::string("offset = -9223372036854775809;")}) {
    auto md = ParseTsdl(Metadata("uint32_t x;", "", clock));
    ASSERT_FALSE(md.ok()) << clock;
    EXPECT_NE(md.status().message().find("not a signed 64-bit integer"),
              std::string::npos)
        << md.status().message();
  }
  auto md = ParseTsdl(Metadata("uint32_t x;", "", "offset_s = -5;"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->clocks[0].offset_s, -5);
}

TEST(ClockOffset, OverflowingOffsetRefusesTheTrace) {
  std::string payload;
  Put(&payload, 7, 4);
  // offset_s alone overflows once in ns; so does offset_s * 1e9 + offset.
  for (const std::string& clock :
       {std::string("offset_s = 9223372036854775807;"),
        std::string("offset_s = 9223372036; offset = 854775808;"),
        std::string("offset_s = -9223372037;")}) {
    fs::path dir = WriteTrace("clock", Metadata("uint32_t x;", "", clock),
                              Packet(1, payload));
    auto t = Trace::Open(dir.string());
    ASSERT_FALSE(t.ok()) << clock;
    EXPECT_EQ(t.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(
        t.status().message().find("overflows the int64 nanosecond time range"),
        std::string::npos)
        << t.status().message();
    fs::remove_all(dir);
  }
  // The largest offset that fits is read as it is.
  fs::path dir =
      WriteTrace("clock", Metadata("uint32_t x;", "", "offset_s = 9223372035;"),
                 Packet(1, payload));
  auto t = Trace::Open(dir.string());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->info().clock_offset_ns, 9223372035000000000);
  fs::remove_all(dir);
}

TEST(ClockOffset, EventTimeBeyondInt64StopsTheStreamWithAMessage) {
  // A fitting offset plus a huge timestamp: the event cannot be placed.
  std::string payload;
  Put(&payload, 7, 4);
  std::string packet = Packet(2, payload);
  // Second event's timestamp (after header 44 + event 16 bytes + id 4).
  const uint64_t huge = 0x7FFFFFFFFFFFFFF0ULL;
  for (int i = 0; i < 8; ++i) packet[44 + 16 + 4 + i] = char(huge >> (8 * i));
  fs::path dir = WriteTrace(
      "evtime", Metadata("uint32_t x;", "", "offset_s = 1500000000;"), packet);
  ReaderStats stats;
  std::vector<std::string> got = Payloads(dir, &stats);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(stats.time_overflows, 1u);
  EXPECT_EQ(stats.decode_errors, 1u);
  ASSERT_FALSE(stats.messages.empty());
  EXPECT_NE(stats.messages[0].find("int64 nanosecond range"),
            std::string::npos);
  fs::remove_all(dir);
}

// A copy of simple-kernel where some stream files are replaced.
fs::path KernelCopy(const std::string& name) {
  fs::path dir = TempDir(name);
  const fs::path src = kData + "/tracevizlab-simple-kernel-8cpu";
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.is_regular_file()) fs::copy_file(e.path(), dir / e.path().filename());
  }
  return dir;
}

TEST(UnreadStreams, FifoDeviceAndDanglingLinkAreReportedNotRead) {
  fs::path dir = KernelCopy("unread");
  auto full = Trace::Open(dir.string());
  ASSERT_TRUE(full.ok());
  const size_t streams = (*full)->info().stream_count;
  ASSERT_EQ(streams, 8u);
  ReaderStats all_stats;
  const size_t all = Payloads(dir, &all_stats).size();

  fs::remove(dir / "k_1");
  ASSERT_EQ(::mkfifo((dir / "k_1").c_str(), 0644), 0) << std::strerror(errno);
  fs::remove(dir / "k_2");
  fs::create_symlink("/dev/zero", dir / "k_2");
  fs::remove(dir / "k_3");
  fs::create_symlink(dir / "no-such-file", dir / "k_3");
  fs::create_directory(dir / "index");  // LTTng's: not a stream, no report

  auto t = Trace::Open(dir.string());  // must not block on the FIFO
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->info().stream_count, 5u);
  const auto& unread = (*t)->info().unread_streams;
  ASSERT_EQ(unread.size(), 3u);
  EXPECT_EQ(unread[0],
            (dir / "k_1").string() + ": it is a FIFO, not a regular file");
  EXPECT_EQ(unread[1], (dir / "k_2").string() +
                           ": it is a character device, not a regular file");
  EXPECT_EQ(unread[2],
            (dir / "k_3").string() + ": it is a dangling symbolic link");

  ReaderStats stats;
  const size_t got = Payloads(dir, &stats).size();
  EXPECT_LT(got, all);
  EXPECT_GT(got, 0u);
  EXPECT_EQ(stats.unread_files, 3u);
  ASSERT_GE(stats.messages.size(), 3u);
  EXPECT_NE(stats.messages[0].find("k_1: it is a FIFO"), std::string::npos);
  EXPECT_NE(stats.messages[0].find("its events are missing"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(UnreadStreams, FileReplacedByAFifoAfterOpenIsReportedNotBlocking) {
  fs::path dir = KernelCopy("replaced");
  auto t = Trace::Open(dir.string());
  ASSERT_TRUE(t.ok());
  fs::remove(dir / "k_4");
  ASSERT_EQ(::mkfifo((dir / "k_4").c_str(), 0644), 0);
  auto r = EventReader::Open({*t});
  ASSERT_TRUE(r.ok());
  Event ev;
  uint64_t n = 0;
  while ((*r)->Next(&ev)) ++n;
  EXPECT_GT(n, 0u);
  EXPECT_EQ((*r)->stats().unread_files, 1u);
  ASSERT_FALSE((*r)->stats().messages.empty());
  EXPECT_NE((*r)->stats().messages[0].find("k_4: no longer a non-empty "
                                           "regular file"),
            std::string::npos)
      << (*r)->stats().messages[0];
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::ctf
