#include "analyses/index/experiment_index.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <string_view>

#include "analyses/events/event_decoder.h"
#include "analyses/index/event_times.h"
#include "base/deadline.h"
#include "base/log.h"
#include "base/uuid.h"

namespace vmtrace::index {
namespace fs = std::filesystem;

std::string FingerprintTraces(const std::vector<std::string>& dirs) {
  std::string text;
  for (const auto& dir : dirs) {
    std::vector<std::string> lines;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto mtime = it->last_write_time(ec).time_since_epoch().count();
      lines.push_back(it->path().string() + "|" +
                      std::to_string(it->file_size(ec)) + "|" +
                      std::to_string(mtime));
    }
    std::sort(lines.begin(), lines.end());
    for (const auto& l : lines) text += l + "\n";
  }
  text += "format=" + std::to_string(storage::IndexMeta::kFormatVersion);
  return NameUuidFromBytes(text);
}

StatusOr<std::unique_ptr<ExperimentIndex>> ExperimentIndex::Open(
    std::vector<std::vector<std::string>> traces, std::string store_dir,
    IndexOptions options) {
  std::unique_ptr<ExperimentIndex> idx(new ExperimentIndex());
  idx->options_ = std::move(options);
  if (idx->options_.checkpoint_interval == 0) {
    idx->options_.checkpoint_interval = 1;
  }
  idx->trace_count_ = traces.size();
  std::vector<std::string> all_dirs;
  for (size_t i = 0; i < traces.size(); ++i) {
    for (const auto& dir : traces[i]) {
      VMTRACE_ASSIGN_OR_RETURN(auto trace, ctf::Trace::Open(dir));
      idx->ctf_traces_.push_back(std::move(trace));
      idx->ctf_to_trace_.push_back(i);
      all_dirs.push_back(dir);
    }
  }
  idx->fingerprint_ = FingerprintTraces(all_dirs);
  VMTRACE_ASSIGN_OR_RETURN(idx->store_, storage::IndexStore::Open(store_dir));
  idx->traces_.resize(traces.size());

  std::vector<bool> fed(idx->ctf_traces_.size(), true);
  if (idx->options_.module_traces) {
    fed = idx->options_.module_traces(idx->ctf_traces_);
    fed.resize(idx->ctf_traces_.size(), true);
  }
  for (size_t i = 0; i < idx->ctf_traces_.size(); ++i) {
    idx->module_index_.push_back(
        fed[i] ? static_cast<int32_t>(idx->module_traces_.size()) : -1);
    if (fed[i]) idx->module_traces_.push_back(idx->ctf_traces_[i]);
  }
  if (idx->options_.modules) {
    VMTRACE_ASSIGN_OR_RETURN(idx->modules_,
                             idx->options_.modules(idx->module_traces_));
  }
  bool modules_need_pass = false;
  for (const auto& m : idx->modules_) modules_need_pass |= m->needs_pass();

  auto meta = idx->store_->ReadMeta();
  if (meta && meta->complete && meta->fingerprint == idx->fingerprint_ &&
      meta->format_version == storage::IndexMeta::kFormatVersion &&
      meta->checkpoint_interval == idx->options_.checkpoint_interval &&
      meta->traces.size() == traces.size()) {
    idx->index_needs_pass_ = false;
    idx->nb_events_ = meta->nb_events;
    idx->start_ = meta->start;
    idx->end_ = meta->end;
    idx->traces_ = meta->traces;
    idx->properties_ = meta->properties;
    // The reader's messages are the pass's message: restore it as it was.
    if (auto m = meta->properties.find("reader.messages");
        m != meta->properties.end()) {
      idx->message_ = m->second;
    }
    idx->state_ = IndexState::kCompleted;
  } else {
    if (meta) {
      VMTRACE_LOG(kInfo, "index in %s is %s: rebuilding", store_dir.c_str(),
                  meta->complete ? "stale" : "incomplete (interrupted)");
    }
    storage::IndexMeta begin;
    begin.fingerprint = idx->fingerprint_;
    begin.checkpoint_interval = idx->options_.checkpoint_interval;
    VMTRACE_RETURN_IF_ERROR(idx->store_->BeginBuild(begin));
  }
  if (!idx->index_needs_pass_ && !modules_need_pass) {
    // Nothing is read: the analyses loaded from their stores report their
    // figures as after the pass that made them.
    for (const auto& m : idx->modules_) {
      for (const auto& [k, v] : m->Stats()) {
        idx->properties_[m->id() + "." + k] = v;
      }
    }
    idx->loaded_from_store_ = true;
    return idx;
  }
  idx->pass_running_ = true;
  ExperimentIndex* raw = idx.get();
  idx->thread_ = std::jthread([raw](std::stop_token st) { raw->Run(st); });
  return idx;
}

ExperimentIndex::~ExperimentIndex() { Cancel(); }

void ExperimentIndex::SetProperty(const std::string& key,
                                  const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  properties_[key] = value;
}

void ExperimentIndex::Cancel() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void ExperimentIndex::WaitUntilDone() const {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] {
    return state_ != IndexState::kRunning && !pass_running_;
  });
}

IndexSnapshot ExperimentIndex::Snapshot() const {
  IndexSnapshot s;
  std::lock_guard<std::mutex> lock(mu_);
  s.state = state_;
  s.nb_events = nb_events_;
  s.start = start_;
  s.end = end_;
  s.traces = traces_;
  s.properties = properties_;
  s.message = message_;
  s.analyses_running = pass_running_;
  return s;
}

void ExperimentIndex::Fail(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = IndexState::kFailed;
  message_ = message;
  properties_["indexing.error"] = message;
  pass_running_ = false;
  done_cv_.notify_all();
}

struct ExperimentIndex::Pass {
  std::unique_ptr<ctf::EventReader> reader;
  std::vector<AnalysisModule*> fed;
  std::unique_ptr<events::EventDecoder> decoder;
  std::unique_ptr<ModuleFeed> feed;
  bool write_index = true;
  std::vector<storage::TraceSummary> traces;
  std::vector<uint64_t> counts;
  std::vector<storage::Checkpoint> checkpoints;  // not yet written
  // The event times of the current checkpoint interval, and those of
  // complete intervals not yet written (by checkpoint rank).
  EventTimesWriter times;
  uint64_t times_rank = 0;
  std::vector<std::pair<uint64_t, std::string>> done_times;
  std::string position;  // of the next event, every `interval` events
  Status write_status;
  uint64_t rank = 0;
  int64_t last_ts = 0;
};

void ExperimentIndex::SetDone(IndexState state,
                              const std::map<std::string, std::string>& props) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == IndexState::kRunning) state_ = state;
  for (const auto& [k, v] : props) properties_[k] = v;
  pass_running_ = false;
  done_cv_.notify_all();
}

void ExperimentIndex::Run(std::stop_token stop) {
  pthread_setname_np(pthread_self(), "vmt-pass");
  Pass p;
  auto reader_or = ctf::EventReader::Open(ctf_traces_);
  if (!reader_or.ok()) {
    Fail("cannot read the trace: " + reader_or.status().message());
    return;
  }
  p.reader = std::move(reader_or).value();
  for (const auto& m : modules_) {
    if (m->needs_pass()) p.fed.push_back(m.get());
  }
  // Every event is decoded once into a typed record for all the modules.
  if (!p.fed.empty()) {
    p.decoder = std::make_unique<events::EventDecoder>(module_traces_);
  }
  p.feed = std::make_unique<ModuleFeed>(p.fed, options_.feed);
  p.write_index = index_needs_pass_;
  p.traces.resize(trace_count_);
  p.counts.assign(trace_count_, 0);
  p.checkpoints.reserve(options_.batch_size);
  // The position must be taken before Next() consumes the event it points
  // at, so it is saved every `interval` events ahead of the read.
  if (p.write_index) p.position = p.reader->SavePosition();

  const bool complete = ReadAll(stop, &p);
  if (!complete || stop.stop_requested()) {
    p.feed->Abort();
    SetDone(IndexState::kCancelled, {});
    return;
  }
  if (p.write_index && p.write_status.ok() && !p.checkpoints.empty()) {
    p.write_status = store_->Append(p.checkpoints);
  }
  if (p.write_index && p.write_status.ok() && p.rank > 0) {
    p.done_times.emplace_back(p.times_rank, p.times.Take());
    p.write_status = store_->AppendTimes(p.done_times);
  }
  if (!p.write_status.ok()) {
    p.feed->Abort();
    Fail("cannot write the index: " + p.write_status.message());
    return;
  }
  const auto module_props = FinishModules(&p);
  if (!p.write_index) {
    SetDone(IndexState::kCompleted, module_props);  // the index was loaded
    return;
  }
  FinishIndex(&p, module_props);
}

bool ExperimentIndex::ReadAll(std::stop_token stop, Pass* p) {
  const uint64_t interval = options_.checkpoint_interval;
  const uint64_t publish = std::max<uint64_t>(1, options_.publish_interval);
  ctf::Event ev;
  while (p->reader->Next(&ev)) {
    if (p->write_index && p->rank % interval == 0) {
      if (p->rank > 0) {
        p->done_times.emplace_back(p->times_rank, p->times.Take());
      }
      p->times.Begin(ev.timestamp);
      p->times_rank = p->rank;
      p->checkpoints.push_back(
          {p->rank, ev.timestamp, p->counts, std::move(p->position)});
      if (p->checkpoints.size() >= options_.batch_size || p->rank == 0) {
        p->write_status = store_->Append(p->checkpoints);
        if (p->write_status.ok()) {
          p->write_status = store_->AppendTimes(p->done_times);
        }
        if (!p->write_status.ok()) return true;
        p->checkpoints.clear();
        p->done_times.clear();
      }
      // Publish per-trace progress at checkpoint granularity.
      std::lock_guard<std::mutex> lock(mu_);
      traces_ = p->traces;
    }
    if (p->rank % publish == 0) {
      if (stop.stop_requested()) return false;
      if (p->rank > 0) p->feed->Publish(p->last_ts);
    }
    if (p->decoder) {
      const int32_t m = module_index_[ev.trace_index];
      if (m == static_cast<int32_t>(ev.trace_index)) {
        p->decoder->Decode(ev, p->feed->Slot());
        p->feed->Commit();
      } else if (m >= 0) {  // traces before it are not fed: renumber
        ctf::Event fed = ev;
        fed.trace_index = static_cast<uint32_t>(m);
        p->decoder->Decode(fed, p->feed->Slot());
        p->feed->Commit();
      }
    }
    p->last_ts = ev.timestamp;
    if (p->write_index) IndexEvent(ev, p);
    ++p->rank;
    if (p->write_index) {
      nb_events_.store(p->rank, std::memory_order_release);
      if (p->rank % interval == 0) p->position = p->reader->SavePosition();
    }
  }
  return true;
}

void ExperimentIndex::IndexEvent(const ctf::Event& ev, Pass* p) {
  const size_t t = ctf_to_trace_[ev.trace_index];
  storage::TraceSummary& s = p->traces[t];
  if (s.nb_events == 0) s.start = ev.timestamp;
  s.end = ev.timestamp;
  ++s.nb_events;
  ++p->counts[t];
  p->times.Add(ev.timestamp, uint32_t(t), trace_count_ > 1);
  // Relaxed: readers see them through nb_events_'s release store.
  if (p->rank == 0) start_.store(ev.timestamp, std::memory_order_relaxed);
  end_.store(ev.timestamp, std::memory_order_relaxed);
}

std::map<std::string, std::string> ExperimentIndex::FinishModules(Pass* p) {
  // Analyses end at the experiment's end, so every open state is closed
  // there (the index may have been loaded, hence end_ rather than last_ts).
  std::map<std::string, std::string> props;
  const std::vector<Status> finished = p->feed->Finish(end_.load());
  for (size_t i = 0; i < p->fed.size(); ++i) {
    if (!finished[i].ok()) {
      props["analysis." + p->fed[i]->id() + ".error"] = finished[i].message();
    }
  }
  for (const auto& m : modules_) {
    for (const auto& [k, v] : m->Stats()) props[m->id() + "." + k] = v;
  }
  return props;
}

void ExperimentIndex::FinishIndex(
    Pass* p, const std::map<std::string, std::string>& module_props) {
  const ctf::ReaderStats& st = p->reader->stats();
  std::map<std::string, std::string> props;
  auto note = [&props](const char* key, uint64_t v) {
    if (v) props[std::string("reader.") + key] = std::to_string(v);
  };
  note("overlapping_packets", st.overlapping_packets);
  note("truncated_packets", st.truncated_packets);
  note("decode_errors", st.decode_errors);
  note("discarded_events", st.discarded_events);
  for (const ctf::StreamDiscards& d : st.discarded_by_stream) {
    const std::string key = DiscardedEventsKey(
        {d.trace_index, d.cpu, d.cpu < 0 ? d.stream_index : 0, d.count});
    const uint64_t before =
        props.count(key) ? std::stoull(props[key]) : uint64_t{0};
    props[key] = std::to_string(before + d.count);
  }
  note("unordered_events", st.unordered_events);
  note("unread_files", st.unread_files);
  note("time_overflows", st.time_overflows);
  std::string message;
  for (const auto& m : st.messages)
    message += (message.empty() ? "" : "; ") + m;
  if (st.unread_files) {
    props["indexing.partial"] =
        "true: " + std::to_string(st.unread_files) +
        " stream file(s) could not be read (see reader.messages)";
  } else if (st.truncated_packets || st.decode_errors) {
    props["indexing.partial"] =
        "true: every event before the damage was indexed";
  }
  if (!message.empty()) props["reader.messages"] = message;

  storage::IndexMeta meta;
  meta.fingerprint = fingerprint_;
  meta.complete = true;
  meta.nb_events = p->rank;
  meta.start = start_;
  meta.end = end_;
  meta.checkpoint_interval = options_.checkpoint_interval;
  meta.traces = p->traces;
  meta.properties = props;
  Status fin = store_->Finish(meta);
  std::lock_guard<std::mutex> lock(mu_);
  traces_ = p->traces;
  properties_ = props;
  for (const auto& [k, v] : module_props) properties_[k] = v;
  message_ = message;
  if (!fin.ok()) {
    state_ = IndexState::kFailed;
    message_ = "cannot finish the index: " + fin.message();
  } else {
    state_ = IndexState::kCompleted;
  }
  pass_running_ = false;
  done_cv_.notify_all();
}

StatusOr<std::unique_ptr<ctf::EventReader>> ExperimentIndex::ReaderFrom(
    const storage::Checkpoint& cp) const {
  VMTRACE_ASSIGN_OR_RETURN(auto reader, ctf::EventReader::Open(ctf_traces_));
  VMTRACE_RETURN_IF_ERROR(reader->RestorePosition(cp.position));
  return reader;
}

StatusOr<std::unique_ptr<ctf::EventReader>> ExperimentIndex::ReaderAt(
    uint64_t rank) const {
  if (rank >= nb_events_.load(std::memory_order_acquire)) {
    return InvalidArgument("rank " + std::to_string(rank) +
                           " is past the indexed events");
  }
  auto cp = store_->FloorByRank(rank);
  if (!cp) return Internal("no checkpoint at or before rank 0");
  VMTRACE_ASSIGN_OR_RETURN(auto reader, ReaderFrom(*cp));
  ctf::Event ev;
  for (uint64_t r = cp->rank; r < rank; ++r) {
    if (!reader->Next(&ev)) return DataLoss("trace shorter than its index");
  }
  return reader;
}

StatusOr<uint64_t> ExperimentIndex::RankAtTime(int64_t t) const {
  std::vector<std::vector<uint64_t>> counts;
  VMTRACE_RETURN_IF_ERROR(CountsBefore({t}, &counts));
  uint64_t total = 0;
  for (uint64_t c : counts[0]) total += c;
  return total;
}

Status ExperimentIndex::CountsBefore(
    const std::vector<int64_t>& times,
    std::vector<std::vector<uint64_t>>* out) const {
  const uint64_t limit = nb_events_.load(std::memory_order_acquire);
  out->assign(times.size(), std::vector<uint64_t>(trace_count_, 0));
  // A cursor decoding forward; restored from a checkpoint only when the next
  // boundary is further than the next checkpoint, so dense boundaries cost
  // one sequential read and sparse ones one checkpoint each.
  std::unique_ptr<ctf::EventReader> reader;
  uint64_t rank = 0;
  std::vector<uint64_t> counts(trace_count_, 0);
  bool have_next = false;
  int64_t next_ts = 0;
  uint32_t next_trace = 0;
  ctf::Event ev;
  DeadlineCheck deadline;
  for (size_t i = 0; i < times.size(); ++i) {
    int64_t t = times[i];
    if (limit == 0) continue;
    auto cp = store_->LastBeforeTime(t);
    // A complete interval's event times answer without decoding the trace.
    if (cp && cp->rank < limit) {
      if (auto blob = store_->Times(cp->rank)) {
        std::vector<uint64_t> c = cp->trace_counts;
        c.resize(trace_count_, 0);
        if (CountEventsBefore(*blob, cp->timestamp, trace_count_ > 1, t, &c)) {
          (*out)[i] = std::move(c);
          continue;
        }
      }
    }
    bool restore = !reader || (cp && cp->rank > rank);
    if (restore) {
      if (!cp) cp = store_->FloorByRank(0);
      if (!cp) return Internal("index has no first checkpoint");
      if (cp->rank >= limit) cp = store_->FloorByRank(limit - 1);
      if (reader) {
        // Reuse the open reader: a restore is a few seeks, an open is not.
        VMTRACE_RETURN_IF_ERROR(reader->RestorePosition(cp->position));
      } else {
        VMTRACE_ASSIGN_OR_RETURN(reader, ReaderFrom(*cp));
      }
      rank = cp->rank;
      counts = cp->trace_counts;
      counts.resize(trace_count_, 0);
      have_next = false;
    }
    while (rank < limit) {
      VMTRACE_RETURN_IF_ERROR(deadline.Tick());
      if (!have_next) {
        if (!reader->Next(&ev)) break;
        have_next = true;
        next_ts = ev.timestamp;
        next_trace = ev.trace_index;
      }
      if (next_ts >= t) break;
      ++counts[ctf_to_trace_[next_trace]];
      ++rank;
      have_next = false;
    }
    (*out)[i] = counts;
  }
  return Status::Ok();
}

}  // namespace vmtrace::index

namespace vmtrace::index {

std::string DiscardedEventsKey(const DiscardedEvents& d) {
  return "reader.discarded_events." + std::to_string(d.ctf_trace) +
         (d.cpu >= 0 ? ".cpu" + std::to_string(d.cpu)
                     : ".stream" + std::to_string(d.stream));
}

std::vector<DiscardedEvents> DiscardedEventsOf(
    const std::map<std::string, std::string>& properties) {
  static constexpr std::string_view kPrefix = "reader.discarded_events.";
  std::vector<DiscardedEvents> out;
  for (auto it = properties.lower_bound(std::string(kPrefix));
       it != properties.end() && it->first.rfind(kPrefix, 0) == 0; ++it) {
    // Parsed without throwing: a damaged store loses the line, nothing else.
    std::string_view rest = std::string_view(it->first).substr(kPrefix.size());
    DiscardedEvents d;
    const char* end = rest.data() + rest.size();
    auto [p, ec] = std::from_chars(rest.data(), end, d.ctf_trace);
    if (ec != std::errc() || p == end || *p != '.') continue;
    std::string_view tail(p + 1, size_t(end - p - 1));
    uint64_t n = 0;
    bool cpu = tail.rfind("cpu", 0) == 0;
    if (!cpu && tail.rfind("stream", 0) != 0) continue;
    tail.remove_prefix(cpu ? 3 : 6);
    auto [q, ec2] = std::from_chars(tail.data(), tail.data() + tail.size(), n);
    if (ec2 != std::errc() || q != tail.data() + tail.size()) continue;
    auto [r, ec3] = std::from_chars(
        it->second.data(), it->second.data() + it->second.size(), d.count);
    if (ec3 != std::errc()) continue;
    if (cpu) {
      d.cpu = int64_t(n);
    } else {
      d.stream = uint32_t(n);
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace vmtrace::index
