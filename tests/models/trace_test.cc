// The per-request trace: every measured request has a span, and a successful request's hops
// account for all of its end-to-end latency (nothing in the path is left unattributed).
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>
#include <cstdio>

#include "models/simulate.h"
#include "scenarios/loader.h"

namespace ingresslab::models {
namespace {

std::vector<result::Span> read_trace(const std::string& path) {
  std::vector<result::Span> spans;
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << path;
  google::protobuf::io::FileInputStream in(fd);
  for (;;) {
    result::Span span;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&span, &in, &clean_eof)) {
      EXPECT_TRUE(clean_eof) << "corrupt trace";
      break;
    }
    spans.push_back(std::move(span));
  }
  ::close(fd);
  return spans;
}

TEST(Trace, EveryRequestHasASpanAndHopsAddUpToTheLatency) {
  // The cafe scenario (TLS, keep-alive, NodePort forwarding, pools), short.
  const auto loaded = scenarios::load_scenario_file(INGRESSLAB_SOURCE_DIR "/scenarios/cafe.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", {});
  ASSERT_TRUE(resolved.ok());
  char path[] = "/tmp/ingresslab-trace-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  SimulateOptions options;
  options.replications = 2;
  options.duration_s = 3;
  options.trace_path = path;
  const SimulateOutput out = simulate(resolved.scenario, loaded.base_dir, options);
  ASSERT_TRUE(out.ok()) << out.error;
  const auto spans = read_trace(path);
  std::remove(path);
  EXPECT_EQ(spans.size(), out.result.end_to_end().requests());
  uint64_t ok = 0;
  for (const auto& span : spans) {
    if (span.status() != "ok") continue;
    ++ok;
    int64_t sum = 0;
    for (const auto& hop : span.hops())
      sum += hop.queue_ns() + hop.service_ns();
    ASSERT_EQ(sum, span.end_ns() - span.start_ns()) << span.DebugString();
  }
  EXPECT_EQ(ok, out.result.end_to_end().succeeded());
}

TEST(Trace, UnwritablePathIsAnError) {
  const auto loaded = scenarios::load_scenario_file(INGRESSLAB_SOURCE_DIR "/scenarios/cafe.yaml");
  const auto resolved = scenarios::resolve_scenario(loaded, "", {});
  SimulateOptions options;
  options.replications = 1;
  options.duration_s = 1;
  options.trace_path = "/nonexistent-dir/trace.bin";
  const SimulateOutput out = simulate(resolved.scenario, loaded.base_dir, options);
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.find("trace"), std::string::npos);
}

}  // namespace
}  // namespace ingresslab::models
