// Path matching: every row of the "Examples" table of the Kubernetes Ingress documentation,
// https://kubernetes.io/docs/concepts/services-networking/ingress/#examples
// (kubernetes/website content/en/docs/concepts/services-networking/ingress.md; rows quoted
// verbatim as "Kind | Path(s) | Request path(s) | Matches?"), plus the precedence rules of the
// "Multiple matches" paragraph and of types.go.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "realproxy/routing/route_table.h"
#include "tests/routing/routing_test_util.h"

namespace ingresslab::routing {
namespace {

using test_util::compile_ok;
using test_util::ingress;
using test_util::path;
using test_util::rule;
using test_util::service;

struct RulePath {
  std::string path;
  PathType type;
};

struct Row {
  std::vector<RulePath> rules;
  std::vector<std::string> requests;
  // Index into `rules` of the rule that must serve every request, or -1: no rule matches and
  // the default backend serves it.
  int expected_rule;
};

constexpr PathType kPrefix = PathType::kPrefix;
constexpr PathType kExact = PathType::kExact;

// Each rule i routes to service "rule-<i>"; the Ingress has a default backend "default-svc".
void check_row(const Row& row) {
  std::vector<HttpIngressPath> paths;
  for (size_t i = 0; i < row.rules.size(); ++i) {
    paths.push_back(
        path(row.rules[i].path, row.rules[i].type, service("rule-" + std::to_string(i), 80)));
  }
  IngressObject object = ingress("examples", {rule("", paths)});
  object.default_backend = service("default-svc", 80);
  const auto table = compile_ok({object});
  for (const std::string& request : row.requests) {
    SCOPED_TRACE("request path " + request);
    const MatchResult match = table->match("any.example.com", request);
    ASSERT_TRUE(match.found());
    if (row.expected_rule < 0) {
      EXPECT_EQ(match.reason, MatchReason::kDefaultBackend);
      EXPECT_EQ(match.backend->service()->name, "default-svc");
      EXPECT_EQ(match.route, nullptr);
      continue;
    }
    ASSERT_NE(match.route, nullptr);
    const RulePath& expected = row.rules[static_cast<size_t>(row.expected_rule)];
    EXPECT_EQ(match.route->path, expected.path);
    EXPECT_EQ(match.route->path_type, expected.type);
    EXPECT_EQ(match.backend->service()->name, "rule-" + std::to_string(row.expected_rule));
    EXPECT_EQ(match.reason,
              expected.type == kExact ? MatchReason::kExactPath : MatchReason::kPrefixPath);
  }
}

// "Prefix | / | (all paths) | Yes"
TEST(DocsExamples, PrefixRootMatchesAllPaths) {
  check_row({{{"/", kPrefix}},
             {"/", "/foo", "/foo/", "/aaa/bbb/ccc", "//", "/a?b=c", "/%2F", "/.well-known/x"},
             0});
}

// "Exact | /foo | /foo | Yes"
TEST(DocsExamples, ExactFooMatchesFoo) {
  check_row({{{"/foo", kExact}}, {"/foo"}, 0});
}

// "Exact | /foo | /bar | No"
TEST(DocsExamples, ExactFooDoesNotMatchBar) {
  check_row({{{"/foo", kExact}}, {"/bar"}, -1});
}

// "Exact | /foo | /foo/ | No"
TEST(DocsExamples, ExactFooDoesNotMatchFooSlash) {
  check_row({{{"/foo", kExact}}, {"/foo/"}, -1});
}

// "Exact | /foo/ | /foo | No"
TEST(DocsExamples, ExactFooSlashDoesNotMatchFoo) {
  check_row({{{"/foo/", kExact}}, {"/foo"}, -1});
}

// "Prefix | /foo | /foo, /foo/ | Yes"
TEST(DocsExamples, PrefixFooMatchesFooAndFooSlash) {
  check_row({{{"/foo", kPrefix}}, {"/foo", "/foo/"}, 0});
}

// "Prefix | /foo/ | /foo, /foo/ | Yes"
TEST(DocsExamples, PrefixFooSlashMatchesFooAndFooSlash) {
  check_row({{{"/foo/", kPrefix}}, {"/foo", "/foo/"}, 0});
}

// "Prefix | /aaa/bb | /aaa/bbb | No"
TEST(DocsExamples, PrefixIsNotAStringPrefix) {
  check_row({{{"/aaa/bb", kPrefix}}, {"/aaa/bbb"}, -1});
}

// "Prefix | /aaa/bbb | /aaa/bbb | Yes"
TEST(DocsExamples, PrefixMatchesItself) {
  check_row({{{"/aaa/bbb", kPrefix}}, {"/aaa/bbb"}, 0});
}

// "Prefix | /aaa/bbb/ | /aaa/bbb | Yes, ignores trailing slash"
TEST(DocsExamples, PrefixIgnoresTrailingSlashOfRule) {
  check_row({{{"/aaa/bbb/", kPrefix}}, {"/aaa/bbb"}, 0});
}

// "Prefix | /aaa/bbb | /aaa/bbb/ | Yes, matches trailing slash"
TEST(DocsExamples, PrefixMatchesTrailingSlashOfRequest) {
  check_row({{{"/aaa/bbb", kPrefix}}, {"/aaa/bbb/"}, 0});
}

// "Prefix | /aaa/bbb | /aaa/bbb/ccc | Yes, matches subpath"
TEST(DocsExamples, PrefixMatchesSubpath) {
  check_row({{{"/aaa/bbb", kPrefix}}, {"/aaa/bbb/ccc"}, 0});
}

// "Prefix | /aaa/bbb | /aaa/bbbxyz | No, does not match string prefix"
TEST(DocsExamples, PrefixDoesNotMatchStringPrefix) {
  check_row({{{"/aaa/bbb", kPrefix}}, {"/aaa/bbbxyz"}, -1});
}

// "Prefix | /, /aaa | /aaa/ccc | Yes, matches /aaa prefix"
TEST(DocsExamples, LongestPrefixWinsOverRoot) {
  check_row({{{"/", kPrefix}, {"/aaa", kPrefix}}, {"/aaa/ccc"}, 1});
}

// "Prefix | /, /aaa, /aaa/bbb | /aaa/bbb | Yes, matches /aaa/bbb prefix"
TEST(DocsExamples, LongestOfThreePrefixesWins) {
  check_row({{{"/", kPrefix}, {"/aaa", kPrefix}, {"/aaa/bbb", kPrefix}}, {"/aaa/bbb"}, 2});
}

// "Prefix | /, /aaa, /aaa/bbb | /ccc | Yes, matches / prefix"
TEST(DocsExamples, RootPrefixCatchesTheRest) {
  check_row({{{"/", kPrefix}, {"/aaa", kPrefix}, {"/aaa/bbb", kPrefix}}, {"/ccc"}, 0});
}

// "Prefix | /aaa | /ccc | No, uses default backend"
TEST(DocsExamples, NoMatchUsesDefaultBackend) {
  check_row({{{"/aaa", kPrefix}}, {"/ccc"}, -1});
}

// "Mixed | /foo (Prefix), /foo (Exact) | /foo | Yes, prefers Exact"
TEST(DocsExamples, MixedPrefersExact) {
  check_row({{{"/foo", kPrefix}, {"/foo", kExact}}, {"/foo"}, 1});
  // Listed the other way round: the order in the spec does not matter.
  check_row({{{"/foo", kExact}, {"/foo", kPrefix}}, {"/foo"}, 0});
  // The Prefix rule still serves what the Exact rule does not match.
  check_row({{{"/foo", kPrefix}, {"/foo", kExact}}, {"/foo/", "/foo/bar"}, 0});
}

// Paths are case sensitive (docs: "Exact: Matches the URL path exactly and with case
// sensitivity"; "Prefix: ... case-sensitive").
TEST(PathMatching, CaseSensitive) {
  check_row({{{"/foo", kExact}}, {"/FOO", "/Foo"}, -1});
  check_row({{{"/foo", kPrefix}}, {"/FOO/bar", "/Foo"}, -1});
}

// types.go, HTTPIngressPath.pathType: "/foo and /foo/ both match requests to /foo and /foo/. If
// both paths are present in an Ingress spec, the longest matching path (/foo/) is given priority."
TEST(PathMatching, LongerRulePathWinsBetweenFooAndFooSlash) {
  check_row({{{"/foo", kPrefix}, {"/foo/", kPrefix}}, {"/foo", "/foo/", "/foo/x"}, 1});
  check_row({{{"/foo/", kPrefix}, {"/foo", kPrefix}}, {"/foo", "/foo/", "/foo/x"}, 0});
}

// Our reading (README.md): a path is as long as the part of the request it matches; an Exact rule
// matches the whole request path, so Exact /foo beats Prefix /foo/ for /foo (as nginx's
// "location =" and Gateway API's Exact-first order do).
TEST(PathMatching, ExactBeatsPrefixWithTrailingSlash) {
  check_row({{{"/foo/", kPrefix}, {"/foo", kExact}}, {"/foo"}, 1});
  check_row({{{"/foo/", kPrefix}, {"/foo", kExact}}, {"/foo/", "/foo/bar"}, 0});
}

// A longer Prefix beats a shorter Exact only if the Exact does not match; and Exact /foo/ is its
// own path, distinct from Exact /foo.
TEST(PathMatching, ExactWithTrailingSlash) {
  check_row({{{"/foo/", kExact}, {"/foo", kExact}}, {"/foo/"}, 0});
  check_row({{{"/foo/", kExact}, {"/foo", kExact}}, {"/foo"}, 1});
}

// README.md: ImplementationSpecific is matched like Prefix, ranked like Prefix.
TEST(PathMatching, ImplementationSpecificIsPrefix) {
  const PathType kImpl = PathType::kImplementationSpecific;
  check_row({{{"/foo", kImpl}}, {"/foo", "/foo/", "/foo/bar"}, 0});
  check_row({{{"/foo", kImpl}}, {"/foobar", "/"}, -1});
  check_row({{{"/foo", kImpl}, {"/foo", kExact}}, {"/foo"}, 1});
  check_row({{{"/", kPrefix}, {"/foo/bar", kImpl}}, {"/foo/bar/baz"}, 1});
  // An empty ImplementationSpecific path (allowed by the API server) is "/".
  check_row({{{"", kImpl}}, {"/", "/anything"}, 0});
}

// types.go, HTTPIngressRuleValue: the path is the part "after the host and before the first '?'
// or '#'".
TEST(PathMatching, QueryStringAndFragmentAreNotPartOfThePath) {
  check_row({{{"/foo", kExact}}, {"/foo?x=1", "/foo#frag", "/foo?a=/b#c", "/foo?"}, 0});
  check_row({{{"/foo", kExact}}, {"/foo/?x=1", "/foox?x=/foo"}, -1});
  check_row({{{"/a/b", kPrefix}}, {"/a/b?c", "/a/b/?c", "/a/b#/c"}, 0});
}

// An empty path (e.g. absolute-form "http://h" or "?q" alone) is "/" (RFC 9110 section 4.2.3); a
// path that does not start with '/' (e.g. "*" of OPTIONS *) matches no path rule.
TEST(PathMatching, EmptyAndNonAbsolutePaths) {
  check_row({{{"/", kExact}}, {"", "?q=1", "#f"}, 0});
  check_row({{{"/", kPrefix}}, {"*", "foo", "foo/bar"}, -1});
}

// The request path is not normalised by the matcher: "//" and dot segments are compared as
// elements like any other.
TEST(PathMatching, RequestPathIsNotNormalised) {
  check_row({{{"/foo", kPrefix}}, {"/foo//bar", "/foo/./x", "/foo//"}, 0});
  check_row({{{"/foo", kPrefix}}, {"//foo", "/./foo", "/bar/../foo"}, -1});
  check_row({{{"/foo/bar", kExact}}, {"/foo%2Fbar", "/foo//bar"}, -1});
}

TEST(PathMatching, DeepPathsAndManySegments) {
  std::string deep;
  for (int i = 0; i < 1000; ++i)
    deep += "/s" + std::to_string(i % 7);
  check_row({{{"/s0/s1/s2", kPrefix}, {"/", kPrefix}}, {deep, deep + "/"}, 0});
  check_row({{{"/s0/s1/s2", kPrefix}}, {"/s0/s1", "/s0/s1/s3"}, -1});
  check_row({{{deep, kPrefix}, {"/s0", kPrefix}}, {deep, deep + "/x"}, 0});
  check_row({{{deep, kExact}, {"/s0", kPrefix}}, {deep}, 0});
}

}  // namespace
}  // namespace ingresslab::routing
