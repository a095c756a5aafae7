// Hostile trace input over HTTP: TSDL metadata nested 30,000 deep, stream
// files that are FIFOs or links to /dev/zero, clock offsets that overflow,
// and symbolic links planted in the data dir. The server answers with the
// reason, never crashes, blocks or loses events silently, and never touches
// what a link in its data dir points to.
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

constexpr char kKernel[] = "tracevizlab-simple-kernel-8cpu";
constexpr uint64_t kKernelEvents = 11980;

class HttpHostileInputTest : public HttpTest {
 protected:
  // A copy of the simple kernel trace under the data dir's parent folder.
  fs::path KernelCopy(const std::string& name) {
    const fs::path copy = data_dir_ / "traces" / name;
    fs::create_directories(copy);
    for (const auto& e : fs::directory_iterator(TestData(kKernel))) {
      if (e.is_regular_file())
        fs::copy_file(e.path(), copy / e.path().filename());
    }
    return copy;
  }
  static std::string DeepMetadata(int levels) {
    std::string s =
        "/* CTF 1.8 */\n"
        "typealias integer { size = 8; align = 8; signed = false; } := u8;\n"
        "trace { major = 1; minor = 8; byte_order = le; };\n"
        "event { name = \"e\"; fields := struct { ";
    for (int i = 0; i < levels; ++i) s += "struct { ";
    s += "u8 x;";
    for (int i = 0; i < levels; ++i) s += " } a;";
    return s + " }; };\n";
  }
  static bool Contains(const Json& j, const std::string& key,
                       const std::string& text) {
    return j.contains(key) && j[key].is_string() &&
           j[key].get<std::string>().find(text) != std::string::npos;
  }
};

TEST_F(HttpHostileInputTest, DeepTsdlIsRefusedAndListingSurvivesRestarts) {
  const fs::path deep = data_dir_ / "traces" / "deep";
  fs::create_directories(deep);
  std::ofstream(deep / "metadata") << DeepMetadata(30000);
  Json err = ExpectError(
      Post("/traces", Json{{"parameters", {{"uri", deep.string()}}}}), 406);
  EXPECT_NE(err["detail"].get<std::string>().find(
                "metadata nests deeper than 64 levels"),
            std::string::npos)
      << err.dump();

  // A registered trace whose metadata is replaced afterwards: the listing
  // says why it cannot be read, before and after a restart.
  const fs::path copy = KernelCopy("changed");
  Json t = AddTrace(copy.string(), "changed");
  const std::string uuid = t["UUID"];
  fs::remove(copy / "metadata");
  std::ofstream(copy / "metadata") << DeepMetadata(30000);
  for (int round = 0; round < 2; ++round) {
    Json list = Body(Get("/traces"));
    ASSERT_TRUE(list.is_array()) << list.dump();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_TRUE(Contains(list[0]["properties"], "error",
                         "metadata nests deeper than 64 levels"))
        << list.dump();
    Json one = Body(Get("/traces/" + uuid));
    EXPECT_TRUE(Contains(one["properties"], "error", "nests deeper"));
    StopServer();
    StartServer();
  }
  auto h = Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(HttpHostileInputTest, FifoAndDevZeroStreamsAreReportedNotSkipped) {
  const fs::path copy = KernelCopy("fifo");
  fs::remove(copy / "k_1");
  ASSERT_EQ(::mkfifo((copy / "k_1").c_str(), 0644), 0);
  fs::remove(copy / "k_2");
  fs::create_symlink("/dev/zero", copy / "k_2");

  Json t = AddTrace(copy.string(), "fifo");
  ASSERT_TRUE(t.is_object());
  const Json& tp = t["properties"];
  EXPECT_TRUE(Contains(tp, "ctf.unread_streams", "k_1: it is a FIFO"))
      << t.dump();
  EXPECT_TRUE(Contains(tp, "ctf.unread_streams", "k_2: it is a character"))
      << t.dump();

  Json e = AddExperiment("fifo", {t["UUID"].get<std::string>()});
  Json done = WaitIndexed(e["UUID"]);  // never blocks on the FIFO
  ASSERT_TRUE(done.is_object());
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  EXPECT_GT(done["nbEvents"].get<uint64_t>(), 0u);
  EXPECT_LT(done["nbEvents"].get<uint64_t>(), kKernelEvents);
  const Json& p = done["properties"];
  EXPECT_EQ(p.value("reader.unread_files", ""), "2") << done.dump();
  EXPECT_TRUE(Contains(p, "indexing.partial", "2 stream file(s)"));
  EXPECT_TRUE(Contains(p, "reader.messages", "k_1: it is a FIFO"));
  EXPECT_TRUE(Contains(p, "reader.messages", "k_2: it is a character"));
  EXPECT_TRUE(
      Contains(done["traces"][0]["properties"], "ctf.unread_streams", "k_1"));
}

TEST_F(HttpHostileInputTest, OverflowingClockOffsetIsRefusedWithTheReason) {
  const fs::path copy = KernelCopy("clock");
  // Same length, so the packetized metadata's framing stays valid.
  std::string meta = ReadFile((copy / "metadata").string());
  const std::string from = "offset = 1539783991179109860;";
  const std::string to = "offset_s=9223372036854775807;";
  ASSERT_EQ(from.size(), to.size());
  size_t at = meta.find(from);
  ASSERT_NE(at, std::string::npos);
  meta.replace(at, from.size(), to);
  std::ofstream(copy / "metadata", std::ios::binary | std::ios::trunc) << meta;
  Json err = ExpectError(
      Post("/traces", Json{{"parameters", {{"uri", copy.string()}}}}), 406);
  EXPECT_NE(err["detail"].get<std::string>().find(
                "offset_s = 9223372036854775807 s + offset = 0 cycles "
                "overflows the int64 nanosecond time range"),
            std::string::npos)
      << err.dump();
}

TEST_F(HttpHostileInputTest, LinksInTheDataDirAreNeverFollowed) {
  Json exp = OpenIndexed(kKernel, "kernel");
  ASSERT_TRUE(exp.is_object());
  const std::string uuid = exp["UUID"];
  const Json props = exp["properties"];
  StopServer();

  const fs::path outside = data_dir_.string() + "-outside";
  fs::remove_all(outside);
  fs::create_directories(outside);
  const std::map<std::string, std::string> files = {
      {"LOG", "not a LevelDB log"},
      {"CURRENT", "not a manifest name"},
      {"000005.ldb", "not a table"},
      {"keep.txt", "precious"}};
  for (const auto& [name, text] : files) std::ofstream(outside / name) << text;
  auto untouched = [&] {
    std::map<std::string, std::string> now;
    for (const auto& e : fs::directory_iterator(outside)) {
      now[e.path().filename().string()] = ReadFile(e.path().string());
    }
    return now == files;
  };
  // The kernel store replaced by a link (a rebuild wipes its folder), and a
  // link to the same folder beside the stores.
  const fs::path dir = data_dir_ / "experiments" / uuid;
  fs::remove_all(dir / "kernel");
  fs::create_directory_symlink(outside, dir / "kernel");
  fs::create_directory_symlink(outside, dir / "planted");

  StartServer();
  Json again = WaitIndexed(uuid);  // the kernel store is rebuilt
  ASSERT_TRUE(again.is_object());
  EXPECT_EQ(again["indexingStatus"], "COMPLETED");
  EXPECT_EQ(again["nbEvents"], exp["nbEvents"]);
  EXPECT_FALSE(fs::is_symlink(dir / "kernel"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "planted")));
  EXPECT_TRUE(untouched());

  // Delete with a link inside the experiment folder again.
  fs::create_directory_symlink(outside, dir / "planted");
  auto del = Delete("/experiments/" + uuid);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir)));
  EXPECT_TRUE(untouched());
  fs::remove_all(outside);
}

}  // namespace
}  // namespace vmtrace::tsp::testing
