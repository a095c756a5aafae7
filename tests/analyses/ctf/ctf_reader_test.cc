// Unit tests of the CTF reader contract: discovery, names, payload values,
// save/restore, and robustness against truncated files.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "analyses/ctf/reader.h"
#include "gtest/gtest.h"

namespace vmtrace::ctf {
namespace {

namespace fs = std::filesystem;
const std::string kData = VMTRACE_TEST_DATA;

std::unique_ptr<EventReader> OpenReader(const std::vector<std::string>& dirs) {
  std::vector<std::shared_ptr<const Trace>> traces;
  for (const auto& d : dirs) {
    auto t = Trace::Open(d);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (!t.ok()) return nullptr;
    traces.push_back(*t);
  }
  auto r = EventReader::Open(traces);
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::move(r).value() : nullptr;
}

struct Rec {
  int64_t ts;
  std::string name, payload;
  uint32_t stream;
  bool operator==(const Rec&) const = default;
};

Rec Record(const Event& ev) {
  return Rec{ev.timestamp, ev.cls->name(), ev.FormatPayload(), ev.stream_index};
}

std::vector<Rec> ReadAll(EventReader* r, size_t max = SIZE_MAX) {
  std::vector<Rec> out;
  Event ev;
  while (out.size() < max && r->Next(&ev)) out.push_back(Record(ev));
  return out;
}

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("vmtrace_ctf_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(FindTraces, TraceDirIsItself) {
  auto r = FindTraces(kData + "/tracevizlab-simple-kernel-8cpu");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], kData + "/tracevizlab-simple-kernel-8cpu");
}

TEST(FindTraces, SessionWithTwoTraces) {
  auto r = FindTraces(kData + "/lttng-synctraces-scp");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], kData + "/lttng-synctraces-scp/scp_dest");
  EXPECT_EQ((*r)[1], kData + "/lttng-synctraces-scp/scp_src");
  auto k = FindTraces(kData + "/babeltrace-tracefile-rotation-4cpu");
  ASSERT_TRUE(k.ok());
  ASSERT_EQ(k->size(), 1u);
  EXPECT_EQ((*k)[0], kData + "/babeltrace-tracefile-rotation-4cpu/kernel");
}

TEST(FindTraces, Errors) {
  EXPECT_EQ(FindTraces(kData + "/no-such-dir").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      FindTraces(kData + "/tracevizlab-simple-kernel-8cpu/k_0").status().code(),
      StatusCode::kUnimplemented);
  fs::path empty = TempDir("notrace");
  std::ofstream(empty / "readme.txt") << "hello";
  fs::create_directories(empty / "sub");
  std::ofstream(empty / "sub" / "metadata") << "not a CTF trace";
  EXPECT_EQ(FindTraces(empty.string()).status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(Trace::Open((empty / "sub").string()).status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(Trace::Open((empty / "nope").string()).status().code(),
            StatusCode::kNotFound);
  fs::remove_all(empty);
}

TEST(Trace, InfoAndClasses) {
  auto t = Trace::Open(kData + "/tracevizlab-simple-kernel-8cpu");
  ASSERT_TRUE(t.ok());
  const TraceInfo& info = (*t)->info();
  EXPECT_EQ(info.hostname, "wilbrod");
  EXPECT_EQ(info.stream_count, 8u);
  EXPECT_EQ(info.env.at("domain"), "kernel");
  EXPECT_EQ(info.clock_offset_ns, 1539783991179109860);
  const EventClass* sw = nullptr;
  for (const EventClass* c : (*t)->event_classes()) {
    if (c->name() == "sched_switch") sw = c;
  }
  ASSERT_NE(sw, nullptr);
  EXPECT_EQ(sw->FieldIndex("prev_comm"), 0);
  EXPECT_GE(sw->FieldIndex("next_tid"), 0);
  EXPECT_EQ(sw->FieldIndex("_next_tid"), -1);
  EXPECT_EQ(sw->fields()[0].scope, Scope::kPayload);
}

TEST(Trace, PerfNamesNormalised) {
  auto t = Trace::Open(kData + "/perf-kvm-tinyguest-2cpu");
  ASSERT_TRUE(t.ok());
  bool found = false;
  for (const EventClass* c : (*t)->event_classes()) {
    if (c->raw_name() == "sched:sched_switch") {
      EXPECT_EQ(c->name(), "sched_switch");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(EventReader, PayloadValues) {
  auto r = OpenReader({kData + "/synthetic/raw-handwritten"});
  ASSERT_TRUE(r);
  Event ev;
  ASSERT_TRUE(r->Next(&ev));
  EXPECT_EQ(ev.timestamp, 1700000000000001000);
  EXPECT_EQ(ev.cls->name(), "sched_switch");
  EXPECT_EQ(ev.cpu, 0);
  const Value* comm = ev.field(ev.cls->FieldIndex("prev_comm"));
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->kind, Value::kString);
  EXPECT_EQ(comm->s, "swapper/0");
  EXPECT_EQ(ev.field(ev.cls->FieldIndex("next_tid"))->AsInt(), 5000);
  EXPECT_EQ(ev.FormatPayload(),
            "prev_comm = \"swapper/0\", prev_tid = 0, prev_prio = 20, "
            "prev_state = 0, next_comm = \"CPU 0/KVM\", next_tid = 5000, "
            "next_prio = 20");
}

TEST(EventReader, EnumNegativeAndHex) {
  auto r = OpenReader({kData + "/tracevizlab-simple-kernel-8cpu"});
  ASSERT_TRUE(r);
  Event ev;
  bool negative = false, hex = false, array = false;
  while (r->Next(&ev)) {
    for (size_t i = 0; i < ev.value_count; ++i) {
      const Value& v = ev.values[i];
      if (v.kind == Value::kSigned && v.i < 0) negative = true;
      if (v.hex) {
        std::string s;
        v.AppendTo(&s);
        EXPECT_EQ(s.rfind("0x", 0), 0u) << s;
        hex = true;
      }
      if (v.kind == Value::kArray) {
        EXPECT_EQ(v.s.front(), v.s.front() == '[' ? '[' : '{');
        array = true;
      }
    }
  }
  EXPECT_TRUE(negative);
  EXPECT_TRUE(hex);
  EXPECT_TRUE(array);
  Value e;
  e.kind = Value::kUnsigned;
  e.u = 1;
  e.enum_label = "EPOLL_CTL_ADD";
  std::string s;
  e.AppendTo(&s);
  EXPECT_NE(s.find("EPOLL_CTL_ADD"), std::string::npos);
}

TEST(EventReader, SaveRestoreAtRandomPoints) {
  const std::vector<std::string> dirs = {
      kData + "/tracevizlab-simple-kernel-8cpu",
      kData + "/babeltrace-tracefile-rotation-4cpu/kernel"};
  auto ref_reader = OpenReader(dirs);
  ASSERT_TRUE(ref_reader);
  std::vector<Rec> all = ReadAll(ref_reader.get());
  ASSERT_EQ(all.size(), 11980u + 12305u);
  std::mt19937 rng(42);
  auto r = OpenReader(dirs);
  auto fresh = OpenReader(dirs);
  size_t pos = 0;
  const size_t k = 40;
  for (int round = 0; round < 60; ++round) {
    size_t target = std::uniform_int_distribution<size_t>(0, all.size())(rng);
    if (target < pos) {
      // Rewind through a blob taken by a fresh reader at the start.
      auto start = OpenReader(dirs);
      ASSERT_TRUE(r->RestorePosition(start->SavePosition()).ok());
      pos = 0;
    }
    ReadAll(r.get(), target - pos);
    pos = target;
    std::string blob = r->SavePosition();
    EXPECT_LT(blob.size(), 20u * 12 + 32);
    std::vector<Rec> a = ReadAll(r.get(), k);
    ASSERT_TRUE(r->RestorePosition(blob).ok());
    std::vector<Rec> b = ReadAll(r.get(), k);
    ASSERT_EQ(a, b) << "round " << round << " at " << target;
    ASSERT_TRUE(fresh->RestorePosition(blob).ok());
    ASSERT_EQ(ReadAll(fresh.get(), k), a);
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].ts, all[target + i].ts) << target + i;
      ASSERT_EQ(a[i].name, all[target + i].name) << target + i;
    }
    pos = target + a.size();
  }
}

TEST(EventReader, ForeignBlobRejected) {
  auto a = OpenReader({kData + "/synthetic/raw-handwritten"});
  auto b = OpenReader({kData + "/synthetic/demo-kvm-entry"});
  EXPECT_EQ(b->RestorePosition(a->SavePosition()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(b->RestorePosition("garbage").code(), StatusCode::kInvalidArgument);
  std::string blob = b->SavePosition();
  EXPECT_EQ(b->RestorePosition(blob.substr(0, blob.size() - 1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(b->RestorePosition(blob).ok());
}

TEST(EventReader, TruncatedStreamFile) {
  fs::path dir = TempDir("truncated");
  const fs::path src = kData + "/tracevizlab-simple-kernel-8cpu";
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.is_regular_file()) fs::copy_file(e.path(), dir / e.path().filename());
  }
  auto full = OpenReader({src.string()});
  std::vector<Rec> all = ReadAll(full.get());
  // Cut k_0 in the middle of a packet (packets there are 4 KiB multiples).
  uint64_t size = fs::file_size(dir / "k_0");
  uint64_t cut = (size / 2) / 4096 * 4096 + 1000;
  ASSERT_LT(cut, size);
  fs::resize_file(dir / "k_0", cut);
  auto r = OpenReader({dir.string()});
  std::vector<Rec> got = ReadAll(r.get());
  EXPECT_LT(got.size(), all.size());
  EXPECT_GT(got.size(), all.size() / 3);
  EXPECT_GE(r->stats().truncated_packets, 1u);
  EXPECT_FALSE(r->stats().messages.empty());
  EXPECT_EQ(r->stats().decode_errors, 0u);
  // The truncated stream yields a prefix of its events; others are intact.
  auto k0 = [](const std::vector<Rec>& v, uint32_t s) {
    std::vector<Rec> out;
    for (const Rec& x : v) {
      if (x.stream == s) out.push_back(x);
    }
    return out;
  };
  for (uint32_t s = 0; s < 8; ++s) {
    std::vector<Rec> a = k0(all, s), b = k0(got, s);
    ASSERT_LE(b.size(), a.size());
    EXPECT_TRUE(std::equal(b.begin(), b.end(), a.begin())) << "stream " << s;
  }
  // Cutting inside the first packet header, or to nothing, must not crash.
  fs::resize_file(dir / "k_0", 20);
  EXPECT_TRUE(OpenReader({dir.string()}));
  fs::remove_all(dir);
}

TEST(EventReader, CorruptBytesDoNotCrash) {
  fs::path dir = TempDir("corrupt");
  const fs::path src = kData + "/lttng-bug446190-4cpu-lttng25";
  fs::copy_file(src / "metadata", dir / "metadata");
  fs::copy_file(src / "channel0_0", dir / "channel0_0");
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    {
      std::fstream f(dir / "channel0_0",
                     std::ios::in | std::ios::out | std::ios::binary);
      uint64_t size = fs::file_size(dir / "channel0_0");
      for (int i = 0; i < 8; ++i) {
        f.seekp(std::uniform_int_distribution<uint64_t>(0, size - 1)(rng));
        f.put(char(rng()));
      }
    }
    auto r = OpenReader({dir.string()});
    if (r) ReadAll(r.get());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vmtrace::ctf
