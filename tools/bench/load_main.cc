// vmtrace-load: a mixed-load client for a running vmtrace-server.
//
//   vmtrace-load --port N [--clients 32] [--seconds 60] [--health-ms 20]
//
// Picks the server's first experiment (waits until it is indexed), reads
// the trees of Thread Status, Resources and CPU Usage, then runs `clients`
// threads, each on its own keep-alive connection, looping over heavy
// queries (time-graph states of every thread or CPU row, XY of the
// histogram and of CPU usage, a 500-line table page at a varying index, the
// trees), plus one /health poller on its own connection. Prints Markdown:
// requests/s, errors by status, p50/p99/max latency of the heavy queries
// and of /health. Timing is measured by the client: loopback, shared cores.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr char kApi[] = "/tsp/api";
constexpr char kHistogramId[] =
    "org.eclipse.tracecompass.internal.tmf.core.histogram."
    "HistogramDataProvider";
constexpr char kTableId[] =
    "org.eclipse.tracecompass.internal.provisional.tmf.core.model.events."
    "TmfEventTableDataProvider";

struct Stats {
  std::mutex mu;
  std::vector<double> ms;
  std::map<int, int> errors;  // status (0: no reply) -> count
  void Add(double m, int status) {
    std::lock_guard<std::mutex> lock(mu);
    ms.push_back(m);
    if (status != 200) ++errors[status];
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}

std::unique_ptr<httplib::Client> Connect(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_keep_alive(true);
  c->set_read_timeout(120, 0);
  c->set_connection_timeout(10, 0);
  return c;
}

Json Ids(httplib::Client& c, const std::string& path) {
  auto r = c.Post((std::string(kApi) + path).c_str(), R"({"parameters":{}})",
                  "application/json");
  Json ids = Json::array();
  if (!r || r->status != 200) {
    fprintf(stderr, "vmtrace-load: %s failed\n", path.c_str());
    exit(1);
  }
  const Json tree = Json::parse(r->body);
  for (const Json& e : tree["model"]["entries"]) ids.push_back(e["id"]);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080, clients = 32, seconds = 60, health_ms = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = atoi(argv[i + 1]);
    if (a == "--port")
      port = v;
    else if (a == "--clients")
      clients = v;
    else if (a == "--seconds")
      seconds = v;
    else if (a == "--health-ms")
      health_ms = v;
    else {
      fprintf(stderr, "vmtrace-load: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto setup = Connect(port);
  std::string exp;
  Json info;
  for (int tries = 0;; ++tries) {
    auto r = setup->Get((std::string(kApi) + "/experiments").c_str());
    if (r && r->status == 200) {
      Json list = Json::parse(r->body);
      if (!list.empty()) {
        exp = list[0]["UUID"];
        if (list[0]["indexingStatus"] == "COMPLETED") {
          info = list[0];
          break;
        }
      }
    }
    if (tries > 3000) {
      fprintf(stderr, "vmtrace-load: no indexed experiment\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string out = "/experiments/" + exp + "/outputs";
  const int64_t start = info["start"], end = info["end"];
  const uint64_t nb_events = info["nbEvents"];
  const std::string tg = out + "/timeGraph/";
  const Json threads = Ids(*setup, tg + "vmtrace.kernel.thread_status/tree");
  const Json cpus = Ids(*setup, tg + "vmtrace.kernel.resources/tree");
  const Json usage = Ids(*setup, out + "/XY/vmtrace.kernel.cpu_usage/tree");
  Json range = {{"start", start}, {"end", end}, {"nbTimes", 1000}};
  auto body = [](Json p) { return Json{{"parameters", std::move(p)}}.dump(); };
  struct Query {
    std::string path, body;
  };
  std::vector<Query> mix = {
      {tg + "vmtrace.kernel.thread_status/states",
       body({{"requested_timerange", range}, {"requested_items", threads}})},
      {tg + "vmtrace.kernel.resources/states",
       body({{"requested_timerange", range}, {"requested_items", cpus}})},
      {out + "/XY/" + kHistogramId + "/xy",
       body({{"requested_timerange", range}, {"requested_items", {1}}})},
      {out + "/XY/vmtrace.kernel.cpu_usage/xy",
       body({{"requested_timerange", range}, {"requested_items", usage}})},
      {out + "/table/" + kTableId + "/lines", ""},  // index varies
      {tg + "vmtrace.kernel.thread_status/tree", body(Json::object())},
      {out + "/XY/vmtrace.kernel.cpu_usage/tree", body(Json::object())},
  };

  Stats heavy, health;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  const auto t0 = Clock::now();
  for (int k = 0; k < clients; ++k) {
    workers.emplace_back([&, k] {
      auto c = Connect(port);
      uint64_t n = uint64_t(k);
      while (!stop.load()) {
        const Query& q = mix[n % mix.size()];
        std::string b = q.body;
        if (b.empty()) {
          uint64_t idx = nb_events > 500 ? (n * 7919) % (nb_events - 500) : 0;
          b = body(
              {{"requested_table_index", idx}, {"requested_table_count", 500}});
        }
        ++n;
        auto a = Clock::now();
        auto r = c->Post((kApi + q.path).c_str(), b, "application/json");
        double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - a).count();
        heavy.Add(ms, r ? r->status : 0);
        if (r && r->status == 503) {  // Retry-After: back off a little
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
  std::thread poller([&] {
    auto c = Connect(port);
    while (!stop.load()) {
      auto a = Clock::now();
      auto r = c->Get((std::string(kApi) + "/health").c_str());
      double ms =
          std::chrono::duration<double, std::milli>(Clock::now() - a).count();
      health.Add(ms, r ? r->status : 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(health_ms));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  poller.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();

  auto row = [](const char* name, Stats& s) {
    int errors = 0;
    std::string codes;
    for (auto [code, n] : s.errors) {
      errors += n;
      codes += " " + std::to_string(code) + ":" + std::to_string(n);
    }
    printf("| %s | %zu | %d%s | %.1f | %.1f | %.1f |\n", name, s.ms.size(),
           errors, codes.c_str(), Percentile(s.ms, 0.5), Percentile(s.ms, 0.99),
           Percentile(s.ms, 1.0));
  };
  printf(
      "%d clients for %.0f s (%zu thread rows, %zu CPU rows, %llu "
      "events): %.1f heavy requests/s\n\n",
      clients, wall, threads.size(), cpus.size(),
      static_cast<unsigned long long>(nb_events),
      double(heavy.ms.size()) / wall);
  printf(
      "| requests | count | errors (status:count) | p50 ms | p99 ms | max "
      "ms |\n|---|---|---|---|---|---|\n");
  row("heavy (states, XY, table, trees)", heavy);
  row("/health (every ~20 ms)", health);
  return 0;
}
