// Compilation: merging Ingress objects, conflict resolution, default backend, 404, backends and
// ports, TLS/SNI selection, ingress class filtering, and the cafe example.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "realproxy/routing/route_table.h"
#include "tests/routing/routing_test_util.h"

namespace ingresslab::routing {
namespace {

using test_util::compile_ok;
using test_util::exact;
using test_util::ingress;
using test_util::prefix;
using test_util::routed;
using test_util::rule;
using test_util::service;

std::vector<Diagnostic> warnings_of(const CompileResult& result) {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : result.diagnostics) {
    if (d.severity == Severity::kWarning) out.push_back(d);
  }
  return out;
}

// /work/shared/data/cafe/cafe-ingress.yaml (NGINX kubernetes-ingress "cafe" example), written as
// structs. The manifest has no namespace, so the object lives in "default". Its secretName is
// "tls-secret".
IngressObject cafe_ingress() {
  IngressObject cafe;
  cafe.name = "cafe-ingress";
  cafe.ingress_class_name = "nginx";
  cafe.tls = {IngressTls{{"cafe.example.com"}, "tls-secret"}};
  cafe.rules = {rule("cafe.example.com",
                     {prefix("/tea", "tea-svc", 80), prefix("/coffee", "coffee-svc", 80)})};
  return cafe;
}

TEST(Cafe, RoutesTeaAndCoffee) {
  const CompileResult result = compile(std::vector<IngressObject>{cafe_ingress()}, {});
  EXPECT_TRUE(result.diagnostics.empty());
  const RouteTable& table = *result.table;
  EXPECT_EQ(routed(table, "cafe.example.com", "/tea"), "tea-svc:80");
  EXPECT_EQ(routed(table, "cafe.example.com", "/tea/green?sugar=no"), "tea-svc:80");
  EXPECT_EQ(routed(table, "cafe.example.com:443", "/coffee"), "coffee-svc:80");
  EXPECT_EQ(routed(table, "cafe.example.com", "/coffeemaker"), "<404>");
  EXPECT_EQ(routed(table, "cafe.example.com", "/"), "<404>");
  EXPECT_EQ(routed(table, "tea.example.com", "/tea"), "<404>");

  const MatchResult match = table.match("cafe.example.com", "/coffee/latte");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.reason, MatchReason::kPrefixPath);
  EXPECT_EQ(match.host_match, HostMatch::kExact);
  EXPECT_EQ(match.route->host, "cafe.example.com");
  EXPECT_EQ(match.route->path, "/coffee");
  EXPECT_EQ(match.route->path_type, PathType::kPrefix);
  EXPECT_EQ(match.route->field(), "spec.rules[0].http.paths[1]");
  EXPECT_EQ(match.ingress->to_string(), "default/cafe-ingress");
  EXPECT_EQ(match.backend->namespace_, "default");

  const TlsEntry* tls = table.tls_for_sni("cafe.example.com");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->secret_namespace, "default");
  EXPECT_EQ(tls->secret_name, "tls-secret");
  EXPECT_EQ(tls->ingress.to_string(), "default/cafe-ingress");
  EXPECT_EQ(table.tls_for_sni("tea.example.com"), nullptr);
  EXPECT_EQ(table.tls_for_sni(""), nullptr);
}

TEST(Merge, ObjectsMergePerHost) {
  const auto table = compile_ok(
      {ingress("tea", {rule("cafe.example.com", {prefix("/tea", "tea-svc")})}, 10, "drinks"),
       ingress("coffee", {rule("cafe.example.com", {prefix("/coffee", "coffee-svc")})}, 20,
               "beans")});
  EXPECT_EQ(table->host_count(), 1u);
  EXPECT_EQ(routed(*table, "cafe.example.com", "/tea"), "tea-svc:80");
  EXPECT_EQ(routed(*table, "cafe.example.com", "/coffee"), "coffee-svc:80");
  // Each backend lives in its own Ingress's namespace.
  EXPECT_EQ(table->match("cafe.example.com", "/tea").backend->namespace_, "drinks");
  EXPECT_EQ(table->match("cafe.example.com", "/coffee").backend->namespace_, "beans");
  EXPECT_EQ(table->match("cafe.example.com", "/coffee").ingress->to_string(), "beans/coffee");
}

TEST(Merge, LongestMatchAcrossObjects) {
  const auto table = compile_ok({ingress("root", {rule("h.com", {prefix("/", "root")})}, 1),
                                 ingress("api", {rule("h.com", {prefix("/api", "api")})}, 2),
                                 ingress("v1", {rule("h.com", {exact("/api/v1", "v1")})}, 3)});
  EXPECT_EQ(routed(*table, "h.com", "/"), "root:80");
  EXPECT_EQ(routed(*table, "h.com", "/api/v2"), "api:80");
  EXPECT_EQ(routed(*table, "h.com", "/api/v1"), "v1:80");
  EXPECT_EQ(routed(*table, "h.com", "/api/v1/"), "api:80");
}

TEST(Conflicts, OldestObjectWinsAnExactDuplicate) {
  const std::vector<IngressObject> objects = {
      ingress("young", {rule("h.com", {prefix("/x", "young-svc")})}, 200),
      ingress("old", {rule("h.com", {prefix("/x", "old-svc")})}, 100),
  };
  const CompileResult result = compile(objects, {});
  EXPECT_FALSE(result.has_errors());
  EXPECT_EQ(routed(*result.table, "h.com", "/x/y"), "old-svc:80");
  const auto warnings = warnings_of(result);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].object.to_string(), "default/young");
  EXPECT_EQ(warnings[0].field, "spec.rules[0].http.paths[0]");
  EXPECT_NE(warnings[0].message.find("default/old"), std::string::npos) << warnings[0].message;
  EXPECT_NE(warnings[0].message.find("older"), std::string::npos) << warnings[0].message;
  EXPECT_EQ(result.table->routes().size(), 1u);
}

TEST(Conflicts, EqualTimestampsFallBackToNamespaceThenName) {
  const std::vector<IngressObject> objects = {
      ingress("a", {rule("h.com", {exact("/x", "ns-b")})}, 5, "b"),
      ingress("z", {rule("h.com", {exact("/x", "ns-a-z")})}, 5, "a"),
      ingress("m", {rule("h.com", {exact("/x", "ns-a-m")})}, 5, "a"),
  };
  const CompileResult result = compile(objects, {});
  EXPECT_EQ(routed(*result.table, "h.com", "/x"), "ns-a-m:80");
  EXPECT_EQ(warnings_of(result).size(), 2u);
}

TEST(Conflicts, ResultDoesNotDependOnInputOrder) {
  std::vector<IngressObject> objects = {
      ingress("a", {rule("h.com", {prefix("/x", "a"), exact("/y", "a")})}, 3),
      ingress("b", {rule("h.com", {prefix("/x", "b"), exact("/y", "b"), prefix("/z", "b")})}, 1),
      ingress("c", {rule("h.com", {prefix("/x", "c"), prefix("/z/", "c")})}, 2),
      ingress("d", {rule("", {prefix("/", "d")})}, 2),
  };
  const auto reference = compile_ok(objects);
  std::mt19937 rng(7);
  for (int i = 0; i < 10; ++i) {
    std::shuffle(objects.begin(), objects.end(), rng);
    const auto table = compile_ok(objects);
    for (const char* path : {"/x", "/x/1", "/y", "/z", "/z/q", "/"}) {
      EXPECT_EQ(routed(*table, "h.com", path), routed(*reference, "h.com", path)) << path;
      EXPECT_EQ(routed(*table, "o.com", path), routed(*reference, "o.com", path)) << path;
    }
  }
  EXPECT_EQ(routed(*reference, "h.com", "/x"), "b:80");
  EXPECT_EQ(routed(*reference, "h.com", "/y"), "b:80");
  EXPECT_EQ(routed(*reference, "h.com", "/z/q"), "c:80");  // "/z/" is longer than "/z"
}

TEST(Conflicts, FirstListedWinsWithinOneObject) {
  const CompileResult result =
      compile(std::vector<IngressObject>{ingress("one", {rule("h.com", {prefix("/x", "first")}),
                                                         rule("h.com", {prefix("/x", "second")})})},
              {});
  EXPECT_EQ(routed(*result.table, "h.com", "/x"), "first:80");
  const auto warnings = warnings_of(result);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].field, "spec.rules[1].http.paths[0]");
  EXPECT_NE(warnings[0].message.find("listed first"), std::string::npos) << warnings[0].message;
}

// README.md: ImplementationSpecific is Prefix here, so Prefix /x and ImplementationSpecific /x
// are the same rule: a duplicate, resolved like any other.
TEST(Conflicts, PrefixAndImplementationSpecificSamePathAreDuplicates) {
  const CompileResult result = compile(
      std::vector<IngressObject>{
          ingress("old",
                  {rule("h.com", {test_util::path("/x", PathType::kImplementationSpecific,
                                                  service("impl", 80))})},
                  1),
          ingress("new", {rule("h.com", {prefix("/x", "prefix")})}, 2)},
      {});
  EXPECT_EQ(routed(*result.table, "h.com", "/x/1"), "impl:80");
  EXPECT_EQ(warnings_of(result).size(), 1u);
}

// Different hosts, or Exact vs Prefix, are not duplicates.
TEST(Conflicts, SamePathDifferentHostOrTypeIsNoConflict) {
  const CompileResult result = compile(
      std::vector<IngressObject>{
          ingress("a", {rule("a.com", {prefix("/x", "a")}), rule("", {prefix("/x", "any")})}, 1),
          ingress("b", {rule("b.com", {prefix("/x", "b")}), rule("a.com", {exact("/x", "ax")})},
                  2)},
      {});
  EXPECT_TRUE(result.diagnostics.empty());
  EXPECT_EQ(routed(*result.table, "a.com", "/x"), "ax:80");
  EXPECT_EQ(routed(*result.table, "a.com", "/x/"), "a:80");
  EXPECT_EQ(routed(*result.table, "b.com", "/x"), "b:80");
  EXPECT_EQ(routed(*result.table, "c.com", "/x"), "any:80");
}

// /x and /x/ (Prefix) match the same requests; the longer one wins and the other is reported.
TEST(Conflicts, ShadowedPrefixIsReported) {
  const CompileResult result =
      compile(std::vector<IngressObject>{ingress("a", {rule("h.com", {prefix("/x", "short")})}, 1),
                                         ingress("b", {rule("h.com", {prefix("/x/", "long")})}, 2)},
              {});
  EXPECT_EQ(routed(*result.table, "h.com", "/x"), "long:80");
  const auto warnings = warnings_of(result);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].object.to_string(), "default/a");
  EXPECT_NE(warnings[0].message.find("shadowed"), std::string::npos) << warnings[0].message;
}

TEST(DefaultBackend, NoMatchIs404WithoutDefaultBackend) {
  const auto table = compile_ok({ingress("a", {rule("h.com", {exact("/x", "x")})})});
  const MatchResult match = table->match("h.com", "/y");
  EXPECT_EQ(match.reason, MatchReason::kNotFound);
  EXPECT_FALSE(match.found());
  EXPECT_EQ(match.backend, nullptr);
  EXPECT_EQ(match.route, nullptr);
  EXPECT_EQ(match.ingress, nullptr);
  EXPECT_EQ(table->default_backend(), nullptr);
}

TEST(DefaultBackend, EmptyTableIs404) {
  const CompileResult result = compile({}, {});
  ASSERT_NE(result.table, nullptr);
  EXPECT_EQ(result.table->match("h.com", "/").reason, MatchReason::kNotFound);
  EXPECT_EQ(result.table->match("h.com", "/").host_match, HostMatch::kNone);
  EXPECT_EQ(result.table->tls_for_sni("h.com"), nullptr);
}

TEST(DefaultBackend, OldestObjectWithOneProvidesIt) {
  IngressObject older = ingress("older", {rule("a.com", {exact("/", "a")})}, 1);
  IngressObject only_default = ingress("only-default", {}, 2, "other");
  only_default.default_backend = service("catch-all", 8080);
  IngressObject newer = ingress("newer", {}, 3);
  newer.default_backend = service("newer-default", 80);
  const CompileResult result = compile(std::vector<IngressObject>{newer, older, only_default}, {});
  EXPECT_FALSE(result.has_errors());
  ASSERT_NE(result.table->default_backend(), nullptr);
  EXPECT_EQ(result.table->default_backend()->ingress.to_string(), "other/only-default");
  const MatchResult match = result.table->match("b.com", "/nothing");
  EXPECT_EQ(match.reason, MatchReason::kDefaultBackend);
  EXPECT_EQ(match.host_match, HostMatch::kNone);
  EXPECT_EQ(match.backend->service()->name, "catch-all");
  EXPECT_EQ(match.backend->namespace_, "other");
  EXPECT_EQ(match.ingress->to_string(), "other/only-default");
  const auto warnings = warnings_of(result);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].object.to_string(), "default/newer");
  EXPECT_EQ(warnings[0].field, "spec.defaultBackend");
}

TEST(Backends, NamedAndNumberedPorts) {
  const auto table = compile_ok({ingress(
      "ports",
      {rule("h.com", {prefix("/num", "svc", 8080),
                      test_util::path("/name", PathType::kPrefix,
                                      test_util::named_port_service("svc", "http-alt"))})})});
  const MatchResult number = table->match("h.com", "/num");
  ASSERT_NE(number.backend->service(), nullptr);
  EXPECT_EQ(std::get<int32_t>(number.backend->service()->port), 8080);
  const MatchResult name = table->match("h.com", "/name");
  ASSERT_NE(name.backend->service(), nullptr);
  EXPECT_EQ(std::get<std::string>(name.backend->service()->port), "http-alt");
  EXPECT_EQ(routed(*table, "h.com", "/name/x"), "svc:http-alt");
}

TEST(Backends, ResourceBackendIsRepresentedWithAWarning) {
  const IngressBackend bucket{std::nullopt,
                              ResourceBackend{"k8s.example.com", "StorageBucket", "static-assets"}};
  IngressObject object =
      ingress("res", {rule("h.com", {test_util::path("/static", PathType::kPrefix, bucket)})});
  const CompileResult result = compile(std::vector<IngressObject>{object}, {});
  EXPECT_FALSE(result.has_errors());
  const MatchResult match = result.table->match("h.com", "/static/logo.png");
  ASSERT_TRUE(match.found());
  EXPECT_EQ(match.backend->service(), nullptr);
  ASSERT_NE(match.backend->resource(), nullptr);
  EXPECT_EQ(*match.backend->resource(), *bucket.resource);
  const auto warnings = warnings_of(result);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].field, "spec.rules[0].http.paths[0].backend.resource");
}

TEST(Backends, RegexLookingImplementationSpecificPathIsWarned) {
  const CompileResult result = compile(
      std::vector<IngressObject>{ingress(
          "re", {rule("h.com", {test_util::path("/api/(.*)", PathType::kImplementationSpecific,
                                                service("api", 80))})})},
      {});
  EXPECT_FALSE(result.has_errors());
  ASSERT_EQ(warnings_of(result).size(), 1u);
  EXPECT_EQ(warnings_of(result)[0].field, "spec.rules[0].http.paths[0].path");
  // Matched literally, as a Prefix.
  EXPECT_EQ(routed(*result.table, "h.com", "/api/(.*)/x"), "api:80");
  EXPECT_EQ(routed(*result.table, "h.com", "/api/users"), "<404>");
}

TEST(InvalidObjects, AreSkippedAndTheRestStillCompiles) {
  IngressObject bad = ingress("bad", {rule("h.com", {prefix("/bad", "bad")})}, 1);
  bad.rules[0].http->paths[0].path_type = PathType::kUnset;
  bad.rules[0].http->paths.push_back(prefix("/also-bad", "bad"));
  const IngressObject good = ingress("good", {rule("h.com", {prefix("/good", "good")})}, 2);
  const CompileResult result = compile(std::vector<IngressObject>{bad, good}, {});
  EXPECT_TRUE(result.has_errors());
  ASSERT_EQ(result.skipped.size(), 1u);
  EXPECT_EQ(result.skipped[0].to_string(), "default/bad");
  // The whole object is skipped, including its valid paths.
  EXPECT_EQ(routed(*result.table, "h.com", "/also-bad"), "<404>");
  EXPECT_EQ(routed(*result.table, "h.com", "/good"), "good:80");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].to_string(),
            "error: default/bad: spec.rules[0].http.paths[0].pathType: Required value: pathType "
            "must be specified");
}

TEST(InvalidObjects, DuplicateNamespaceAndNameIsAnError) {
  const CompileResult result = compile(
      std::vector<IngressObject>{ingress("same", {rule("h.com", {prefix("/new", "new")})}, 9),
                                 ingress("same", {rule("h.com", {prefix("/old", "old")})}, 1)},
      {});
  EXPECT_TRUE(result.has_errors());
  EXPECT_EQ(routed(*result.table, "h.com", "/old"), "old:80");
  EXPECT_EQ(routed(*result.table, "h.com", "/new"), "<404>");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].field, "metadata.name");
}

TEST(IngressClass, FilteringByClass) {
  IngressObject nginx = ingress("nginx", {rule("a.com", {prefix("/", "nginx")})});
  nginx.ingress_class_name = "nginx";
  IngressObject ours = ingress("ours", {rule("b.com", {prefix("/", "ours")})});
  ours.ingress_class_name = "realproxy";
  const IngressObject unclassed = ingress("unclassed", {rule("c.com", {prefix("/", "none")})});
  const std::vector<IngressObject> objects = {nginx, ours, unclassed};

  const CompileResult all = compile(objects, {});
  EXPECT_EQ(routed(*all.table, "a.com", "/"), "nginx:80");
  EXPECT_TRUE(all.ignored.empty());

  const CompileResult mine = compile(objects, CompileOptions{"realproxy", true});
  EXPECT_EQ(routed(*mine.table, "a.com", "/"), "<404>");
  EXPECT_EQ(routed(*mine.table, "b.com", "/"), "ours:80");
  EXPECT_EQ(routed(*mine.table, "c.com", "/"), "none:80");
  ASSERT_EQ(mine.ignored.size(), 1u);
  EXPECT_EQ(mine.ignored[0].to_string(), "default/nginx");
  EXPECT_TRUE(mine.diagnostics.empty());

  const CompileResult strict = compile(objects, CompileOptions{"realproxy", false});
  EXPECT_EQ(routed(*strict.table, "c.com", "/"), "<404>");
  EXPECT_EQ(strict.ignored.size(), 2u);
}

TEST(Tls, ExactThenWildcardThenCatchAll) {
  IngressObject a = ingress("a", {rule("www.foo.com", {prefix("/", "www")})}, 1, "ns-a");
  a.tls = {IngressTls{{"www.foo.com"}, "www-cert"}, IngressTls{{"*.foo.com"}, "wild-cert"}};
  IngressObject b = ingress("b", {rule("x.org", {prefix("/", "x")})}, 2, "ns-b");
  b.tls = {IngressTls{{}, "default-cert"}, IngressTls{{"sni-only.org"}, ""}};
  const auto table = compile_ok({b, a});

  const TlsEntry* www = table->tls_for_sni("www.foo.com");
  ASSERT_NE(www, nullptr);
  EXPECT_EQ(www->secret_name, "www-cert");
  EXPECT_EQ(www->secret_namespace, "ns-a");
  EXPECT_EQ(www->host, "www.foo.com");
  EXPECT_EQ(table->tls_for_sni("WWW.Foo.Com")->secret_name, "www-cert");
  EXPECT_EQ(table->tls_for_sni("api.foo.com")->secret_name, "wild-cert");
  EXPECT_EQ(table->tls_for_sni("api.foo.com")->host, "*.foo.com");
  EXPECT_EQ(table->tls_for_sni("a.b.foo.com")->secret_name, "default-cert");
  EXPECT_EQ(table->tls_for_sni("foo.com")->secret_name, "default-cert");
  EXPECT_EQ(table->tls_for_sni("")->secret_name, "default-cert");
  EXPECT_EQ(table->tls_for_sni("")->secret_namespace, "ns-b");
  EXPECT_EQ(table->tls_for_sni("sni-only.org")->secret_name, "");
  EXPECT_EQ(table->tls_entries().size(), 4u);
}

TEST(Tls, OldestWinsAConflictingHost) {
  IngressObject old_one = ingress("old", {rule("a.com", {prefix("/", "a")})}, 1);
  old_one.tls = {IngressTls{{"a.com"}, "old-cert"}};
  IngressObject new_one = ingress("new", {rule("a.com", {prefix("/x", "a")})}, 2);
  new_one.tls = {IngressTls{{"a.com", "b.com"}, "new-cert"}};
  IngressObject same = ingress("same", {rule("a.com", {prefix("/y", "a")})}, 3);
  same.tls = {IngressTls{{"a.com"}, "old-cert"}};  // same secret: not a conflict
  const CompileResult result = compile(std::vector<IngressObject>{same, new_one, old_one}, {});
  EXPECT_EQ(result.table->tls_for_sni("a.com")->secret_name, "old-cert");
  EXPECT_EQ(result.table->tls_for_sni("b.com")->secret_name, "new-cert");
  const auto warnings = warnings_of(result);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].object.to_string(), "default/new");
  EXPECT_EQ(warnings[0].field, "spec.tls[0].hosts[0]");
}

TEST(Diagnostics, ToString) {
  const Diagnostic diagnostic{Severity::kWarning, ObjectRef{"ns", "name"}, "spec.tls[0]", "m"};
  EXPECT_EQ(diagnostic.to_string(), "warning: ns/name: spec.tls[0]: m");
}

}  // namespace
}  // namespace ingresslab::routing
