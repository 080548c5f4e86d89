// Validation: each bad input is rejected with the field path and the API server's message
// (kubernetes pkg/apis/networking/validation/validation.go; apimachinery util/validation).
#include "realproxy/routing/validation.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "realproxy/routing/names.h"
#include "realproxy/routing/route_table.h"
#include "tests/routing/routing_test_util.h"

namespace ingresslab::routing {
namespace {

using test_util::ingress;
using test_util::prefix;
using test_util::rule;
using test_util::service;

// A valid object every case starts from.
IngressObject base() {
  IngressObject object = ingress("web", {rule("www.example.com", {prefix("/", "web", 80)})});
  object.tls = {IngressTls{{"www.example.com"}, "web-cert"}};
  return object;
}

HttpIngressPath& first_path(IngressObject& object) {
  return object.rules[0].http->paths[0];
}

struct BadInput {
  std::string name;
  std::function<void(IngressObject&)> mutate;
  std::string field;    // expected field path of (one of) the errors
  std::string message;  // expected substring of that error's message
};

std::vector<BadInput> bad_inputs() {
  return {
      {"missing name", [](IngressObject& o) { o.name.clear(); }, "metadata.name", "Required value"},
      {"uppercase name", [](IngressObject& o) { o.name = "Web"; }, "metadata.name",
       "RFC 1123 subdomain"},
      {"bad namespace", [](IngressObject& o) { o.namespace_ = "my.ns"; }, "metadata.namespace",
       "RFC 1123 label"},
      {"neither rules nor default backend", [](IngressObject& o) { o.rules.clear(); }, "spec",
       "either `defaultBackend` or `rules` must be specified"},
      {"pathType unset", [](IngressObject& o) { first_path(o).path_type = PathType::kUnset; },
       "spec.rules[0].http.paths[0].pathType", "Required value: pathType must be specified"},
      {"relative Prefix path", [](IngressObject& o) { first_path(o).path = "foo"; },
       "spec.rules[0].http.paths[0].path", "must be an absolute path"},
      {"empty Exact path",
       [](IngressObject& o) {
         first_path(o).path = "";
         first_path(o).path_type = PathType::kExact;
       },
       "spec.rules[0].http.paths[0].path", "must be an absolute path"},
      {"double slash", [](IngressObject& o) { first_path(o).path = "/a//b"; },
       "spec.rules[0].http.paths[0].path", "must not contain '//'"},
      {"dot segment", [](IngressObject& o) { first_path(o).path = "/a/./b"; },
       "spec.rules[0].http.paths[0].path", "must not contain '/./'"},
      {"dot-dot segment", [](IngressObject& o) { first_path(o).path = "/a/../b"; },
       "spec.rules[0].http.paths[0].path", "must not contain '/../'"},
      {"encoded slash", [](IngressObject& o) { first_path(o).path = "/a%2fb"; },
       "spec.rules[0].http.paths[0].path", "must not contain '%2f'"},
      {"encoded slash upper", [](IngressObject& o) { first_path(o).path = "/a%2Fb"; },
       "spec.rules[0].http.paths[0].path", "must not contain '%2F'"},
      {"ends with /..", [](IngressObject& o) { first_path(o).path = "/a/.."; },
       "spec.rules[0].http.paths[0].path", "cannot end with '/..'"},
      {"ends with /.",
       [](IngressObject& o) {
         first_path(o).path = "/a/.";
         first_path(o).path_type = PathType::kExact;
       },
       "spec.rules[0].http.paths[0].path", "cannot end with '/.'"},
      {"relative ImplementationSpecific path",
       [](IngressObject& o) {
         first_path(o).path = "api";
         first_path(o).path_type = PathType::kImplementationSpecific;
       },
       "spec.rules[0].http.paths[0].path", "must be an absolute path"},
      {"bare * host", [](IngressObject& o) { o.rules[0].host = "*"; }, "spec.rules[0].host",
       "wildcard DNS-1123 subdomain"},
      {"wildcard not first label", [](IngressObject& o) { o.rules[0].host = "foo.*.com"; },
       "spec.rules[0].host", "wildcard DNS-1123 subdomain"},
      {"double wildcard", [](IngressObject& o) { o.rules[0].host = "*.*.foo.com"; },
       "spec.rules[0].host", "wildcard DNS-1123 subdomain"},
      {"partial wildcard label", [](IngressObject& o) { o.rules[0].host = "w*.foo.com"; },
       "spec.rules[0].host", "wildcard DNS-1123 subdomain"},
      {"host with port", [](IngressObject& o) { o.rules[0].host = "www.example.com:80"; },
       "spec.rules[0].host", "RFC 1123 subdomain"},
      {"IPv4 host", [](IngressObject& o) { o.rules[0].host = "10.0.0.1"; }, "spec.rules[0].host",
       "must be a DNS name, not an IP address"},
      {"IPv6 host", [](IngressObject& o) { o.rules[0].host = "::1"; }, "spec.rules[0].host",
       "must be a DNS name, not an IP address"},
      {"uppercase host", [](IngressObject& o) { o.rules[0].host = "WWW.example.com"; },
       "spec.rules[0].host", "RFC 1123 subdomain"},
      {"trailing dot host", [](IngressObject& o) { o.rules[0].host = "www.example.com."; },
       "spec.rules[0].host", "RFC 1123 subdomain"},
      {"host too long", [](IngressObject& o) { o.rules[0].host = std::string(254, 'a'); },
       "spec.rules[0].host", "must be no more than 253 characters"},
      {"rule with neither host nor http",
       [](IngressObject& o) {
         o.rules.push_back(IngressRule{"", std::nullopt});
       },
       "spec.rules[1]", "a rule must set `host`, `http`, or both"},
      {"http without paths", [](IngressObject& o) { o.rules[0].http->paths.clear(); },
       "spec.rules[0].http.paths", "Required value"},
      {"backend with neither service nor resource",
       [](IngressObject& o) { first_path(o).backend = IngressBackend{}; },
       "spec.rules[0].http.paths[0].backend", "resource or service backend is required"},
      {"backend with both service and resource",
       [](IngressObject& o) {
         first_path(o).backend.resource = ResourceBackend{std::nullopt, "Bucket", "b"};
       },
       "spec.rules[0].http.paths[0].backend", "cannot set both resource and service backends"},
      {"missing service name", [](IngressObject& o) { first_path(o).backend.service->name = ""; },
       "spec.rules[0].http.paths[0].backend.service.name", "Required value"},
      {"service name not DNS-1035",
       [](IngressObject& o) { first_path(o).backend.service->name = "1web"; },
       "spec.rules[0].http.paths[0].backend.service.name", "DNS-1035 label"},
      {"missing port",
       [](IngressObject& o) { first_path(o).backend.service->port = std::monostate{}; },
       "spec.rules[0].http.paths[0].backend", "port name or number is required"},
      {"empty port name counts as missing",
       [](IngressObject& o) { first_path(o).backend.service->port = std::string(); },
       "spec.rules[0].http.paths[0].backend", "port name or number is required"},
      {"port number zero", [](IngressObject& o) { first_path(o).backend.service->port = 0; },
       "spec.rules[0].http.paths[0].backend.service.port.number",
       "must be between 1 and 65535, inclusive"},
      {"port number too big", [](IngressObject& o) { first_path(o).backend.service->port = 65536; },
       "spec.rules[0].http.paths[0].backend.service.port.number", "must be between 1 and 65535"},
      {"port name uppercase",
       [](IngressObject& o) { first_path(o).backend.service->port = std::string("HTTP"); },
       "spec.rules[0].http.paths[0].backend.service.port.name", "alpha-numeric"},
      {"port name digits only",
       [](IngressObject& o) { first_path(o).backend.service->port = std::string("8080"); },
       "spec.rules[0].http.paths[0].backend.service.port.name", "at least one letter"},
      {"port name too long",
       [](IngressObject& o) {
         first_path(o).backend.service->port = std::string("a-very-long-port-name");
       },
       "spec.rules[0].http.paths[0].backend.service.port.name", "no more than 15 characters"},
      {"port name double hyphen",
       [](IngressObject& o) { first_path(o).backend.service->port = std::string("a--b"); },
       "spec.rules[0].http.paths[0].backend.service.port.name", "consecutive hyphens"},
      {"resource without kind",
       [](IngressObject& o) {
         first_path(o).backend = IngressBackend{std::nullopt, ResourceBackend{"", "", "b"}};
       },
       "spec.rules[0].http.paths[0].backend.resource.kind", "Required value"},
      {"resource name with slash",
       [](IngressObject& o) {
         first_path(o).backend = IngressBackend{std::nullopt, ResourceBackend{"", "K", "a/b"}};
       },
       "spec.rules[0].http.paths[0].backend.resource.name", "may not contain '/'"},
      {"resource bad apiGroup",
       [](IngressObject& o) {
         first_path(o).backend =
             IngressBackend{std::nullopt, ResourceBackend{"Bad_Group", "K", "b"}};
       },
       "spec.rules[0].http.paths[0].backend.resource.apiGroup", "RFC 1123 subdomain"},
      {"invalid default backend",
       [](IngressObject& o) { o.default_backend = service("fallback", -1); },
       "spec.defaultBackend.service.port.number", "must be between 1 and 65535"},
      {"bare * TLS host", [](IngressObject& o) { o.tls[0].hosts = {"*"}; }, "spec.tls[0].hosts[0]",
       "wildcard DNS-1123 subdomain"},
      {"bad TLS secret name", [](IngressObject& o) { o.tls[0].secret_name = "Web_Cert"; },
       "spec.tls[0].secretName", "RFC 1123 subdomain"},
      {"bad ingressClassName", [](IngressObject& o) { o.ingress_class_name = "Nginx Class"; },
       "spec.ingressClassName", "RFC 1123 subdomain"},
      {"empty ingressClassName", [](IngressObject& o) { o.ingress_class_name = ""; },
       "spec.ingressClassName", "RFC 1123 subdomain"},
  };
}

TEST(Validation, BaseObjectIsValid) {
  std::vector<Diagnostic> errors;
  EXPECT_TRUE(validate_ingress(base(), &errors));
  EXPECT_TRUE(errors.empty());
}

TEST(Validation, EachBadInputIsRejectedWithItsFieldPath) {
  const std::vector<BadInput> cases = bad_inputs();
  ASSERT_GE(cases.size(), 15u);
  for (const BadInput& bad : cases) {
    SCOPED_TRACE(bad.name);
    IngressObject object = base();
    bad.mutate(object);
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(validate_ingress(object, &errors));
    bool found = false;
    for (const Diagnostic& error : errors) {
      EXPECT_EQ(error.severity, Severity::kError);
      if (error.field == bad.field && error.message.find(bad.message) != std::string::npos) {
        found = true;
      }
    }
    std::string all;
    for (const Diagnostic& error : errors)
      all += "\n  " + error.to_string();
    EXPECT_TRUE(found) << "expected " << bad.field << ": ..." << bad.message << "; got" << all;

    // And compile() skips the object and reports the same errors.
    const CompileResult result = compile(std::vector<IngressObject>{object}, {});
    EXPECT_TRUE(result.has_errors());
    EXPECT_EQ(result.skipped.size(), 1u);
    EXPECT_TRUE(result.table->routes().empty());
    EXPECT_EQ(result.table->match("www.example.com", "/").reason, MatchReason::kNotFound);
  }
}

TEST(Validation, ReportsEveryErrorNotJustTheFirst) {
  IngressObject object = base();
  object.rules[0].host = "*";
  first_path(object).path = "relative";
  object.rules.push_back(rule("ok.com", {prefix("/a//b", "svc")}));
  std::vector<Diagnostic> errors;
  EXPECT_FALSE(validate_ingress(object, &errors));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "spec.rules[0].host");
  EXPECT_EQ(errors[1].field, "spec.rules[0].http.paths[0].path");
  EXPECT_EQ(errors[2].field, "spec.rules[1].http.paths[0].path");
  EXPECT_EQ(errors[2].object.to_string(), "default/web");
}

TEST(Validation, MessagesQuoteValuesSafely) {
  IngressObject object = base();
  object.rules[0].host = std::string("a\x01\"b\xff", 5);
  std::vector<Diagnostic> errors;
  EXPECT_FALSE(validate_ingress(object, &errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].message.find(R"("a\x01\"b\xff")"), std::string::npos) << errors[0].message;
}

TEST(Validation, AcceptedEdgeCases) {
  for (const char* host : {"*.example.com", "a", "1.2.3", "1.2.3.4.5", "xn--bcher-kva.example",
                           "a-b.c-d", "0.example"}) {
    IngressObject object = base();
    object.rules[0].host = host;
    std::vector<Diagnostic> errors;
    EXPECT_TRUE(validate_ingress(object, &errors)) << host << ": " << errors[0].to_string();
  }
  for (const char* p : {"/", "/a/b/", "/a b", "/a.b", "/.well-known", "/a/..b", "/%20"}) {
    IngressObject object = base();
    first_path(object).path = p;
    std::vector<Diagnostic> errors;
    EXPECT_TRUE(validate_ingress(object, &errors)) << p << ": " << errors[0].to_string();
  }
  // ImplementationSpecific skips the sequence checks, and may be empty.
  for (const char* p : {"", "/a//b", "/(.*)", "/a/.."}) {
    IngressObject object = base();
    first_path(object).path = p;
    first_path(object).path_type = PathType::kImplementationSpecific;
    std::vector<Diagnostic> errors;
    EXPECT_TRUE(validate_ingress(object, &errors)) << p;
  }
  // Host-only rule, empty namespace, resource backend, TLS without hosts or secret.
  IngressObject object = base();
  object.namespace_.clear();
  object.rules.push_back(IngressRule{"only-host.example.com", std::nullopt});
  object.default_backend = IngressBackend{std::nullopt, ResourceBackend{"g.io", "Bucket", "b"}};
  object.tls.push_back(IngressTls{});
  std::vector<Diagnostic> errors;
  EXPECT_TRUE(validate_ingress(object, &errors));
  EXPECT_EQ(object_ref(object).to_string(), "default/web");
}

TEST(Names, Syntax) {
  EXPECT_TRUE(is_dns1123_subdomain("a.b-c.d"));
  EXPECT_FALSE(is_dns1123_subdomain(""));
  EXPECT_FALSE(is_dns1123_subdomain("a..b"));
  EXPECT_FALSE(is_dns1123_subdomain("-a"));
  EXPECT_FALSE(is_dns1123_subdomain("a-"));
  EXPECT_TRUE(is_dns1123_subdomain(std::string(253, 'a')));
  EXPECT_TRUE(is_wildcard_dns1123_subdomain("*.a"));
  EXPECT_FALSE(is_wildcard_dns1123_subdomain("*"));
  EXPECT_FALSE(is_wildcard_dns1123_subdomain("*."));
  EXPECT_TRUE(is_dns1123_label("123-abc"));
  EXPECT_FALSE(is_dns1123_label(std::string(64, 'a')));
  EXPECT_TRUE(is_dns1035_label("abc-123"));
  EXPECT_FALSE(is_dns1035_label("123-abc"));
  EXPECT_TRUE(port_name_error("http").empty());
  EXPECT_TRUE(port_name_error("h2c-8080").empty());
  EXPECT_FALSE(port_name_error("-http").empty());
  EXPECT_TRUE(is_ip_address("010.0.0.255"));
  EXPECT_FALSE(is_ip_address("1.2.3.256"));
  EXPECT_TRUE(is_ip_address("fe80::1"));
  EXPECT_FALSE(is_ip_address("example.com"));
}

}  // namespace
}  // namespace ingresslab::routing
