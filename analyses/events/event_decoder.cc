#include "analyses/events/event_decoder.h"

#include <filesystem>
#include <map>

#include "analyses/events/kernel_events.h"
#include "analyses/events/kvm_events.h"
#include "analyses/events/tcp_events.h"

namespace vmtrace::events {

std::string HostName(const ctf::Trace& trace) {
  const std::string& host = trace.info().hostname;
  if (!host.empty()) return host;
  return std::filesystem::path(trace.info().path).filename().string();
}

HostMap MapHosts(const std::vector<std::shared_ptr<const ctf::Trace>>& traces) {
  HostMap m;
  std::map<std::string, uint32_t> index;
  for (const auto& t : traces) {
    std::string name = HostName(*t);
    auto [it, inserted] =
        index.emplace(name, static_cast<uint32_t>(m.names.size()));
    if (inserted) m.names.push_back(std::move(name));
    m.of_trace.push_back(it->second);
  }
  return m;
}

ClassLayout ResolveClass(const ctf::EventClass& cls) {
  ClassLayout l;
  // perf's converter writes the emitting process as a payload field
  // (perf_pid), LTTng as stream event context (pid): the VM model needs it
  // to tell which QEMU a vCPU belongs to. (perf_tid stays unread: the
  // kernel model's answers on perf traces are pinned by their golden files.)
  l.ctx_tid = ContextIndex(cls, "tid");
  if (l.ctx_tid < 0) l.ctx_tid = ContextIndex(cls, "perf_tid");
  l.ctx_pid = ContextIndex(cls, "pid");
  if (l.ctx_pid < 0) l.ctx_pid = PayloadIndex(cls, "perf_pid");
  l.ctx_procname = ContextIndex(cls, "procname");
  l.perf_cpu = ContextIndex(cls, "perf_cpu");
  if (!ResolveKvmClass(cls, &l) && !ResolveTcpClass(cls, &l)) {
    ResolveKernelClass(cls, &l);
  }
  return l;
}

EventDecoder::EventDecoder(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces)
    : hosts_(MapHosts(traces)), threads_(hosts_.names.size()) {
  for (const auto& t : traces) {
    for (const ctf::EventClass* cls : t->event_classes()) {
      layouts_.emplace(cls, ResolveClass(*cls));
    }
  }
}

const ClassLayout& EventDecoder::Layout(const ctf::EventClass* cls) {
  if (cls == last_cls_) return *last_layout_;
  auto it = layouts_.find(cls);
  if (it == layouts_.end())
    it = layouts_.emplace(cls, ResolveClass(*cls)).first;
  last_cls_ = cls;
  last_layout_ = &it->second;
  return it->second;
}

void EventDecoder::Decode(const ctf::Event& ev, TypedEvent* out) {
  const ClassLayout& l = Layout(ev.cls);
  out->ts = ev.timestamp;
  out->trace_index = ev.trace_index;
  out->host = ev.trace_index < hosts_.of_trace.size()
                  ? hosts_.of_trace[ev.trace_index]
                  : 0;
  out->kind = l.kind;
  out->ctx_tid = IntField(ev, l.ctx_tid);
  out->ctx_pid = IntField(ev, l.ctx_pid);
  pool_.Assign(TextField(ev, l.ctx_procname), &out->ctx_procname);
  int64_t cpu = ev.cpu >= 0 ? ev.cpu : Or(IntField(ev, l.perf_cpu), -1);
  out->cpu = cpu >= 0 && cpu <= INT32_MAX ? static_cast<int32_t>(cpu) : -1;
  switch (l.kind) {
    case Kind::kOther:
      break;
    case Kind::kKvmEntry:
    case Kind::kKvmExit:
    case Kind::kKvmInjVirq:
    case Kind::kKvmAcceptIrq:
    case Kind::kEnterGuest:
      DecodeKvmEvent(ev, l, out);
      break;
    case Kind::kNetSend:
    case Kind::kNetRecv:
      out->net.key = TcpKey{};
      out->net.decoded = DecodeTcpKey(ev, l, &out->net.key);
      break;
    default:
      DecodeKernelEvent(ev, l, &pool_, out);
      break;
  }
  threads_.Track(out);
}

}  // namespace vmtrace::events
