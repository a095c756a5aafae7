// Trace discovery and opening: metadata → compiled programs, data files →
// streams.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "analyses/ctf/trace_impl.h"
#include "analyses/ctf/tsdl_parser.h"

namespace vmtrace::ctf {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kPacketMagic = 0xC1FC1FC1;
// The packet header and context of one packet fit in this many bytes in any
// trace we know of; only used while listing streams.
constexpr size_t kPrefixBytes = 64 * 1024;

std::string StripUnderscore(const std::string& name) {
  return !name.empty() && name[0] == '_' ? name.substr(1) : name;
}

// "mychan_0_3" -> "mychan_0": the LTTng --tracefile-size naming
// <channel>_<cpu>_<index>. "channel0_1" stays as is (no second number).
std::string RotationKey(const std::string& name) {
  auto strip_num = [](const std::string& s, std::string* rest) {
    size_t i = s.size();
    while (i > 0 && std::isdigit(uint8_t(s[i - 1]))) --i;
    if (i == s.size() || i == 0 || s[i - 1] != '_') return false;
    *rest = s.substr(0, i - 1);
    return true;
  };
  std::string a, b;
  if (strip_num(name, &a) && strip_num(a, &b)) return a;
  return name;
}

// Why a directory entry that is not a regular file cannot be a stream.
std::string NotRegular(fs::file_type type) {
  switch (type) {
    case fs::file_type::fifo:
      return "it is a FIFO, not a regular file";
    case fs::file_type::character:
      return "it is a character device, not a regular file";
    case fs::file_type::block:
      return "it is a block device, not a regular file";
    case fs::file_type::socket:
      return "it is a socket, not a regular file";
    case fs::file_type::not_found:
      return "it is a dangling symbolic link";
    default:
      return "it is not a regular file";
  }
}

}  // namespace

std::vector<const EventClass*> TraceImpl::event_classes() const {
  std::vector<const EventClass*> out;
  out.reserve(classes_.size());
  for (const auto& c : classes_) out.push_back(&c->cls);
  return out;
}

Status TraceImpl::Compile() {
  VMTRACE_RETURN_IF_ERROR(CompileStreamClasses());
  bool perf =
      md_.env.count("tracer_name") && md_.env.at("tracer_name") == "perf";
  for (const EventDecl& ed : md_.events) {
    VMTRACE_RETURN_IF_ERROR(CompileEventClass(ed, perf));
  }
  // A stream class with a single event class needs no event id to decode.
  for (auto& sc : stream_classes_) {
    const CompiledClass* only = nullptr;
    int n = 0;
    for (const auto& c : classes_) {
      if (c->cls.stream_class_id_ == sc->id) {
        only = c.get();
        ++n;
      }
    }
    if (n == 1) sc->only = only;
  }
  return Status::Ok();
}

Status TraceImpl::CompileStreamClasses() {
  if (md_.packet_header) {
    packet_header_.byte_order = md_.byte_order;
    VMTRACE_RETURN_IF_ERROR(
        CompileStruct(*md_.packet_header, true, false, &packet_header_));
    magic_slot_ = packet_header_.FindSlot("magic");
    stream_id_slot_ = packet_header_.FindSlot("stream_id");
    instance_slot_ = packet_header_.FindSlot("stream_instance_id");
  }
  if (md_.streams.empty()) md_.streams.push_back(StreamDecl{});
  for (const StreamDecl& sd : md_.streams) {
    auto sc = std::make_unique<StreamClass>();
    sc->id = sd.id;
    sc->context.byte_order = sc->header.byte_order = md_.byte_order;
    if (sd.packet_context) {
      VMTRACE_RETURN_IF_ERROR(
          CompileStruct(*sd.packet_context, true, false, &sc->context));
      // Packet context names are matched as LTTng and babeltrace write them;
      // the '_' prefixed forms come from sink.ctf.fs traces.
      auto find = [&](const char* n) {
        int s = sc->context.FindSlot(n);
        return s >= 0 ? s : sc->context.FindSlot(std::string("_") + n);
      };
      sc->packet_size = find("packet_size");
      sc->content_size = find("content_size");
      sc->ts_begin = find("timestamp_begin");
      sc->ts_end = find("timestamp_end");
      sc->cpu_id = find("cpu_id");
      sc->discarded = find("events_discarded");
    }
    if (sd.event_header) {
      VMTRACE_RETURN_IF_ERROR(
          CompileStruct(*sd.event_header, true, true, &sc->header));
      sc->has_header = true;
    }
    stream_classes_.push_back(std::move(sc));
  }
  return Status::Ok();
}

Status TraceImpl::CompileEventClass(const EventDecl& ed, bool perf) {
  StreamClass* sc = nullptr;
  for (auto& s : stream_classes_) {
    if (s->id == ed.stream_id) sc = s.get();
  }
  if (!sc) {
    return DataLoss("event '" + ed.name + "' refers to unknown stream " +
                    std::to_string(ed.stream_id));
  }
  auto cc = std::make_unique<CompiledClass>();
  cc->prog.byte_order = md_.byte_order;
  cc->cls.raw_name_ = ed.name;
  cc->cls.name_ = ed.name;
  if (perf) {
    size_t colon = ed.name.find(':');
    if (colon != std::string::npos) cc->cls.name_ = ed.name.substr(colon + 1);
  }
  cc->cls.id_ = ed.id;
  cc->cls.stream_class_id_ = ed.stream_id;
  const StreamDecl* sd = nullptr;
  for (const auto& s : md_.streams) {
    if (s.id == ed.stream_id) sd = &s;
  }
  struct Part {
    const TypePtr* type;
    Scope scope;
  } parts[] = {{&sd->event_context, Scope::kStreamEventContext},
               {&ed.context, Scope::kEventContext},
               {&ed.fields, Scope::kPayload}};
  for (const Part& part : parts) {
    if (!*part.type) continue;
    size_t before = cc->prog.slot_names.size();
    Status st = CompileStruct(**part.type, false, false, &cc->prog);
    if (!st.ok()) {
      return Status(st.code(), "event '" + ed.name + "': " + st.message());
    }
    for (size_t i = before; i < cc->prog.slot_names.size(); ++i) {
      cc->cls.fields_.push_back(
          FieldInfo{StripUnderscore(cc->prog.slot_names[i]), part.scope});
    }
  }
  sc->max_slots = std::max(sc->max_slots, cc->prog.slot_names.size());
  if (ed.id < 65536) {
    if (sc->by_id.size() <= ed.id) sc->by_id.resize(ed.id + 1);
    sc->by_id[ed.id] = cc.get();
  } else {
    sc->sparse[ed.id] = cc.get();
  }
  classes_.push_back(std::move(cc));
  return Status::Ok();
}

bool TraceImpl::DecodePacketPrefix(const uint8_t* p, uint64_t avail,
                                   std::vector<Value>* values,
                                   std::string* scratch,
                                   std::vector<int32_t>* fixups,
                                   PacketInfo* out, const char** error) const {
  *out = PacketInfo();
  BitReader r{p, 0, avail * 8};
  RunState st;
  st.scratch = scratch;
  st.fixups = fixups;
  scratch->clear();
  fixups->clear();
  size_t need = std::max(packet_header_.slot_names.size(), size_t(1));
  if (values->size() < need) values->resize(need);
  st.values = values->data();
  if (!RunProgram(packet_header_, r, &st)) {
    *error = "packet header truncated";
    return false;
  }
  const Value* v = values->data();
  if (magic_slot_ >= 0 && v[magic_slot_].u != kPacketMagic) {
    *error = "bad packet magic";
    return false;
  }
  if (stream_id_slot_ >= 0) out->stream_id = v[stream_id_slot_].u;
  if (instance_slot_ >= 0) {
    out->has_instance = true;
    out->instance_id = v[instance_slot_].u;
  }
  for (const auto& sc : stream_classes_) {
    if (sc->id == out->stream_id || stream_id_slot_ < 0) {
      out->sc = sc.get();
      break;
    }
  }
  if (!out->sc) {
    *error = "packet of an unknown stream class";
    return false;
  }
  const StreamClass& sc = *out->sc;
  if (values->size() < sc.context.slot_names.size()) {
    values->resize(sc.context.slot_names.size());
  }
  st.values = values->data();
  v = values->data();
  if (!RunProgram(sc.context, r, &st)) {
    *error = "packet context truncated";
    return false;
  }
  out->header_bits = r.pos;
  if (sc.packet_size >= 0) out->packet_bits = v[sc.packet_size].u;
  if (sc.content_size >= 0) out->content_bits = v[sc.content_size].u;
  if (sc.ts_begin >= 0) {
    out->has_ts_begin = true;
    out->ts_begin = v[sc.ts_begin].u;
  }
  if (sc.ts_end >= 0) {
    out->has_ts_end = true;
    out->ts_end = v[sc.ts_end].u;
  }
  if (sc.cpu_id >= 0) out->cpu = int64_t(v[sc.cpu_id].u);
  if (sc.discarded >= 0) {
    out->has_discarded = true;
    out->discarded = v[sc.discarded].u;
  }
  return true;
}

Status TraceImpl::ListStreams() {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(info_.path, ec)) {
    std::string name = e.path().filename().string();
    if (name == "metadata" || name.empty() || name[0] == '.') continue;
    // Folders (LTTng's index/, nested traces) are not streams; anything
    // else that is not a regular file is, but cannot be read: it is
    // reported, never opened (a FIFO blocks, /dev/zero never ends).
    std::error_code e1;
    fs::file_status st = e.status(e1);
    if (fs::is_directory(st)) continue;
    if (!fs::is_regular_file(st)) {
      unread_.push_back(e.path().string() + ": " + NotRegular(st.type()));
      continue;
    }
    if (e.file_size(e1) == 0) continue;  // a stream that got no packet
    names.push_back(name);
  }
  if (ec) return IoError("cannot list " + info_.path + ": " + ec.message());
  std::sort(names.begin(), names.end());
  struct FileInfo {
    std::string name, key;
    uint64_t first_ts = 0;
  };
  std::vector<FileInfo> files;
  std::vector<uint8_t> buf(kPrefixBytes);
  std::vector<Value> values;
  std::string scratch;
  std::vector<int32_t> fixups;
  for (const std::string& name : names) {
    FileInfo fi{name, RotationKey(name), 0};
    const std::string path = info_.path + "/" + name;
    // O_NONBLOCK: the entry may have been replaced by a FIFO since it was
    // listed; opening one for reading must not wait for a writer.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      unread_.push_back(path + ": cannot open: " + std::strerror(errno));
      continue;
    }
    struct stat sb;
    if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      ::close(fd);
      unread_.push_back(path + ": it is not a regular file");
      continue;
    }
    ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
    int read_errno = errno;
    ::close(fd);
    if (n < 0) {
      unread_.push_back(path + ": cannot read: " + std::strerror(read_errno));
      continue;
    }
    PacketInfo pi;
    const char* err = nullptr;
    if (n > 0 && DecodePacketPrefix(buf.data(), uint64_t(n), &values, &scratch,
                                    &fixups, &pi, &err)) {
      fi.first_ts = pi.ts_begin;
      if (pi.has_instance) {
        fi.key = "stream " + std::to_string(pi.stream_id) + " instance " +
                 std::to_string(pi.instance_id);
      }
    }
    files.push_back(std::move(fi));
  }
  std::map<std::string, size_t> by_key;
  for (const FileInfo& f : files) {
    auto [it, added] = by_key.emplace(f.key, streams_.size());
    if (added) streams_.push_back(StreamFiles{{}, f.key});
    streams_[it->second].paths.push_back(f.name);
  }
  std::map<std::string, uint64_t> first_ts;
  for (const FileInfo& f : files) first_ts[f.name] = f.first_ts;
  for (StreamFiles& s : streams_) {
    std::stable_sort(s.paths.begin(), s.paths.end(),
                     [&](const std::string& a, const std::string& b) {
                       return first_ts[a] < first_ts[b];
                     });
    for (std::string& p : s.paths) p = info_.path + "/" + p;
  }
  info_.stream_count = streams_.size();
  std::sort(unread_.begin(), unread_.end());
  info_.unread_streams = unread_;
  return Status::Ok();
}

StatusOr<std::shared_ptr<const TraceImpl>> TraceImpl::Load(
    const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return NotFound("no such trace directory: " + dir);
  if (!fs::is_directory(dir, ec)) {
    return Unimplemented(dir + " is not a directory");
  }
  std::string meta = dir + "/metadata";
  if (!fs::is_regular_file(meta, ec)) {
    return Unimplemented(dir + " has no metadata file");
  }
  VMTRACE_ASSIGN_OR_RETURN(std::string text, ReadMetadataText(meta));
  auto t = std::shared_ptr<TraceImpl>(new TraceImpl());
  StatusOr<Metadata> md = ParseTsdl(text);
  if (!md.ok()) return DataLoss(meta + ": " + md.status().message());
  t->md_ = std::move(md).value();
  t->info_.path = fs::path(dir).lexically_normal().string();
  while (t->info_.path.size() > 1 && t->info_.path.back() == '/') {
    t->info_.path.pop_back();
  }
  t->info_.env = t->md_.env;
  auto host = t->md_.env.find("hostname");
  if (host != t->md_.env.end()) t->info_.hostname = host->second;
  if (!t->md_.clocks.empty()) {
    const ClockDecl& c = t->md_.clocks.front();
    // offset_s s + offset cycles must be a time in int64 nanoseconds (years
    // 1678 to 2262). A clock beyond that is damaged metadata: the trace is
    // refused with the reason rather than read with every time wrong (a
    // clamped offset would still put the events at a made-up time).
    __int128 offset_ns = __int128(c.offset_s) * 1000000000 +
                         __int128(c.offset) * 1000000000 / __int128(c.freq);
    if (offset_ns > INT64_MAX || offset_ns < INT64_MIN) {
      return DataLoss(meta + ": clock '" + c.name +
                      "': offset_s = " + std::to_string(c.offset_s) +
                      " s + offset = " + std::to_string(c.offset) +
                      " cycles overflows the int64 nanosecond time range");
    }
    t->freq_ = c.freq;
    t->info_.clock_freq = c.freq;
    t->info_.clock_name = c.name;
    t->offset_cycles_ = __int128(c.offset_s) * c.freq + c.offset;
    t->ns_per_cycle_exact_ = c.freq == 1000000000;
    if (t->ns_per_cycle_exact_) t->base_ns_ = int64_t(offset_ns);
    t->info_.clock_offset_ns =
        int64_t(t->offset_cycles_ * 1000000000 / __int128(c.freq));
  }
  Status st = t->Compile();
  if (!st.ok()) return DataLoss(meta + ": " + st.message());
  VMTRACE_RETURN_IF_ERROR(t->ListStreams());
  t->info_.event_class_count = t->classes_.size();
  return std::shared_ptr<const TraceImpl>(std::move(t));
}

StatusOr<std::shared_ptr<const Trace>> Trace::Open(const std::string& dir) {
  VMTRACE_ASSIGN_OR_RETURN(std::shared_ptr<const TraceImpl> t,
                           TraceImpl::Load(dir));
  return std::shared_ptr<const Trace>(std::move(t));
}

StatusOr<std::vector<std::string>> FindTraces(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("no such path: " + path);
  if (!fs::is_directory(path, ec)) {
    return Unimplemented(path + " is a file, not a CTF trace directory");
  }
  std::vector<std::string> out;
  std::function<void(const fs::path&, int)> walk = [&](const fs::path& dir,
                                                       int depth) {
    fs::path meta = dir / "metadata";
    std::error_code e;
    if (fs::is_regular_file(meta, e) && IsCtfMetadataFile(meta.string())) {
      out.push_back(dir.lexically_normal().string());
      return;
    }
    if (depth >= 4) return;
    std::vector<fs::path> subdirs;
    for (const auto& entry : fs::directory_iterator(dir, e)) {
      if (entry.is_directory(e) && !entry.is_symlink(e)) {
        subdirs.push_back(entry.path());
      }
    }
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& d : subdirs) walk(d, depth + 1);
  };
  walk(fs::path(path), 0);
  if (out.empty()) return Unimplemented("no CTF trace under " + path);
  for (std::string& p : out) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vmtrace::ctf
