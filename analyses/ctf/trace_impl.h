// The concrete Trace: parsed metadata compiled into decode programs, plus
// the list of data streams (each a time-ordered list of files).
#ifndef VMTRACE_ANALYSES_CTF_TRACE_IMPL_H_
#define VMTRACE_ANALYSES_CTF_TRACE_IMPL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analyses/ctf/decode_program.h"
#include "analyses/ctf/reader.h"
#include "analyses/ctf/tsdl_ast.h"

namespace vmtrace::ctf {

struct CompiledClass {
  EventClass cls;
  Program prog;  // stream event context, event context, payload
};

struct StreamClass {
  uint64_t id = 0;
  Program context;  // packet context, flattened
  Program header;   // event header, flattened; empty if none
  bool has_header = false;
  int packet_size = -1, content_size = -1, ts_begin = -1, ts_end = -1,
      cpu_id = -1, discarded = -1;  // slots in `context`
  // Event classes by id: dense table for the usual small ids.
  std::vector<const CompiledClass*> by_id;
  std::map<uint64_t, const CompiledClass*> sparse;
  const CompiledClass* only = nullptr;  // the single class, if just one
  size_t max_slots = 0;

  const CompiledClass* Find(uint64_t id) const {
    if (id < by_id.size()) return by_id[id];
    auto it = sparse.find(id);
    return it == sparse.end() ? nullptr : it->second;
  }
};

struct StreamFiles {
  std::vector<std::string> paths;  // ordered by first packet timestamp
  std::string key;
};

// What the packet header and context say about one packet.
struct PacketInfo {
  const StreamClass* sc = nullptr;
  uint64_t header_bits = 0;   // where the first event starts
  uint64_t packet_bits = 0;   // 0 if the context has no packet_size
  uint64_t content_bits = 0;  // 0 if the context has no content_size
  bool has_ts_begin = false, has_ts_end = false;
  uint64_t ts_begin = 0, ts_end = 0;
  int64_t cpu = -1;
  bool has_discarded = false;
  uint64_t discarded = 0;
  bool has_instance = false;
  uint64_t stream_id = 0, instance_id = 0;
};

class TraceImpl : public Trace {
 public:
  static StatusOr<std::shared_ptr<const TraceImpl>> Load(
      const std::string& dir);

  const TraceInfo& info() const override { return info_; }
  std::vector<const EventClass*> event_classes() const override;

  const std::vector<StreamFiles>& streams() const { return streams_; }

  // Decodes the packet header and context at p (avail bytes there).
  // values is scratch space. False with *error set if they do not fit or
  // are inconsistent.
  bool DecodePacketPrefix(const uint8_t* p, uint64_t avail,
                          std::vector<Value>* values, std::string* scratch,
                          std::vector<int32_t>* fixups, PacketInfo* out,
                          const char** error) const;

  // Nanoseconds since the epoch of a clock value; false if that does not
  // fit in int64 (a corrupt timestamp: Load already refused clock offsets
  // that do not fit, so the products below cannot overflow __int128).
  bool ToNs(uint64_t cycles, int64_t* ns) const {
    if (ns_per_cycle_exact_) {
      return cycles <= uint64_t(INT64_MAX) &&
             !__builtin_add_overflow(base_ns_, int64_t(cycles), ns);
    }
    __int128 t = (offset_cycles_ + cycles) * 1000000000 / __int128(freq_);
    if (t > INT64_MAX || t < INT64_MIN) return false;
    *ns = int64_t(t);
    return true;
  }

 private:
  Status Compile();
  // Compile()'s steps: the packet header and stream classes, then each
  // event class (`perf`: strip the "subsystem:" prefix of its name).
  Status CompileStreamClasses();
  Status CompileEventClass(const EventDecl& ed, bool perf);
  Status ListStreams();

  TraceInfo info_;
  Metadata md_;
  Program packet_header_;
  int magic_slot_ = -1, stream_id_slot_ = -1, instance_slot_ = -1;
  std::vector<std::unique_ptr<StreamClass>> stream_classes_;
  std::vector<std::unique_ptr<CompiledClass>> classes_;
  std::vector<StreamFiles> streams_;
  std::vector<std::string> unread_;  // info_.unread_streams, being built
  bool ns_per_cycle_exact_ = true;
  int64_t base_ns_ = 0;
  __int128 offset_cycles_ = 0;
  uint64_t freq_ = 1000000000;
};

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_TRACE_IMPL_H_
