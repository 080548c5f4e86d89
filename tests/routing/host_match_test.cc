// Host matching: the wildcard table of the Kubernetes Ingress documentation ("Hostname
// wildcards", https://kubernetes.io/docs/concepts/services-networking/ingress/#hostname-wildcards,
// rows quoted verbatim as "Host | Host header | Match?"), precedence between exact, wildcard and
// host-less rules, case, ports and trailing dots.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>

#include "realproxy/routing/flat_map.h"
#include "realproxy/routing/request.h"
#include "realproxy/routing/route_table.h"
#include "tests/routing/routing_test_util.h"

namespace ingresslab::routing {
namespace {

using test_util::compile_ok;
using test_util::ingress;
using test_util::prefix;
using test_util::routed;
using test_util::rule;

// "*.foo.com | bar.foo.com | Matches based on shared suffix"
TEST(DocsHostnameWildcards, WildcardMatchesOneLabel) {
  const auto table = compile_ok({ingress("w", {rule("*.foo.com", {prefix("/", "wild")})})});
  EXPECT_EQ(routed(*table, "bar.foo.com", "/"), "wild:80");
  EXPECT_EQ(table->match("bar.foo.com", "/").host_match, HostMatch::kWildcard);
}

// "*.foo.com | baz.bar.foo.com | No match, wildcard only covers a single DNS label"
TEST(DocsHostnameWildcards, WildcardDoesNotMatchTwoLabels) {
  const auto table = compile_ok({ingress("w", {rule("*.foo.com", {prefix("/", "wild")})})});
  EXPECT_EQ(routed(*table, "baz.bar.foo.com", "/"), "<404>");
  EXPECT_EQ(table->match("baz.bar.foo.com", "/").host_match, HostMatch::kNone);
}

// "*.foo.com | foo.com | No match, wildcard only covers a single DNS label"
TEST(DocsHostnameWildcards, WildcardDoesNotMatchTheBareSuffix) {
  const auto table = compile_ok({ingress("w", {rule("*.foo.com", {prefix("/", "wild")})})});
  EXPECT_EQ(routed(*table, "foo.com", "/"), "<404>");
  // An empty first label is not a label.
  EXPECT_EQ(routed(*table, ".foo.com", "/"), "<404>");
  EXPECT_EQ(routed(*table, "xfoo.com", "/"), "<404>");
}

// types.go: "Precise: Host header must equal host".
TEST(HostMatching, ExactHostMustBeEqual) {
  const auto table = compile_ok({ingress("e", {rule("foo.bar.com", {prefix("/", "exact")})})});
  EXPECT_EQ(routed(*table, "foo.bar.com", "/x"), "exact:80");
  EXPECT_EQ(routed(*table, "bar.com", "/x"), "<404>");
  EXPECT_EQ(routed(*table, "a.foo.bar.com", "/x"), "<404>");
  EXPECT_EQ(routed(*table, "foo.bar.co", "/x"), "<404>");
}

// types.go: "If the host is unspecified, the Ingress routes all traffic based on the specified
// IngressRuleValue."
TEST(HostMatching, HostlessRulesMatchAnyHost) {
  const auto table = compile_ok({ingress("any", {rule("", {prefix("/", "any")})})});
  for (const char* host : {"foo.com", "", "1.2.3.4", "[::1]:80", "WEIRD host", "a.b.c.d.e"}) {
    EXPECT_EQ(routed(*table, host, "/"), "any:80") << host;
    EXPECT_EQ(table->match(host, "/").host_match, HostMatch::kAnyHost) << host;
  }
}

// README.md: exact host rules before wildcard host rules before host-less rules.
TEST(HostMatching, ExactBeforeWildcardBeforeHostless) {
  const auto table = compile_ok(
      {ingress("p", {rule("", {prefix("/", "any")}), rule("*.foo.com", {prefix("/", "wild")}),
                     rule("www.foo.com", {prefix("/", "exact")})})});
  EXPECT_EQ(routed(*table, "www.foo.com", "/"), "exact:80");
  EXPECT_EQ(routed(*table, "api.foo.com", "/"), "wild:80");
  EXPECT_EQ(routed(*table, "foo.com", "/"), "any:80");
  EXPECT_EQ(routed(*table, "other.org", "/"), "any:80");
}

// README.md: the request is matched against the rules of the most specific matching host only;
// if none of its paths match, the default backend serves it (like nginx's server_name selection
// followed by location matching within that server only).
TEST(HostMatching, MostSpecificHostOnlyThenDefaultBackend) {
  IngressObject object = ingress(
      "p", {rule("", {prefix("/coffee", "any-coffee")}),
            rule("*.foo.com", {prefix("/coffee", "wild-coffee"), prefix("/tea", "wild-tea")}),
            rule("www.foo.com", {prefix("/tea", "exact-tea")})});
  {
    const auto table = compile_ok({object});
    EXPECT_EQ(routed(*table, "www.foo.com", "/tea"), "exact-tea:80");
    EXPECT_EQ(routed(*table, "www.foo.com", "/coffee"), "<404>");
    EXPECT_EQ(table->match("www.foo.com", "/coffee").host_match, HostMatch::kExact);
    EXPECT_EQ(routed(*table, "api.foo.com", "/coffee"), "wild-coffee:80");
    EXPECT_EQ(routed(*table, "api.foo.com", "/"), "<404>");
    EXPECT_EQ(routed(*table, "foo.com", "/tea"), "<404>");
  }
  object.default_backend = test_util::service("fallback", 8080);
  const auto table = compile_ok({object});
  const MatchResult match = table->match("www.foo.com", "/coffee");
  EXPECT_EQ(match.reason, MatchReason::kDefaultBackend);
  EXPECT_EQ(match.host_match, HostMatch::kExact);
  EXPECT_EQ(routed(*table, "www.foo.com", "/coffee"), "fallback:8080");
}

// types.go: a rule without `http` "defaults to a http catch-all"; README.md: the host is claimed
// and its requests go to the default backend (they do not fall through to host-less rules).
TEST(HostMatching, RuleWithoutHttpClaimsItsHost) {
  IngressObject object = ingress("p", {rule("", {prefix("/", "any")})});
  object.rules.push_back(IngressRule{"quiet.foo.com", std::nullopt});
  object.default_backend = test_util::service("fallback", 80);
  const auto table = compile_ok({object});
  EXPECT_EQ(routed(*table, "quiet.foo.com", "/x"), "fallback:80");
  EXPECT_EQ(table->match("quiet.foo.com", "/x").host_match, HostMatch::kExact);
  EXPECT_EQ(routed(*table, "loud.foo.com", "/x"), "any:80");
}

// DNS names are case-insensitive (RFC 4343); paths are not.
TEST(HostMatching, CaseInsensitiveHost) {
  const auto table = compile_ok({ingress("c", {rule("cafe.example.com", {prefix("/tea", "tea")}),
                                               rule("*.example.org", {prefix("/tea", "wild")})})});
  EXPECT_EQ(routed(*table, "CAFE.Example.COM", "/tea"), "tea:80");
  EXPECT_EQ(routed(*table, "cafe.EXAMPLE.com:443", "/tea"), "tea:80");
  EXPECT_EQ(routed(*table, "Shop.EXAMPLE.Org", "/tea"), "wild:80");
  EXPECT_EQ(routed(*table, "cafe.example.com", "/TEA"), "<404>");
}

// types.go: "the port is not respected"; the Host header's ":port" is removed before matching.
TEST(HostMatching, PortIsStripped) {
  const auto table = compile_ok({ingress("c", {rule("cafe.example.com", {prefix("/", "tea")}),
                                               rule("*.foo.com", {prefix("/", "w")})})});
  EXPECT_EQ(routed(*table, "cafe.example.com:80", "/"), "tea:80");
  EXPECT_EQ(routed(*table, "cafe.example.com:8443", "/"), "tea:80");
  EXPECT_EQ(routed(*table, "cafe.example.com:", "/"), "tea:80");
  EXPECT_EQ(routed(*table, "a.foo.com:1", "/"), "w:80");
  EXPECT_EQ(routed(*table, "cafe.example.com.:80", "/"), "tea:80");
}

// nginx (ngx_http_validate_host) drops one trailing dot of a fully qualified Host; so do we.
TEST(HostMatching, OneTrailingDotIsIgnored) {
  const auto table = compile_ok({ingress("c", {rule("cafe.example.com", {prefix("/", "tea")})})});
  EXPECT_EQ(routed(*table, "cafe.example.com.", "/"), "tea:80");
  EXPECT_EQ(routed(*table, "cafe.example.com..", "/"), "<404>");
}

TEST(HostMatching, HostForMatching) {
  EXPECT_EQ(host_for_matching("Foo.com:8080"), "Foo.com");
  EXPECT_EQ(host_for_matching("foo.com."), "foo.com");
  EXPECT_EQ(host_for_matching("foo.com.:80"), "foo.com");
  EXPECT_EQ(host_for_matching("[::1]:8080"), "[::1]");
  EXPECT_EQ(host_for_matching("[::1]"), "[::1]");
  EXPECT_EQ(host_for_matching("[::1"), "[::1");
  EXPECT_EQ(host_for_matching(":80"), "");
  EXPECT_EQ(host_for_matching(""), "");
  EXPECT_EQ(path_for_matching("/a?b#c"), "/a");
  EXPECT_EQ(path_for_matching("/a#b?c"), "/a");
  EXPECT_EQ(path_for_matching(""), "/");
  EXPECT_EQ(path_for_matching("?x"), "/");
}

TEST(HostMatching, IpLiteralsOnlyMatchHostlessRules) {
  const auto table = compile_ok({ingress("c", {rule("cafe.example.com", {prefix("/", "tea")})})});
  EXPECT_EQ(routed(*table, "127.0.0.1", "/"), "<404>");
  EXPECT_EQ(routed(*table, "[::1]:443", "/"), "<404>");
}

// The word-at-a-time case folding used by host lookups agrees with folding byte by byte, on
// every byte value (including non-ASCII bytes, which must stay unchanged).
TEST(HostMatching, WordCaseFoldingAgreesWithBytewise) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    uint64_t word = rng();
    if (i < 256) word = 0x0101010101010101ULL * static_cast<uint64_t>(i);
    const uint64_t folded = detail::ascii_lower_word(word);
    char in[8];
    char out[8];
    std::memcpy(in, &word, 8);
    std::memcpy(out, &folded, 8);
    for (int b = 0; b < 8; ++b)
      ASSERT_EQ(out[b], detail::ascii_lower(in[b])) << std::hex << word;
  }
}

}  // namespace
}  // namespace ingresslab::routing
