// Resources: one row per CPU of each host, with its IRQ and soft IRQ rows.
#include <algorithm>

#include "analyses/kernel/kernel_model.h"
#include "tsp/outputs/kernel/kernel_providers.h"
#include "tsp/outputs/state_rows.h"
#include "tsp/outputs/tree_cache.h"

namespace vmtrace::tsp {
namespace {

using storage::Quark;
using storage::StateHistory;

enum class RowKind { kNone, kCpu, kIrq, kSoftIrq };

// Linux softirq vectors, for labels.
const char* SoftIrqName(int64_t vec) {
  static const char* kNames[] = {"HI",      "TIMER",    "NET_TX",  "NET_RX",
                                 "BLOCK",   "IRQ_POLL", "TASKLET", "SCHED",
                                 "HRTIMER", "RCU"};
  return vec >= 0 && vec < 10 ? kNames[vec] : "?";
}

int64_t NumericName(const StateHistory& h, Quark q) {
  return strtoll(h.Name(q).c_str(), nullptr, 10);
}

class ResourcesProvider : public TimeGraphProvider {
 public:
  explicit ResourcesProvider(const kernel::KernelModule* k) : k_(k) {}

  OutputDescriptor descriptor() const override {
    return {kResourcesId, "Resources",
            "Every CPU of every host over time (idle, user mode, system call, "
            "IRQ, soft IRQ) with its IRQ and soft IRQ rows",
            "TIME_GRAPH"};
  }

  StatusOr<TreeModel> Tree(int64_t start, int64_t end) const override {
    return cache_.Get(k_->history().complete(), start, end,
                      [this](int64_t s, int64_t e) { return Compute(s, e); });
  }

  // Every entry spans the request.
  StatusOr<TreeModel> Compute(int64_t start, int64_t end) const {
    const StateHistory& h = k_->history();
    TreeModel m;
    m.headers = {"Resource"};
    for (Quark host : h.Children(storage::kRootQuark)) {
      m.entries.push_back(
          {int64_t(host), -1, {h.Name(host)}, false, false, start, end});
      m.entries.back().host = h.Name(host);
      auto cpus = h.Child(host, "CPUs");
      if (!cpus) continue;
      auto sorted = [&h](std::vector<Quark> v) {
        std::sort(v.begin(), v.end(), [&h](Quark a, Quark b) {
          return NumericName(h, a) < NumericName(h, b);
        });
        return v;
      };
      for (Quark cpu : sorted(h.Children(*cpus))) {
        m.entries.push_back({int64_t(cpu),
                             int64_t(host),
                             {"CPU " + h.Name(cpu)},
                             true,
                             false,
                             start,
                             end});
        if (auto irqs = h.Child(cpu, "IRQs")) {
          for (Quark irq : sorted(h.Children(*irqs))) {
            m.entries.push_back({int64_t(irq),
                                 int64_t(cpu),
                                 {"IRQ " + h.Name(irq)},
                                 true,
                                 false,
                                 start,
                                 end});
          }
        }
        if (auto sirqs = h.Child(cpu, "Soft_IRQs")) {
          for (Quark s : sorted(h.Children(*sirqs))) {
            int64_t vec = NumericName(h, s);
            m.entries.push_back(
                {int64_t(s),
                 int64_t(cpu),
                 {"Soft IRQ " + h.Name(s) + " " + SoftIrqName(vec)},
                 true,
                 false,
                 start,
                 end});
          }
        }
      }
    }
    TreeCache::SpanRequest(&m);
    return m;
  }

  StatusOr<RowsModel> States(const std::vector<int64_t>& times,
                             const std::vector<int64_t>& items) const override {
    return SampledRows(
        k_->history(), times, items,
        [this](int64_t id) { return Kind(id) != RowKind::kNone; },
        [this](Quark q, int64_t v) { return StyleOf(Kind(q), v); });
  }

  StatusOr<std::map<std::string, std::string>> Tooltip(
      int64_t item, int64_t time) const override {
    const StateHistory& h = k_->history();
    std::map<std::string, std::string> out;
    RowKind kind = Kind(item);
    if (kind == RowKind::kNone) return out;
    Quark q = Quark(item);
    auto r = h.QuerySampled({q}, {time});
    if (!r.ok() || r->empty() || r->front().value.is_null()) return out;
    int64_t v = r->front().value.i;
    if (kind == RowKind::kCpu) {
      out["CPU"] = h.Name(q);
      out["Status"] = kernel::CpuStatusName(v);
      if (auto cur = h.Child(q, "Current_thread")) {
        auto c = h.QuerySampled({*cur}, {time});
        if (c.ok() && !c->empty() && !c->front().value.is_null()) {
          out["Current thread"] = std::to_string(c->front().value.i);
        }
      }
    } else if (kind == RowKind::kIrq) {
      out["IRQ"] = h.Name(q);
      out["Status"] = "Active";
    } else {
      out["Soft IRQ"] = h.Name(q) + " " + SoftIrqName(NumericName(h, q));
      out["Status"] = v == kernel::kSoftIrqRaised ? "Raised" : "Active";
    }
    return out;
  }

  StyleMap Styles() const override {
    auto s = [](const char* name, const char* color, double height) {
      return nlohmann::json{{"style-name", name},
                            {"background-color", color},
                            {"height", height}};
    };
    return {{"cpu0", s("Idle", "#E6E6E6", 0.3)},
            {"cpu1", s("User mode", "#00C800", 1.0)},
            {"cpu2", s("System call", "#0000C8", 1.0)},
            {"cpu3", s("IRQ", "#C80064", 1.0)},
            {"cpu4", s("Soft IRQ", "#C89600", 1.0)},
            {"irq", s("IRQ active", "#C80064", 1.0)},
            {"softirq1", s("Soft IRQ active", "#C89600", 1.0)},
            {"softirq2", s("Soft IRQ raised", "#FFDC64", 0.5)}};
  }

 private:
  static std::string StyleOf(RowKind kind, int64_t v) {
    switch (kind) {
      case RowKind::kCpu:
        return "cpu" + std::to_string(v);
      case RowKind::kIrq:
        return "irq";
      case RowKind::kSoftIrq:
        return "softirq" + std::to_string(v);
      case RowKind::kNone:
        break;
    }
    return "";
  }

  // <host>/CPUs/<n>, <host>/CPUs/<n>/IRQs/<i>, <host>/CPUs/<n>/Soft_IRQs/<v>
  RowKind Kind(int64_t id) const {
    const StateHistory& h = k_->history();
    if (id <= 0 || id >= int64_t(h.AttributeCount())) return RowKind::kNone;
    Quark q = Quark(id);
    Quark p = h.Parent(q);
    if (p == storage::kRootQuark) return RowKind::kNone;
    std::string pn = h.Name(p);
    if (pn == "CPUs" && h.Parent(h.Parent(p)) == storage::kRootQuark) {
      return RowKind::kCpu;
    }
    if (pn == "IRQs" || pn == "Soft_IRQs") {
      Quark cpu = h.Parent(p);
      if (h.Name(h.Parent(cpu)) != "CPUs") return RowKind::kNone;
      return pn == "IRQs" ? RowKind::kIrq : RowKind::kSoftIrq;
    }
    return RowKind::kNone;
  }

  const kernel::KernelModule* k_;
  TreeCache cache_;
};

}  // namespace

std::unique_ptr<TimeGraphProvider> MakeResourcesProvider(
    const kernel::KernelModule* kernel) {
  return std::make_unique<ResourcesProvider>(kernel);
}

}  // namespace vmtrace::tsp
