// Property test: the compiled matcher agrees with a brute-force reference matcher, written plainly
// here as a linear scan that implements the rules of README.md literally (split paths into
// elements, compare element lists, rank every candidate), on random rule sets and 1e5 random
// requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "realproxy/routing/route_table.h"
#include "tests/routing/routing_test_util.h"

namespace ingresslab::routing {
namespace {

// ---------------------------------------------------------------------------------------------
// The reference matcher.

struct RefAnswer {
  std::string backend;  // service name, or "" for 404
  std::string ingress;  // "ns/name" of the deciding Ingress, or ""
  std::string field;    // matched path's field, "default" or "404"

  friend bool operator==(const RefAnswer&, const RefAnswer&) = default;
};

std::ostream& operator<<(std::ostream& os, const RefAnswer& a) {
  return os << "{" << a.backend << ", " << a.ingress << ", " << a.field << "}";
}

class ReferenceMatcher {
 public:
  explicit ReferenceMatcher(std::vector<IngressObject> objects) : objects_(std::move(objects)) {
    std::sort(objects_.begin(), objects_.end(), [](const IngressObject& a, const IngressObject& b) {
      return std::tie(a.creation_timestamp, a.namespace_, a.name) <
             std::tie(b.creation_timestamp, b.namespace_, b.name);
    });
  }

  RefAnswer match(const std::string& host_header, const std::string& request_path) const {
    const std::string host = normalise_host(host_header);
    const std::optional<std::string> rule_host = choose_rule_host(host);
    const std::string path = normalise_path(request_path);

    struct Candidate {
      size_t effective_length;
      int type_rank;  // 0 Exact, 1 Prefix / ImplementationSpecific
      size_t raw_length;
      size_t order;
      RefAnswer answer;
    };
    std::vector<Candidate> candidates;
    size_t order = 0;
    for (const IngressObject& object : objects_) {
      for (size_t r = 0; r < object.rules.size(); ++r) {
        const IngressRule& rule = object.rules[r];
        if (!rule.http) continue;
        for (size_t p = 0; p < rule.http->paths.size(); ++p, ++order) {
          const HttpIngressPath& rule_path = rule.http->paths[p];
          if (!rule_host || rule.host != *rule_host) continue;
          if (!path_matches(rule_path, path)) continue;
          const bool is_exact = rule_path.path_type == PathType::kExact;
          candidates.push_back(Candidate{
              is_exact ? rule_path.path.size() : strip_trailing_slashes(rule_path.path).size(),
              is_exact ? 0 : 1, rule_path.path.size(), order,
              RefAnswer{
                  rule_path.backend.service->name, ref(object),
                  "spec.rules[" + std::to_string(r) + "].http.paths[" + std::to_string(p) + "]"}});
        }
      }
    }
    if (!candidates.empty()) {
      const Candidate& best = *std::min_element(
          candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
            // Longest first, then Exact, then the longer rule path, then the oldest / first.
            return std::make_tuple(-static_cast<int64_t>(a.effective_length), a.type_rank,
                                   -static_cast<int64_t>(a.raw_length), a.order) <
                   std::make_tuple(-static_cast<int64_t>(b.effective_length), b.type_rank,
                                   -static_cast<int64_t>(b.raw_length), b.order);
          });
      return best.answer;
    }
    for (const IngressObject& object : objects_) {
      if (object.default_backend) {
        return RefAnswer{object.default_backend->service->name, ref(object), "default"};
      }
    }
    return RefAnswer{"", "", "404"};
  }

 private:
  static std::string ref(const IngressObject& o) { return o.namespace_ + "/" + o.name; }

  static std::string normalise_host(std::string host) {
    if (!host.empty() && host[0] == '[') {
      const size_t close = host.find(']');
      return close == std::string::npos ? host : host.substr(0, close + 1);
    }
    const size_t colon = host.find(':');
    if (colon != std::string::npos) host = host.substr(0, colon);
    if (!host.empty() && host.back() == '.') host.pop_back();
    for (char& c : host)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return host;
  }

  // The rule host whose rules apply: exact, then wildcard, then "" (host-less), if claimed by
  // any rule (with or without http).
  std::optional<std::string> choose_rule_host(const std::string& host) const {
    std::set<std::string> claimed;
    for (const IngressObject& object : objects_) {
      for (const IngressRule& rule : object.rules)
        claimed.insert(rule.host);
    }
    if (!host.empty() && claimed.count(host) && host[0] != '*') return host;
    const size_t dot = host.find('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < host.size()) {
      const std::string wildcard = "*" + host.substr(dot);
      if (claimed.count(wildcard)) return wildcard;
    }
    if (claimed.count("")) return std::string();
    return std::nullopt;
  }

  static std::string normalise_path(const std::string& request) {
    const std::string path = request.substr(0, request.find_first_of("?#"));
    return path.empty() ? "/" : path;
  }

  static std::string strip_trailing_slashes(std::string path) {
    while (!path.empty() && path.back() == '/')
      path.pop_back();
    return path;
  }

  static std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> parts;
    size_t begin = 0;
    while (true) {
      const size_t slash = path.find('/', begin);
      parts.push_back(path.substr(begin, slash - begin));
      if (slash == std::string::npos) break;
      begin = slash + 1;
    }
    return parts;  // "/a/b/" -> "", "a", "b", ""
  }

  static bool path_matches(const HttpIngressPath& rule, const std::string& request) {
    if (request.empty() || request[0] != '/') return false;
    if (rule.path_type == PathType::kExact) return rule.path == request;
    // Prefix (and ImplementationSpecific): rule elements are an element-wise prefix of request
    // elements. Rule: drop the leading "" and every trailing "" ("/" has no element). Request:
    // drop the leading "" and one trailing "" (a trailing '/' is not an element).
    std::vector<std::string> rule_elements =
        rule.path.empty() ? std::vector<std::string>{} : split(rule.path);
    if (!rule_elements.empty()) rule_elements.erase(rule_elements.begin());
    while (!rule_elements.empty() && rule_elements.back().empty())
      rule_elements.pop_back();
    std::vector<std::string> request_elements = split(request);
    request_elements.erase(request_elements.begin());
    if (!request_elements.empty() && request_elements.back().empty()) request_elements.pop_back();
    if (rule_elements.size() > request_elements.size()) return false;
    return std::equal(rule_elements.begin(), rule_elements.end(), request_elements.begin());
  }

  std::vector<IngressObject> objects_;
};

// ---------------------------------------------------------------------------------------------
// Random rule sets and requests.

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  std::vector<IngressObject> objects() {
    std::vector<IngressObject> out;
    const int count = uniform(1, 8);
    for (int i = 0; i < count; ++i) {
      IngressObject object;
      object.namespace_ = pick<std::string>({"alpha", "beta"});
      object.name = "obj" + std::to_string(i);
      object.creation_timestamp = uniform(0, 3);
      const int rules = uniform(0, 4);
      for (int r = 0; r < rules; ++r) {
        IngressRule rule{pick<std::string>(kRuleHosts), std::nullopt};
        if (rule.host.empty() || chance(0.9)) {
          rule.http.emplace();
          const int paths = uniform(1, 4);
          for (int p = 0; p < paths; ++p) {
            rule.http->paths.push_back(
                rule_path(object.name + "-r" + std::to_string(r) + "-p" + std::to_string(p)));
          }
        }
        object.rules.push_back(std::move(rule));
      }
      if (rules == 0 || chance(0.3)) object.default_backend = test_util::service(object.name, 80);
      out.push_back(std::move(object));
    }
    return out;
  }

  std::string host() {
    std::string host = pick<std::string>(kRequestHosts);
    if (chance(0.3)) {
      for (char& c : host) {
        if (chance(0.5)) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
    }
    if (chance(0.1)) host += ".";
    if (chance(0.2)) host += pick<std::string>({":80", ":8443", ":"});
    return host;
  }

  std::string request_path() {
    if (chance(0.02)) return pick<std::string>({"", "*", "?q", "#", "a/b"});
    std::string path;
    const int depth = uniform(0, 5);
    for (int i = 0; i < depth; ++i)
      path += "/" + pick<std::string>(kRequestSegments);
    if (path.empty() || chance(0.2)) path += "/";
    if (chance(0.1)) path += pick<std::string>({"?q=/a/b", "#/a", "?", "?x#y"});
    return path;
  }

 private:
  inline static const std::vector<std::string> kRuleHosts = {
      "",        "",     "foo.com", "bar.foo.com", "*.foo.com", "*.bar.foo.com", "x.bar.foo.com",
      "baz.org", "*.org"};
  inline static const std::vector<std::string> kRequestHosts = {
      "",         "foo.com", "bar.foo.com",    "q.foo.com",   "x.bar.foo.com", "y.bar.foo.com",
      "baz.org",  "z.org",   "a.b.org",        "nomatch.net", "[::1]",         "10.0.0.1",
      ".foo.com", "org",     "a.x.bar.foo.com"};
  inline static const std::vector<std::string> kRuleSegments = {"a", "b", "aa", "ab", "c"};
  inline static const std::vector<std::string> kRequestSegments = {"a", "b",   "aa", "ab", "c",
                                                                   "",  "abc", "A",  "."};

  HttpIngressPath rule_path(std::string backend) {
    const PathType type =
        pick<PathType>({PathType::kExact, PathType::kPrefix, PathType::kImplementationSpecific});
    std::string path;
    const int depth = uniform(0, 3);
    for (int i = 0; i < depth; ++i)
      path += "/" + pick<std::string>(kRuleSegments);
    if (path.empty() || chance(0.25)) path += "/";
    if (type == PathType::kImplementationSpecific) {
      // The API server allows anything absolute here, including empty elements, and "".
      if (chance(0.15)) path.insert(0, "/");
      if (chance(0.15)) path += "/";
      if (chance(0.05)) path.clear();
    }
    return test_util::path(path, type, test_util::service(std::move(backend), 80));
  }

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  T pick(const std::vector<T>& values) {
    return values[static_cast<size_t>(uniform(0, static_cast<int>(values.size()) - 1))];
  }

  std::mt19937_64 rng_;
};

RefAnswer answer_of(const MatchResult& match) {
  switch (match.reason) {
    case MatchReason::kNotFound:
      return RefAnswer{"", "", "404"};
    case MatchReason::kDefaultBackend:
      return RefAnswer{match.backend->service()->name, match.ingress->to_string(), "default"};
    case MatchReason::kExactPath:
    case MatchReason::kPrefixPath:
      break;
  }
  return RefAnswer{match.backend->service()->name, match.ingress->to_string(),
                   match.route->field()};
}

TEST(Property, CompiledMatcherAgreesWithBruteForce) {
  constexpr int kRuleSets = 200;
  constexpr int kQueriesPerSet = 500;  // 1e5 queries in all
  int non_404 = 0;
  for (int set = 0; set < kRuleSets; ++set) {
    Generator generator(0x5eed0000u + static_cast<uint64_t>(set));
    const std::vector<IngressObject> objects = generator.objects();
    const CompileResult compiled = compile(objects, {});
    ASSERT_FALSE(compiled.has_errors()) << compiled.diagnostics[0].to_string();
    const ReferenceMatcher reference(objects);
    for (int q = 0; q < kQueriesPerSet; ++q) {
      const std::string host = generator.host();
      const std::string path = generator.request_path();
      const RefAnswer expected = reference.match(host, path);
      const MatchResult match = compiled.table->match(host, path);
      const RefAnswer actual = answer_of(match);
      ASSERT_EQ(actual, expected) << "rule set " << set << ", host \"" << host << "\", path \""
                                  << path << "\"";
      // A matched route really is the rule the reference names.
      if (match.route != nullptr) {
        EXPECT_EQ(match.route->backend.service()->name, expected.backend);
      }
      if (expected.field != "404") ++non_404;
    }
  }
  // The generator must exercise real matches, not mostly 404s.
  EXPECT_GT(non_404, kRuleSets * kQueriesPerSet / 4);
}

}  // namespace
}  // namespace ingresslab::routing
