// CTF 1.8 reading: discovery, metadata, and a seekable merged event stream.
//
// This is the contract between the decoder (analyses/ctf/*.cc) and its users
// (the indexer, the events table, later every analysis). Ownership: a Trace
// is immutable after Open and may be shared between readers and threads;
// an EventReader is single-threaded and owns its file handles.
#ifndef VMTRACE_ANALYSES_CTF_READER_H_
#define VMTRACE_ANALYSES_CTF_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vmtrace::ctf {

// Returns the CTF trace directories (directories holding a `metadata` file
// whose content is CTF TSDL, plain or packetized) at or below `path`, sorted.
// NotFound if `path` does not exist; Unimplemented("<reason>") if it exists
// but holds no CTF trace (a plain file, an empty dir, a dir of other files).
StatusOr<std::vector<std::string>> FindTraces(const std::string& path);

// One decoded field value. Strings and formatted arrays point into memory
// owned by the reader; they stay valid until the next call to Next/Seek.
struct Value {
  enum Kind : uint8_t { kNone, kSigned, kUnsigned, kDouble, kString, kArray };
  Kind kind = kNone;
  bool hex = false;  // base 16 integer in the metadata: format as 0x...
  union {
    int64_t i;
    uint64_t u;
    double d;
  };
  std::string_view s;  // kString: the text; kArray: pre-formatted "[1, 2]"
  // Enum label for an enum-typed integer, empty otherwise.
  std::string_view enum_label;

  Value() : u(0) {}
  // Integer value as int64 (unsigned values are reinterpreted); 0 for
  // non-integers.
  int64_t AsInt() const;
  // Human readable form as babeltrace2's text sink would print the value.
  void AppendTo(std::string* out) const;
};

// Where in the event a field lives.
enum class Scope : uint8_t { kStreamEventContext, kEventContext, kPayload };

struct FieldInfo {
  std::string name;  // leading '_' of TSDL escapes removed
  Scope scope;
};

class EventClass {
 public:
  // Normalised name: a perf "subsystem:" prefix is stripped
  // ("sched:sched_switch" -> "sched_switch").
  const std::string& name() const { return name_; }
  const std::string& raw_name() const { return raw_name_; }
  uint64_t id() const { return id_; }
  uint64_t stream_class_id() const { return stream_class_id_; }
  // The fields of every event of this class, in the order Event::field()
  // indexes them: stream event context, event context, then payload.
  const std::vector<FieldInfo>& fields() const { return fields_; }
  // Index of the field with this name (first match in the order above), -1
  // if absent. Handlers resolve their indices once per class.
  int FieldIndex(std::string_view name) const;

  // Set by the decoder; public so the decoder's builders can fill them.
  std::string name_, raw_name_;
  uint64_t id_ = 0, stream_class_id_ = 0;
  std::vector<FieldInfo> fields_;
};

struct TraceInfo {
  std::string path;                        // the trace directory
  std::map<std::string, std::string> env;  // TSDL env block, as text
  std::string hostname;                    // env "hostname", or ""
  int64_t clock_offset_ns = 0;             // applied to every timestamp
  uint64_t clock_freq = 1000000000;
  // The TSDL clock's name ("" if the metadata declares no clock).
  std::string clock_name;
  size_t stream_count = 0;
  size_t event_class_count = 0;
  // Entries of the trace directory that should be stream files but cannot
  // be read, as "<path>: <why>" (a FIFO, a device, a socket, a dangling
  // link, a file that cannot be opened). They are never opened for reading
  // (a FIFO would block, /dev/zero never ends), and every reader reports
  // them in its stats: their events are missing.
  std::vector<std::string> unread_streams;
};

class Trace {
 public:
  // Parses the metadata and lists the data streams (several files of one
  // stream, as written with --tracefile-size, become one stream). Does not
  // read event data. NotFound: no such dir; Unimplemented: not CTF;
  // DataLoss: metadata present but unparsable (the message says where).
  static StatusOr<std::shared_ptr<const Trace>> Open(const std::string& dir);
  virtual ~Trace() = default;
  virtual const TraceInfo& info() const = 0;
  virtual std::vector<const EventClass*> event_classes() const = 0;
};

// The events a tracer reported lost in one stream (LTTng's packet contexts
// count them in `events_discarded`, cumulatively per stream).
struct StreamDiscards {
  uint32_t trace_index = 0;   // Event::trace_index
  uint32_t stream_index = 0;  // Event::stream_index
  int64_t cpu = -1;           // packet context cpu_id, -1 if none
  uint64_t count = 0;
};

// Anomalies met while reading; reading never stops the whole experiment
// because of them (a stream with a decoding error ends at the last good
// event).
struct ReaderStats {
  uint64_t overlapping_packets = 0;  // packet begins before previous end
  uint64_t truncated_packets = 0;    // stream file ends inside a packet
  uint64_t decode_errors = 0;        // undecodable events (stream stopped)
  uint64_t discarded_events = 0;     // from packet contexts
  uint64_t unordered_events = 0;     // ts going backwards within a stream
  // Stream files not read at all (TraceInfo::unread_streams, or a file
  // that could no longer be opened when its turn came).
  uint64_t unread_files = 0;
  // Events whose time does not fit in int64 ns since the epoch (stream
  // stopped there, as for a decode error).
  uint64_t time_overflows = 0;
  // discarded_events per stream: streams with a loss only, in the order
  // the losses were first met.
  std::vector<StreamDiscards> discarded_by_stream;
  std::vector<std::string> messages;  // first few, human readable
};

struct Event {
  int64_t timestamp = 0;  // ns since the Unix epoch
  const EventClass* cls = nullptr;
  uint32_t trace_index = 0;   // index into the reader's traces
  uint32_t stream_index = 0;  // global stream index across all traces
  int64_t cpu = -1;           // packet context cpu_id, -1 if none
  // Field values in EventClass::fields() order.
  const Value* values = nullptr;
  size_t value_count = 0;

  const Value* field(int index) const {
    return index >= 0 && size_t(index) < value_count ? &values[index] : nullptr;
  }
  // "name=value, name=value" over the payload fields only, babeltrace-like.
  std::string FormatPayload() const;
};

// Merges every stream of every trace by timestamp. Ties are broken by
// (trace index, stream index, order within the stream), so the order --
// and thus every event's rank -- is deterministic across runs.
class EventReader {
 public:
  static StatusOr<std::unique_ptr<EventReader>> Open(
      std::vector<std::shared_ptr<const Trace>> traces);
  virtual ~EventReader() = default;

  // Decodes the next event into *event (valid until the next call). Returns
  // false at the end of all streams.
  virtual bool Next(Event* event) = 0;

  // An opaque, compact snapshot (a few bytes per stream) of where every
  // stream is: restoring it makes Next() return exactly the event that would
  // have come next when it was taken. Taking it is cheap (no I/O).
  virtual std::string SavePosition() const = 0;
  // InvalidArgument if the blob is not one of ours or belongs to another
  // set of traces. Cost: O(streams) seeks plus decoding at most one packet
  // prefix per stream.
  virtual Status RestorePosition(std::string_view blob) = 0;

  virtual const ReaderStats& stats() const = 0;
};

}  // namespace vmtrace::ctf

#endif  // VMTRACE_ANALYSES_CTF_READER_H_
