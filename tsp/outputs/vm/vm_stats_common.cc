#include "tsp/outputs/vm/vm_stats_common.h"

#include <cstdio>

#include "tsp/outputs/vm/vm_stats_providers.h"

namespace vmtrace::tsp::vmstats {

std::string Share(double num, double den) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.2f%%", den > 0 ? 100.0 * num / den : 0.0);
  return buf;
}

std::string Ns(int64_t ns) { return std::to_string(ns); }

TableColumnModel Column(int64_t id, std::string name, std::string description,
                        bool number) {
  return {id, std::move(name), std::move(description),
          number ? "NUMBER" : "STRING"};
}

}  // namespace vmtrace::tsp::vmstats

namespace vmtrace::tsp {

std::shared_ptr<const stats::EventStats> ScanOnlyEventStats(
    const storage::StateHistory* h) {
  return std::make_shared<const stats::EventStats>(h, "", "", false);
}

}  // namespace vmtrace::tsp
