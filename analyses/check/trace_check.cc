#include "analyses/check/trace_check.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "analyses/events/class_layout.h"
#include "analyses/events/event_decoder.h"

namespace vmtrace::check {
namespace {

using events::Kind;

std::string Unquoted(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Number(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string ClockText(const HostFacts& h) {
  std::vector<std::string> parts;
  for (const ClockFacts& c : h.clocks) {
    parts.push_back("clock " + (c.name.empty() ? "(none)" : c.name) +
                    ", offset " + std::to_string(c.offset_ns) + " ns, " +
                    std::to_string(c.freq) + " Hz");
  }
  // Traces of one host with the same clock say it once.
  parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
  return Join(parts, "; ");
}

// Lost events fix: larger per-CPU buffers (scripts/record.sh's knobs).
std::string LostFix(bool perf) {
  return perf ? "PERF_MMAP_PAGES=8192 scripts/record.sh perf (a 32 MiB "
                "buffer per CPU), or record fewer events"
              : "SUBBUF_SIZE=4M NUM_SUBBUF=16 scripts/record.sh lttng "
                "(lttng enable-channel --kernel --subbuf-size=4M "
                "--num-subbuf=16), or record fewer events";
}

const sync::HostClock* FindClock(const sync::ClockSync& c,
                                 const std::string& host) {
  for (const auto& h : c.hosts()) {
    if (h.host == host) return &h;
  }
  return nullptr;
}

constexpr char kAlignFix[] =
    "record the hosts at the same time while they exchange TCP traffic "
    "(scripts/record.sh lttng on each, with the network events)";

constexpr char kGuestTrace[] = "Guest trace";
constexpr char kGuestFix[] =
    "add the guest trace to an experiment with the host trace recorded at "
    "the same time (scripts/record.sh lttng, with addons_vcpu_enter_guest "
    "and kvm_write_tsc_offset); in the guest: lttng enable-event -k "
    "sched_switch,sched_process_fork,sched_process_exec,'lttng_statedump_*'";

// A guest trace is never analysed as a host: its line says whether it named
// a VM's processes, and if not, why (the host views are the same either way).
void AddGuestTraceLines(const CheckInput& in, CheckReport* rep) {
  rep->guest_traces = in.guest_traces.size();
  if (!in.guest_reports) {
    for (const std::string& name : in.guest_traces) {
      rep->lines.push_back({kGuestTrace, name, "pending",
                            "mapped onto the VMs' CR3s after the pass", ""});
    }
    return;
  }
  for (const vm::GuestTraceReport& r : *in.guest_reports) {
    // Summary() starts with the trace's name, which is the line's host.
    std::string summary = r.Summary();
    if (summary.rfind(r.trace + ": ", 0) == 0) {
      summary.erase(0, r.trace.size() + 2);
    }
    if (!r.used) {
      rep->lines.push_back(
          {kGuestTrace, r.trace, "unavailable", summary, kGuestFix});
      continue;
    }
    ++rep->guest_traces_used;
    const bool doubtful = r.conflicts > 0 || !r.problems.empty();
    rep->lines.push_back(
        {kGuestTrace, r.trace, doubtful ? "warning" : "ok", summary, ""});
  }
}

}  // namespace

const char* AvailabilityName(Availability a) {
  switch (a) {
    case Availability::kAvailable:
      return "available";
    case Availability::kPartial:
      return "partial";
    case Availability::kUnavailable:
      return "unavailable";
    case Availability::kNotApplicable:
      return "not applicable";
  }
  return "unavailable";
}

std::vector<HostFacts> HostFactsOf(
    const std::vector<std::shared_ptr<const ctf::Trace>>& traces) {
  const events::HostMap hosts = events::MapHosts(traces);
  std::vector<HostFacts> out(hosts.names.size());
  // A property holds when every class of its kinds has it (and one exists).
  struct Props {
    int kvm_seen = 0, kvm_pid = 0, net_seen = 0, net_tcp = 0, guest_seen = 0,
        guest_cr3 = 0;
  };
  std::vector<Props> props(out.size());
  for (size_t i = 0; i < traces.size(); ++i) {
    const ctf::Trace& t = *traces[i];
    HostFacts& h = out[hosts.of_trace[i]];
    Props& p = props[hosts.of_trace[i]];
    h.host = hosts.names[hosts.of_trace[i]];
    const auto tracer = t.info().env.find("tracer_name");
    if (tracer != t.info().env.end() && Unquoted(tracer->second) == "perf") {
      h.perf = true;
    }
    h.clocks.push_back({t.info().path, Unquoted(t.info().clock_name),
                        t.info().clock_offset_ns, t.info().clock_freq});
    for (const ctf::EventClass* cls : t.event_classes()) {
      const events::ClassLayout l = events::ResolveClass(*cls);
      if (l.kind == Kind::kOther) continue;
      h.kinds.insert(l.kind);
      if (l.kind == Kind::kKvmEntry || l.kind == Kind::kKvmExit) {
        ++p.kvm_seen;
        p.kvm_pid += l.ctx_pid >= 0;
      } else if (l.kind == Kind::kNetSend || l.kind == Kind::kNetRecv) {
        ++p.net_seen;
        p.net_tcp += (l.a >= 0 && l.b >= 0 && l.c >= 0) || l.tcp_header >= 0;
      } else if (l.kind == Kind::kEnterGuest) {
        ++p.guest_seen;
        p.guest_cr3 += l.b >= 0;
      }
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const Props& p = props[i];
    out[i].kvm_pid = p.kvm_seen > 0 && p.kvm_pid == p.kvm_seen;
    out[i].tcp_fields = p.net_seen > 0 && p.net_tcp == p.net_seen;
    out[i].guest_cr3 = p.guest_seen > 0 && p.guest_cr3 == p.guest_seen;
  }
  return out;
}

bool Satisfied(const HostFacts& facts, const EventGroup& group) {
  for (Kind k : group.kinds) {
    if (!facts.kinds.count(k)) return false;
  }
  switch (group.extra) {
    case Extra::kNone:
      return true;
    case Extra::kKvmPid:
      return facts.kvm_pid;
    case Extra::kTcpFields:
      return facts.tcp_fields;
    case Extra::kGuestCr3:
      return facts.guest_cr3;
  }
  return false;
}

std::string FixFor(const EventGroup& group, bool perf) {
  const std::string lttng_cmd =
      std::string(group.extra == Extra::kKvmPid
                      ? "lttng add-context --kernel "
                      : "lttng enable-event --kernel ") +
      std::string(group.lttng);
  std::string lttng = "scripts/record.sh lttng (" + lttng_cmd + ")";
  if (!group.lttng_needs.empty()) {
    lttng += "; needs " + std::string(group.lttng_needs);
  }
  if (!perf) return lttng;
  if (!group.perf.empty()) {
    std::string fix = "scripts/record.sh perf (perf record -e " +
                      std::string(group.perf) + ")";
    if (!group.perf_needs.empty()) {
      fix += "; needs " + std::string(group.perf_needs);
    }
    return fix;
  }
  if (group.perf_needs.empty()) return lttng;
  return std::string(group.perf_needs) + ": " + lttng;
}

std::string CheckReport::Summary() const {
  std::string s = std::to_string(available) + " of " +
                  std::to_string(applicable) + " analyses available";
  if (partial) s += " (" + std::to_string(partial) + " partial)";
  s += "; " + std::to_string(gaps) + (gaps == 1 ? " gap" : " gaps");
  if (lost_events) s += "; " + std::to_string(lost_events) + " events lost";
  if (guest_traces) {
    s += "; " + std::to_string(guest_traces_used) + " of " +
         std::to_string(guest_traces) + " guest traces used";
  }
  return s;
}

std::map<std::string, std::string> CheckReport::Properties() const {
  std::map<std::string, std::string> p;
  p["check.summary"] = Summary();
  for (const AnalysisResult& r : analyses) {
    std::string v = AvailabilityName(r.status);
    if (!r.reasons.empty()) v += ": " + Join(r.reasons, "; ");
    std::vector<std::string> fixes = r.fixes;
    std::sort(fixes.begin(), fixes.end());
    fixes.erase(std::unique(fixes.begin(), fixes.end()), fixes.end());
    fixes.erase(std::remove(fixes.begin(), fixes.end(), ""), fixes.end());
    if (!fixes.empty()) v += ". Fix: " + Join(fixes, "; ");
    p["check." + std::string(r.spec->id)] = v;
  }
  for (const CheckLine& l : lines) {
    if ((l.analysis == "Clock" || l.analysis == "Clock sync") &&
        l.status != AvailabilityName(Availability::kNotApplicable)) {
      std::string& c = p["check.clock." + l.host];
      c += (c.empty() ? "" : "; ") + l.reason;
    }
  }
  p["check.lost_events"] = lost_summary;
  for (const CheckLine& l : lines) {
    if (l.analysis != kGuestTrace) continue;
    std::string v = l.status + ": " + l.reason;
    if (!l.fix.empty()) v += ". Fix: " + l.fix;
    p["check.guest_trace." + l.host] = v;
  }
  return p;
}

CheckReport RunCheck(const CheckInput& in) {
  CheckReport rep;
  const bool multi = in.hosts.size() >= 2;
  rep.final = in.pass_done && (!multi || in.clocks != nullptr) &&
              (in.guest_traces.empty() || in.guest_reports != nullptr);
  for (const AnalysisSpec& spec : Analyses()) {
    AnalysisResult r;
    r.spec = &spec;
    const std::string name(spec.name);
    if (spec.multi_host && !multi) {
      r.status = Availability::kNotApplicable;
      rep.lines.push_back({name, in.hosts.empty() ? "" : in.hosts[0].host,
                           AvailabilityName(r.status),
                           "one host: its own clock is used", ""});
      rep.analyses.push_back(std::move(r));
      continue;
    }
    ++rep.applicable;
    std::vector<CheckLine> gaps;
    size_t hosts_ok = 0;
    Availability best = Availability::kUnavailable;
    Availability worst = Availability::kAvailable;
    for (const HostFacts& h : in.hosts) {
      Availability hs = Availability::kAvailable;
      std::vector<const Need*> missing;
      for (const Need& n : spec.needs) {
        if (!Satisfied(h, *n.group)) missing.push_back(&n);
      }
      // A required group missing: the optional ones do not matter there.
      const bool blocked =
          std::any_of(missing.begin(), missing.end(),
                      [](const Need* n) { return n->required; });
      for (const Need* n : missing) {
        if (blocked && !n->required) continue;
        hs = std::max(hs, n->required ? Availability::kUnavailable
                                      : Availability::kPartial);
        const std::string fix = FixFor(*n->group, h.perf);
        gaps.push_back(
            {name, h.host,
             AvailabilityName(n->required ? Availability::kUnavailable
                                          : Availability::kPartial),
             std::string(n->group->id) + " missing: " + std::string(n->lost),
             fix});
        r.reasons.push_back((multi ? h.host + ": " : "") +
                            std::string(n->group->id) + " missing");
        r.fixes.push_back(fix);
      }
      hosts_ok += hs != Availability::kUnavailable;
      best = std::min(best, hs);
      worst = std::max(worst, hs);
    }
    if (in.hosts.empty()) best = Availability::kUnavailable;
    r.status = best;
    if (spec.multi_host) {
      // Aligning needs every host: a host that cannot be aligned makes it
      // partial, fewer than two that can make it unavailable.
      r.status = hosts_ok < 2 ? Availability::kUnavailable : worst;
      if (r.status == Availability::kAvailable ||
          r.status == Availability::kPartial) {
        if (in.clocks) {
          size_t absent = 0;
          for (const HostFacts& h : in.hosts) {
            const sync::HostClock* c = FindClock(*in.clocks, h.host);
            if (!c || c->quality == "absent") ++absent;
          }
          if (absent) {
            r.status = absent + 1 >= in.hosts.size()
                           ? Availability::kUnavailable
                           : Availability::kPartial;
            r.reasons.push_back(
                std::to_string(absent) +
                " host(s) without a TCP exchange with the others: they "
                "cannot be aligned");
            r.fixes.push_back(kAlignFix);
          }
        }
      }
    }
    rep.gaps += gaps.size();
    std::string reason = r.status == Availability::kAvailable
                             ? "feeds " + std::string(spec.shows)
                         : r.status == Availability::kUnavailable
                             ? "cannot run: " + Join(r.reasons, "; ")
                             : "runs without: " + Join(r.reasons, "; ");
    rep.lines.push_back({name,
                         multi              ? "all hosts"
                         : in.hosts.empty() ? ""
                                            : in.hosts[0].host,
                         AvailabilityName(r.status), reason, ""});
    for (auto& g : gaps) rep.lines.push_back(std::move(g));
    if (r.status != Availability::kUnavailable) ++rep.available;
    if (r.status == Availability::kPartial) ++rep.partial;
    rep.analyses.push_back(std::move(r));
  }

  // Lost events, per host and CPU (streams of one CPU summed).
  if (!in.pass_done) {
    rep.lost_summary =
        "pending: counted from the packet headers during the pass";
    rep.lines.push_back({"Lost events", "", "pending",
                         "counted from the packet headers during the pass",
                         ""});
  } else if (in.lost.empty()) {
    rep.lost_summary = "none reported by the packet headers";
    rep.lines.push_back({"Lost events", "", "ok", rep.lost_summary, ""});
  } else {
    std::vector<std::string> where;
    for (const LostEvents& l : in.lost) {
      where.push_back(l.host + " " +
                      (l.cpu >= 0 ? "CPU " + std::to_string(l.cpu)
                                  : "stream " + std::to_string(l.stream)) +
                      ": " + std::to_string(l.count));
      rep.lost_events += l.count;
      bool perf = false;
      for (const HostFacts& h : in.hosts) perf |= h.host == l.host && h.perf;
      rep.lines.push_back(
          {"Lost events", l.host, "warning",
           std::to_string(l.count) + " events lost on " +
               (l.cpu >= 0 ? "CPU " + std::to_string(l.cpu)
                           : "stream " + std::to_string(l.stream)) +
               " (" + l.trace_path +
               "): states and paths around the loss may be wrong",
           LostFix(perf)});
    }
    rep.lost_summary =
        std::to_string(rep.lost_events) + " events lost: " + Join(where, ", ");
  }

  // Clocks: each trace's from its metadata; with several hosts, each
  // host's correction to the reference host.
  for (const HostFacts& h : in.hosts) {
    rep.lines.push_back({"Clock", h.host, "ok", ClockText(h), ""});
  }
  if (multi) {
    for (const HostFacts& h : in.hosts) {
      if (!in.clocks) {
        rep.lines.push_back({"Clock sync", h.host, "pending",
                             "fitted from the TCP packets at the end of the "
                             "pass",
                             ""});
        continue;
      }
      const sync::HostClock* c = FindClock(*in.clocks, h.host);
      if (!c || c->quality == "absent") {
        rep.lines.push_back({"Clock sync", h.host, "unavailable",
                             "no TCP exchange found: hosts cannot be aligned "
                             "(times stay in this host's own clock)",
                             kAlignFix});
      } else if (c->quality == "reference") {
        rep.lines.push_back({"Clock sync", h.host, "available",
                             "reference clock of the experiment", ""});
      } else {
        rep.lines.push_back(
            {"Clock sync", h.host,
             c->quality == "accurate" ? "available" : "partial",
             "offset " + Number(c->offset_ns, "%.0f") + " ns, accuracy " +
                 Number(c->accuracy_ns, "%.0f") + " ns, slope " +
                 Number(c->slope, "%.9f") + ", " + c->quality + ", " +
                 std::to_string(c->pairs) + " messages",
             ""});
      }
    }
  }
  AddGuestTraceLines(in, &rep);
  return rep;
}

}  // namespace vmtrace::check
