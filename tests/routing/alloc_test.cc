// RouteTable::match and tls_for_sni must not allocate. This binary replaces the global operator
// new to count allocations (hence a test executable of its own).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "realproxy/routing/route_table.h"
#include "tests/routing/routing_test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC 12 cannot see that these replacements pair malloc with free and warns after inlining.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Every replaceable allocation function is replaced (including nothrow and aligned forms), so
// that each allocation is counted and each deallocation pairs with our allocator (also under
// AddressSanitizer, which otherwise supplies the forms left out).
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto alignment = static_cast<std::size_t>(align);
  const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  if (void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return operator new(size, align);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return operator new(size, std::nothrow);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace ingresslab::routing {
namespace {

using test_util::exact;
using test_util::ingress;
using test_util::prefix;
using test_util::rule;

TEST(Allocation, MatchAndSniDoNotAllocate) {
  std::vector<IngressObject> objects;
  for (int i = 0; i < 50; ++i) {
    const std::string host = "host" + std::to_string(i) + ".example.com";
    IngressObject object = ingress(
        "ing" + std::to_string(i),
        {rule(host, {prefix("/", "root"), prefix("/api/v1", "api"), exact("/api/v1/x", "x")}),
         rule("*.wild" + std::to_string(i) + ".com", {prefix("/a/b/c", "w")})},
        i);
    object.tls = {IngressTls{{host}, "cert"}};
    objects.push_back(object);
  }
  IngressObject fallback = ingress("fallback", {rule("", {prefix("/static", "s")})}, 99);
  fallback.default_backend = test_util::service("default", 80);
  objects.push_back(fallback);
  const CompileResult compiled = compile(objects, {});
  ASSERT_FALSE(compiled.has_errors());
  const RouteTable& table = *compiled.table;

  const std::string long_path(10000, '/');
  const char* const hosts[] = {
      "host7.example.com", "HOST7.EXAMPLE.COM:8080", "q.wild3.com", "nope.org", "", "[::1]:80"};
  const char* const paths[] = {
      "/", "/api/v1/x", "/api/v1/x/y?z", "/a/b/c/d", "/static/js", "/nothing", "", "*"};
  const long before = g_allocations.load();
  int found = 0;
  for (int repeat = 0; repeat < 100; ++repeat) {
    for (const char* host : hosts) {
      for (const char* path : paths)
        found += table.match(host, path).found() ? 1 : 0;
      found += table.match(host, long_path).found() ? 1 : 0;
      found += table.tls_for_sni(host) != nullptr ? 1 : 0;
    }
  }
  const long after = g_allocations.load();
  EXPECT_EQ(after - before, 0);
  EXPECT_GT(found, 0);
}

}  // namespace
}  // namespace ingresslab::routing
