#include "analyses/index/events_table.h"

#include <algorithm>
#include <ctime>

#include "base/deadline.h"

namespace vmtrace::index {

std::string FormatTimestamp(int64_t ns) {
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  time_t tt = static_cast<time_t>(secs);
  tm tmv;
  gmtime_r(&tt, &tmv);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%09lld",
           tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour,
           tmv.tm_min, tmv.tm_sec, static_cast<long long>(frac));
  return buf;
}

EventsTable::EventsTable(const ExperimentIndex* index,
                         std::vector<std::string> trace_names)
    : index_(index), trace_names_(std::move(trace_names)) {
  bool any_tid = false, any_pid = false, any_proc = false, any_cpu = false;
  for (const auto& trace : index_->ctf_traces()) {
    for (const ctf::EventClass* cls : trace->event_classes()) {
      // LTTng contexts are tid/pid/procname; perf-converted traces carry
      // perf_tid/perf_pid and the tracepoint's common_pid.
      // Only contexts count: many payloads have their own "tid" field (the
      // woken thread of sched_wakeup), which is not the event's thread.
      auto context = [cls](std::initializer_list<const char*> names) {
        for (const char* n : names) {
          int i = cls->FieldIndex(n);
          if (i >= 0 && cls->fields()[i].scope != ctf::Scope::kPayload) {
            return i;
          }
        }
        return -1;
      };
      ClassFields f;
      f.tid = context({"tid", "perf_tid"});
      f.pid = context({"pid", "perf_pid"});
      f.procname = context({"procname"});
      any_tid |= f.tid >= 0;
      any_pid |= f.pid >= 0;
      any_proc |= f.procname >= 0;
      class_fields_[cls] = f;
    }
    any_cpu |= trace->info().stream_count > 0;
  }
  if (trace_names_.size() > 1) {
    columns_.push_back(
        {kTrace, "Trace", "The trace holding the event", "STRING"});
  }
  columns_.push_back({kTimestamp, "Timestamp", "Event time (UTC)", "STRING"});
  columns_.push_back({kTimestampNs, "Timestamp ns",
                      "Event time in nanoseconds since the epoch", "NUMBER"});
  columns_.push_back({kEventType, "Event type", "The event name", "STRING"});
  if (any_cpu) columns_.push_back({kCpu, "CPU", "CPU of the event", "NUMBER"});
  if (any_tid) columns_.push_back({kTid, "TID", "Thread id", "NUMBER"});
  if (any_pid) columns_.push_back({kPid, "PID", "Process id", "NUMBER"});
  if (any_proc) {
    columns_.push_back({kProcess, "Process", "Process name", "STRING"});
  }
  columns_.push_back({kContents, "Contents", "Event payload fields", "STRING"});
}

std::string EventsTable::Cell(int64_t column, uint64_t rank,
                              const ctf::Event& ev) const {
  auto field_text = [&ev](int idx) {
    std::string s;
    if (const ctf::Value* v = ev.field(idx)) {
      if (v->kind == ctf::Value::kString) {
        s.assign(v->s);
      } else {
        v->AppendTo(&s);
      }
    }
    return s;
  };
  switch (column) {
    case kTimestamp:
      return FormatTimestamp(to_view_ ? to_view_(ev.trace_index, ev.timestamp)
                                      : ev.timestamp);
    case kTimestampNs:
      return std::to_string(to_view_ ? to_view_(ev.trace_index, ev.timestamp)
                                     : ev.timestamp);
    case kEventType:
      return ev.cls ? ev.cls->name() : std::string();
    case kCpu:
      return ev.cpu >= 0 ? std::to_string(ev.cpu) : std::string();
    case kContents:
      return ev.FormatPayload();
    case kTrace: {
      size_t t = index_->ExperimentTraceOf(ev.trace_index);
      return t < trace_names_.size() ? trace_names_[t] : std::string();
    }
    default:
      break;
  }
  auto it = class_fields_.find(ev.cls);
  if (it == class_fields_.end()) return {};
  switch (column) {
    case kTid:
      return field_text(it->second.tid);
    case kPid:
      return field_text(it->second.pid);
    case kProcess:
      return field_text(it->second.procname);
  }
  return {};
}

bool EventsTable::Matches(const TableQuery& q, uint64_t rank,
                          const ctf::Event& ev) const {
  if (q.search.empty()) return false;
  for (const auto& [col, re] : q.search) {
    if (!re.PartialMatch(Cell(col, rank, ev))) return false;
  }
  return true;
}

StatusOr<std::optional<uint64_t>> EventsTable::SearchNext(
    const TableQuery& q, uint64_t start, uint64_t size, TablePage* page) const {
  // At most max_scan events are tested: a search over a huge trace
  // answers in bounded time and says where the client can go on.
  const uint64_t limit = start + std::min(q.max_scan, size - start);
  VMTRACE_ASSIGN_OR_RETURN(auto reader, index_->ReaderAt(start));
  ctf::Event ev;
  uint64_t r = start;
  DeadlineCheck deadline;
  for (; r < limit && reader->Next(&ev); ++r) {
    VMTRACE_RETURN_IF_ERROR(deadline.Tick());
    if (Matches(q, r, ev)) return std::optional<uint64_t>(r);
  }
  if (r == limit && limit < size) {
    page->low_index = limit;
    page->search_stopped_at = limit;
  }
  return std::optional<uint64_t>();
}

StatusOr<std::optional<uint64_t>> EventsTable::SearchPrevious(
    const TableQuery& q, uint64_t start, TablePage* page) const {
  // Walk back in chunks that start at a checkpoint: each chunk is decoded
  // forward and its last match at or before the bound wins. Chunks start
  // at one checkpoint interval (a near match is cheap) and double up to
  // kMaxChunk events, since every chunk restores a reader (a million
  // events in 512-event chunks took 10 s, in large ones 0.6 s). Only the
  // max_scan events at and before `start` are tested.
  constexpr uint64_t kMaxChunk = 65536;
  const uint64_t lowest = start + 1 > q.max_scan ? start + 1 - q.max_scan : 0;
  uint64_t bound = start;
  uint64_t chunk = 1;
  std::optional<uint64_t> found;
  ctf::Event ev;
  DeadlineCheck deadline;
  while (!found) {
    const uint64_t want = bound + 1 > chunk ? bound + 1 - chunk : 0;
    auto cp = index_->store().FloorByRank(std::max(want, lowest));
    uint64_t from = cp ? cp->rank : 0;
    VMTRACE_ASSIGN_OR_RETURN(auto reader, index_->ReaderAt(from));
    for (uint64_t r = from; r <= bound && reader->Next(&ev); ++r) {
      VMTRACE_RETURN_IF_ERROR(deadline.Tick());
      if (r >= lowest && Matches(q, r, ev)) found = r;
    }
    if (found || from <= lowest) break;
    bound = from - 1;
    chunk = std::min(chunk * 2, kMaxChunk);
  }
  if (!found && lowest > 0) {
    page->low_index = lowest - 1;
    page->search_stopped_at = lowest - 1;
  }
  return found;
}

StatusOr<TablePage> EventsTable::Fetch(const TableQuery& q) const {
  TablePage page;
  const uint64_t size = index_->Snapshot().nb_events;
  page.size = size;
  auto known = [this](int64_t id) {
    return std::any_of(columns_.begin(), columns_.end(),
                       [id](const TableColumn& c) { return c.id == id; });
  };
  if (q.column_ids.empty()) {
    for (const auto& c : columns_) page.column_ids.push_back(c.id);
  } else {
    for (int64_t id : q.column_ids) {
      if (known(id)) page.column_ids.push_back(id);
    }
  }
  for (const auto& [col, re] : q.search) {
    if (!known(col)) {
      return InvalidArgument("unknown search column " + std::to_string(col));
    }
  }

  uint64_t start = 0;
  if (q.index) {
    start = *q.index;
  } else if (q.time) {
    VMTRACE_ASSIGN_OR_RETURN(start, index_->RankAtTime(*q.time));
    if (start >= size && size > 0) start = size - 1;
  }
  page.low_index = start;
  if (size == 0 || start >= size || page.column_ids.empty() || q.count == 0) {
    return page;
  }

  if (!q.search.empty()) {
    std::optional<uint64_t> found;
    if (q.direction == TableQuery::Direction::kNext) {
      VMTRACE_ASSIGN_OR_RETURN(found, SearchNext(q, start, size, &page));
    } else if (q.direction == TableQuery::Direction::kPrevious) {
      VMTRACE_ASSIGN_OR_RETURN(found, SearchPrevious(q, start, &page));
    } else {
      found = start;
    }
    if (!found) return page;
    start = *found;
  }

  page.low_index = start;
  VMTRACE_ASSIGN_OR_RETURN(auto reader, index_->ReaderAt(start));
  ctf::Event ev;
  uint64_t end = std::min<uint64_t>(size, start + q.count);
  DeadlineCheck deadline;
  for (uint64_t r = start; r < end && reader->Next(&ev); ++r) {
    VMTRACE_RETURN_IF_ERROR(deadline.Tick());
    TableLine line;
    line.index = r;
    line.cells.reserve(page.column_ids.size());
    for (int64_t col : page.column_ids) line.cells.push_back(Cell(col, r, ev));
    if (Matches(q, r, ev)) line.tags = kHighlightTag;
    page.lines.push_back(std::move(line));
  }
  return page;
}

}  // namespace vmtrace::index
