// `realproxy`: the ingress proxy (serve) and its routing oracle (route).
//
//   realproxy serve --config DIR_OR_FILE [--config ...] --listen 127.0.0.1:8080
//                   [--tls-listen 127.0.0.1:8443] [--admin 127.0.0.1:9901] [--workers N]
//                   [--lb round_robin|least_request|p2c|ewma|random|consistent_hash]
//                   [--hash-on header:NAME|cookie:NAME|source] [--access-log PATH] ...
//   realproxy route --config DIR_OR_FILE HOST PATH     → "service:port" or "404"
//
// Exit codes: 0 success; 1 runtime failure (cannot listen, ...); 2 bad configuration or usage.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "realproxy/calibrate/calibrate.h"
#include "realproxy/config/duration.h"
#include "realproxy/config/kube_api.h"
#include "realproxy/config/proxy_config.h"
#include "realproxy/server/h2o_api.h"
#include "realproxy/server/server.h"

namespace {

using namespace ingresslab::realproxy;

// `realproxy route`: what the proxy would do with a request, without running it.
int route(const std::vector<std::string>& configs, const LoadOptions& load, const std::string& host,
          const std::string& path) {
  LoadResult loaded = load_proxy_config(configs, load);
  for (const ConfigError& w : loaded.warnings) {
    std::fprintf(stderr, "realproxy: warning: %s\n", w.to_string().c_str());
  }
  if (!loaded.ok()) {
    for (const ConfigError& e : loaded.errors) {
      std::fprintf(stderr, "realproxy: error: %s\n", e.to_string().c_str());
    }
    return 2;
  }
  // Route on the path as the server does: h2o's normalised form (dot segments resolved,
  // query string cut off).
  h2o_mem_pool_t pool;
  h2o_mem_init_pool(&pool);
  size_t query_at = SIZE_MAX;
  size_t* norm_indexes = nullptr;
  const h2o_iovec_t normalized =
      h2o_url_normalize_path(&pool, path.data(), path.size(), &query_at, &norm_indexes);
  const ingresslab::routing::MatchResult match =
      loaded.config->table().match(host, std::string_view(normalized.base, normalized.len));
  h2o_mem_clear_pool(&pool);
  if (!match.found()) {
    std::printf("404\n");
  } else if (const ingresslab::routing::ServiceBackend* svc = match.backend->service()) {
    std::string port;
    if (const auto* n = std::get_if<int32_t>(&svc->port)) port = std::to_string(*n);
    if (const auto* s = std::get_if<std::string>(&svc->port)) port = *s;
    std::printf("%s:%s\n", svc->name.c_str(), port.c_str());
  } else {
    const ingresslab::routing::ResourceBackend* res = match.backend->resource();
    std::printf("resource:%s/%s\n", res->kind.c_str(), res->name.c_str());
  }
  return 0;
}

// A CLI11 validator for durations ("5s", "250ms").
struct DurationValidator : CLI::Validator {
  DurationValidator() {
    name_ = "DURATION";
    func_ = [](const std::string& text) {
      DurationOrError d = parse_duration(text);
      return d.ok() ? std::string() : d.error;
    };
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"realproxy: a Kubernetes Ingress proxy on libh2o"};
  app.require_subcommand(1);

  std::vector<std::string> configs;
  LoadOptions load;
  std::string ingress_class;
  const auto add_config_options = [&](CLI::App* cmd) {
    cmd->add_option("--config", configs,
                    "Kubernetes manifest file or directory (Ingress, Service, EndpointSlice, "
                    "Secret); repeatable (serve: or --kube-api)")
        ->allow_extra_args(false);
    cmd->add_option("--ingress-class", ingress_class,
                    "serve only Ingresses of this class (and those without one)");
    cmd->add_flag("--strict", load.strict,
                  "unresolvable backends and Secrets are errors, not warnings");
  };

  CLI::App* serve_cmd = app.add_subcommand("serve", "run the proxy");
  add_config_options(serve_cmd);
  bool kube_api = false;
  std::string kube_api_server;
  serve_cmd->add_flag("--kube-api", kube_api,
                      "read Ingress/Service/EndpointSlice/Secret from the Kubernetes API (list + "
                      "watch; in-cluster service-account credentials) instead of --config");
  serve_cmd->add_option("--kube-api-server", kube_api_server,
                        "the API server URL for --kube-api (default: in-cluster "
                        "KUBERNETES_SERVICE_HOST/PORT; http:// for kubectl proxy or tests)");
  ServeOptions options;
  std::string tls_listen, admin_listen, access_log, lb = "round_robin", hash_on = "source";
  std::string session_ticket_key;
  std::string connect_timeout = "5s", upstream_timeout = "60s", keepalive = "60s",
              drain_timeout = "10s";
  serve_cmd->add_option("--listen", options.listen, "HTTP listen address")->capture_default_str();
  serve_cmd->add_option("--tls-listen", tls_listen, "HTTPS listen address (TLS 1.2/1.3, SNI)");
  serve_cmd->add_option("--admin", admin_listen, "admin listen address (/metrics, /healthz)");
  serve_cmd->add_option("--workers", options.workers, "worker threads (one event loop each)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd->add_option("--lb", lb, "load-balancing policy")
      ->check(CLI::IsMember(
          {"round_robin", "least_request", "p2c", "ewma", "random", "consistent_hash"}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--hash-on", hash_on, "consistent_hash key: source, header:NAME, cookie:NAME")
      ->capture_default_str();
  serve_cmd->add_option("--connect-timeout", connect_timeout, "upstream connect timeout")
      ->check(DurationValidator())
      ->capture_default_str();
  serve_cmd
      ->add_option("--upstream-timeout", upstream_timeout,
                   "upstream I/O timeout (first byte, and between reads)")
      ->check(DurationValidator())
      ->capture_default_str();
  serve_cmd
      ->add_option("--upstream-keepalive", keepalive, "idle time of pooled upstream connections")
      ->check(DurationValidator())
      ->capture_default_str();
  serve_cmd
      ->add_option("--drain-timeout", drain_timeout,
                   "on SIGTERM, how long requests in flight may take to finish")
      ->check(DurationValidator())
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-tries", options.max_tries,
                   "endpoints tried per request when connecting fails")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  serve_cmd
      ->add_option("--eject-after-5xx", options.eject_after_5xx,
                   "eject an endpoint after this many consecutive 5xx answers (0: never)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  std::string unhealthy_for = "10s", header_timeout = "10s";
  serve_cmd
      ->add_option("--unhealthy-for", unhealthy_for,
                   "how long a failed or ejected endpoint is skipped")
      ->check(DurationValidator())
      ->capture_default_str();
  serve_cmd
      ->add_option("--header-timeout", header_timeout,
                   "time to receive a request's headers; also the keep-alive idle time")
      ->check(DurationValidator())
      ->capture_default_str();
  serve_cmd->add_option("--session-ticket-key", session_ticket_key,
                        "80-byte session-ticket key shared by every instance (openssl rand 80; "
                        "nginx ssl_session_ticket_key)");
  serve_cmd->add_option("--access-log", access_log,
                        "append an access log (combined format + timing breakdown)");

  CLI::App* route_cmd = app.add_subcommand("route", "print where a request would be routed");
  add_config_options(route_cmd);
  std::string host, path;
  route_cmd->add_option("HOST", host, "Host header")->required();
  route_cmd->add_option("PATH", path, "request path")->required();

  CLI::App* calibrate_cmd = app.add_subcommand(
      "calibrate", "measure the proxy's costs on this machine; write a CostProfile textproto");
  ingresslab::realproxy::calibrate::CalibrateOptions calibrate_options;
  calibrate_cmd->add_option("-o,--output", calibrate_options.output,
                            "write the profile here (default: standard output)");
  calibrate_cmd->add_flag("--quick", calibrate_options.quick,
                          "a tiny budget (a few seconds; noisy figures, for smoke tests)");
  calibrate_cmd->add_option("--realpod", calibrate_options.realpod_path,
                            "the realpod binary (default: next to this one)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (calibrate_cmd->parsed()) {
    char self[4096] = {};
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    calibrate_options.realproxy_path = n > 0 ? std::string(self, static_cast<size_t>(n)) : argv[0];
    if (calibrate_options.realpod_path.empty()) {
      const std::string& me = calibrate_options.realproxy_path;
      calibrate_options.realpod_path = me.substr(0, me.rfind('/') + 1) + "realpod";
    }
    if (access(calibrate_options.realpod_path.c_str(), X_OK) != 0) {
      std::fprintf(stderr, "realproxy: calibrate: no realpod binary at %s (use --realpod)\n",
                   calibrate_options.realpod_path.c_str());
      return 2;
    }
    return ingresslab::realproxy::calibrate::run(calibrate_options);
  }
  if (!ingress_class.empty()) load.ingress_class = ingress_class;
  if (configs.empty() && !(serve_cmd->parsed() && kube_api)) {
    std::fprintf(stderr, "realproxy: --config is required%s\n",
                 serve_cmd->parsed() ? " (or --kube-api)" : "");
    return 2;
  }

  if (route_cmd->parsed()) return route(configs, load, host, path);

  // --kube-api: the objects come from the Kubernetes API, mirrored into a manifest file that
  // serve() reads and reloads (SIGHUP) after every change (realproxy/config/kube_api.h).
  if (kube_api) {
    if (!configs.empty()) {
      std::fprintf(stderr, "realproxy: give --config or --kube-api, not both\n");
      return 2;
    }
    KubeApiOptions kube_options;
    kube_options.server = kube_api_server;
    auto* kube_source = new KubeApiSource(kube_options);  // lives until the process exits
    std::string kube_error;
    if (!kube_source->start(&kube_error)) {
      std::fprintf(stderr, "realproxy: %s\n", kube_error.c_str());
      return 1;
    }
    configs = {kube_source->manifest_path()};
  }
  options.config_paths = configs;
  options.load = load;
  if (!tls_listen.empty()) options.tls_listen = tls_listen;
  if (!admin_listen.empty()) options.admin_listen = admin_listen;
  if (!access_log.empty()) options.access_log = access_log;
  if (!session_ticket_key.empty()) options.session_ticket_key = session_ticket_key;
  options.lb = *parse_lb_policy(lb);
  std::string error;
  const std::optional<HashOn> parsed_hash_on = HashOn::parse(hash_on, &error);
  if (!parsed_hash_on) {
    std::fprintf(stderr, "realproxy: %s\n", error.c_str());
    return 2;
  }
  options.hash_on = *parsed_hash_on;
  options.connect_timeout = parse_duration(connect_timeout).value;
  options.upstream_timeout = parse_duration(upstream_timeout).value;
  options.upstream_keepalive = parse_duration(keepalive).value;
  options.drain_timeout = parse_duration(drain_timeout).value;
  options.unhealthy_for = parse_duration(unhealthy_for).value;
  options.header_timeout = parse_duration(header_timeout).value;
  const int rc = serve(options);
  // The workers' h2o contexts, loops and pools live until the process ends and are deliberately not
  // torn down (see Worker::~Worker); leave without running destructors or exit-time leak checks.
  std::fflush(nullptr);
  _exit(rc);
}
