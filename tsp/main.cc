// vmtrace-server: the TSP server binary.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "tsp/http/api.h"
#include "tsp/http/http_guard.h"
#include "tsp/http/http_server.h"
#include "tsp/openapi_yaml.h"
#include "tsp/routes/routes.h"
#include "tsp/service/trace_service.h"

namespace {

constexpr char kUsage[] =
    "Usage: vmtrace-server [options]\n"
    "Serves LTTng kernel traces over the Trace Server Protocol (TSP 0.6.0)\n"
    "at http://HOST:PORT/tsp/api.\n\n"
    "  --host HOST        address to listen on (default 127.0.0.1)\n"
    "  --port PORT        port (default 8080; 0 picks a free one)\n"
    "  --data-dir DIR     registry and indexes (default\n"
    "                     $XDG_DATA_HOME/vmtrace or ~/.local/share/vmtrace)\n"
    "  --log-level LEVEL  debug, info, warning, error or off (default info)\n"
    "  --threads N        HTTP worker threads, one per open connection\n"
    "                     (default 128)\n"
    "  --max-heavy N      output queries (trees, states, XY, table lines...)\n"
    "                     run at once; others wait up to 10 s, then 503\n"
    "                     (default: the number of cores)\n"
    "  --request-timeout S  seconds before a request is cancelled and\n"
    "                     answered 503 (default 30)\n"
    "  --open PATH        register PATH as a trace and an experiment of the\n"
    "                     same name at start (repeatable)\n"
    "  -vmargs -Dtraceserver.port=N [-Dtraceserver.host=H]\n"
    "                     the Java trace server's form, as Theia's trace\n"
    "                     viewer launches it\n"
    "  --help             this text\n"
    "  --version          the version\n"
    "\nExposure (see README, \"Exposing the server\"):\n"
    "  --trace-root DIR   open only traces inside DIR (repeatable); other\n"
    "                     paths are refused (403) whether they exist or not\n"
    "  --token-file FILE  require 'Authorization: Bearer TOKEN' on every\n"
    "                     request but GET /health; TOKEN is the file's\n"
    "                     content (at least 16 characters)\n"
    "  --allowed-origin O also accept browser requests from origin O, e.g.\n"
    "                     https://ide.example.org (repeatable; loopback\n"
    "                     and VS Code webview origins are always accepted)\n"
    "  --allowed-host H   also accept Host header H (repeatable; localhost,\n"
    "                     IP addresses and the --host value are accepted)\n"
    "  --insecure         allow a non-loopback --host without --trace-root\n"
    "                     and --token-file (anyone reaching the port can\n"
    "                     then open any file the server can read)\n";

std::string DefaultDataDir() {
  if (const char* x = getenv("XDG_DATA_HOME"); x && *x) {
    return std::string(x) + "/vmtrace";
  }
  if (const char* h = getenv("HOME"); h && *h) {
    return std::string(h) + "/.local/share/vmtrace";
  }
  return ".vmtrace";
}

// The token of --token-file: its content without surrounding whitespace.
vmtrace::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return vmtrace::InvalidArgument("cannot read token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  const char* ws = " \t\r\n";
  size_t b = t.find_first_not_of(ws);
  t = b == std::string::npos ? "" : t.substr(b, t.find_last_not_of(ws) - b + 1);
  if (t.size() < 16 || t.find_first_of(ws) != std::string::npos) {
    return vmtrace::InvalidArgument(
        "the token in " + path +
        " must be one word of at least 16 characters (e.g. the output of "
        "`openssl rand -hex 32`)");
  }
  return t;
}

// What the command line asks for.
struct Args {
  vmtrace::tsp::HttpOptions http;
  vmtrace::tsp::ServiceOptions service;
  std::vector<std::string> open_paths;
  std::string token_file;
  bool insecure = false;
};

// Reads the options into *args. Returns -1 to go on, else the exit code
// (after --help, --version or a bad option).
int ParseArgs(int argc, char** argv, Args* args) {
  using namespace vmtrace;
  tsp::HttpOptions& http = args->http;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "vmtrace-server: %s needs a value\n%s", name, kUsage);
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      printf("vmtrace-server %s (TSP 0.6.0)\n", VMTRACE_VERSION);
      return 0;
    } else if (a == "--host") {
      http.host = value("--host");
    } else if (a == "--port") {
      http.port = atoi(value("--port").c_str());
    } else if (a == "--data-dir") {
      args->service.data_dir = value("--data-dir");
    } else if (a == "--threads") {
      http.threads = atoi(value("--threads").c_str());
    } else if (a == "--max-heavy") {
      http.budget.max_heavy = atoi(value("--max-heavy").c_str());
    } else if (a == "--request-timeout") {
      double s = atof(value("--request-timeout").c_str());
      if (!(s > 0)) {
        fprintf(stderr, "vmtrace-server: --request-timeout must be > 0\n");
        return 2;
      }
      s = std::min(s, 1e9);  // ~31 years: still fits the clock in ns
      http.budget.request_timeout =
          std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::duration<double>(s));
    } else if (a == "--open") {
      args->open_paths.push_back(value("--open"));
    } else if (a == "--trace-root") {
      args->service.trace_roots.push_back(value("--trace-root"));
    } else if (a == "--token-file") {
      args->token_file = value("--token-file");
    } else if (a == "--allowed-origin") {
      http.guard.allowed_origins.push_back(value("--allowed-origin"));
    } else if (a == "--allowed-host") {
      http.guard.allowed_hosts.push_back(value("--allowed-host"));
    } else if (a == "--insecure") {
      args->insecure = true;
    } else if (a == "-vmargs") {
      // Theia's trace viewer starts the configured trace server as
      // `PATH -vmargs -Dtraceserver.port=N` (the Java server's form).
    } else if (a.rfind("-Dtraceserver.port=", 0) == 0) {
      http.port = atoi(a.c_str() + strlen("-Dtraceserver.port="));
    } else if (a.rfind("-Dtraceserver.host=", 0) == 0) {
      http.host = a.substr(strlen("-Dtraceserver.host="));
    } else if (a == "--log-level") {
      LogLevel level;
      std::string v = value("--log-level");
      if (!ParseLogLevel(v, &level)) {
        fprintf(stderr, "vmtrace-server: unknown log level '%s'\n", v.c_str());
        return 2;
      }
      SetLogLevel(level);
    } else {
      fprintf(stderr, "vmtrace-server: unknown option '%s'\n%s", a.c_str(),
              kUsage);
      return 2;
    }
  }
  return -1;
}

// The token and the exposure rules. Returns -1 to go on, else 2.
int CheckExposure(Args* args) {
  if (!args->token_file.empty()) {
    auto token = ReadToken(args->token_file);
    if (!token.ok()) {
      fprintf(stderr, "vmtrace-server: %s\n", token.status().message().c_str());
      return 2;
    }
    args->http.guard.token = *token;
  }
  if (std::string problem = vmtrace::tsp::ExposureProblem(
          args->http.host, !args->service.trace_roots.empty(),
          !args->http.guard.token.empty(), args->insecure);
      !problem.empty()) {
    fprintf(stderr, "vmtrace-server: %s\n", problem.c_str());
    return 2;
  }
  return -1;
}

// --open: each path as a trace and an experiment. Returns -1, else 1.
int OpenPaths(vmtrace::tsp::TraceService* service,
              const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    auto t = service->AddTrace(path, std::nullopt, nullptr);
    if (!t.ok()) {
      fprintf(stderr, "vmtrace-server: cannot open %s: %s\n", path.c_str(),
              t.status().ToString().c_str());
      return 1;
    }
    auto e = service->AddExperiment(t->record.name, {t->record.uuid}, nullptr);
    if (!e.ok()) {
      fprintf(stderr, "vmtrace-server: cannot open experiment %s: %s\n",
              path.c_str(), e.status().ToString().c_str());
      return 1;
    }
  }
  return -1;
}

// Binds and serves until SIGINT/SIGTERM (blocked in every thread by the
// caller; one thread waits for them so the shutdown runs outside a signal
// handler). Returns the exit code.
int Serve(vmtrace::tsp::TraceService* service, const Args& args,
          const sigset_t& stop_signals) {
  using namespace vmtrace;
  tsp::ServerInfo info{VMTRACE_VERSION, __DATE__ " " __TIME__,
                       tsp::kOpenApiYaml};
  tsp::HttpServer server(tsp::BuildRoutes(service, info), args.http);
  auto port = server.Bind();
  if (!port.ok()) {
    fprintf(stderr, "vmtrace-server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  printf("vmtrace-server listening on http://%s:%d/tsp/api (data in %s)\n",
         args.http.host.c_str(), *port, args.service.data_dir.c_str());
  fflush(stdout);
  std::thread waiter([&server, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    VMTRACE_LOG(kInfo, "signal %d: shutting down", sig);
    server.Stop();
  });
  server.Serve();
  // Serve() also returns if the listener fails; wake the waiter either way.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  service->Shutdown();
  VMTRACE_LOG(kInfo, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vmtrace;
  // Freed memory goes back to the system (see request_budget.h).
  tsp::ConfigureMalloc(4);
  Args args;
  args.service.data_dir = DefaultDataDir();
  if (int code = ParseArgs(argc, argv, &args); code >= 0) return code;
  if (int code = CheckExposure(&args); code >= 0) return code;

  // Block the stop signals in every thread (see Serve()).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto service = tsp::TraceService::Open(args.service);
  if (!service.ok()) {
    fprintf(stderr, "vmtrace-server: %s\n",
            service.status().ToString().c_str());
    return service.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (int code = OpenPaths(service->get(), args.open_paths); code >= 0) {
    return code;
  }
  return Serve(service->get(), args, stop_signals);
}
