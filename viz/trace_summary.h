// What the visualizer needs from a per-request span trace (result.proto's Span, length-delimited;
// see models::SimulateOptions::trace_path): per-hop latency and queueing histograms, and the
// requests at the end-to-end p50 / p99 / p99.9 for the tail waterfall.
//
// A trace can hold millions of spans; it is read twice as a stream (never held in memory): once
// for the histograms and the sorted end-to-end latencies, once to pick the percentile requests.
// No Qt here.
#pragma once

#include <string>
#include <vector>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::viz {

// The request at one end-to-end percentile of the successful requests in a trace.
struct PercentileSpan {
  double quantile = 0;  // 0.5, 0.99, 0.999
  std::string label;    // "p50", "p99", "p99.9"
  result::Span span;
};

struct TraceSummary {
  uint64_t spans = 0;      // every span read
  uint64_t succeeded = 0;  // spans with status "ok"
  // One entry per hop name, in the order hops first appear in the trace (the path order), with
  // name, requests, latency_ms / queueing_ms / service_ms percentiles, histogram and
  // queueing_histogram filled from the successful spans; utilization is not known from a trace.
  std::vector<result::Hop> hops;
  // End-to-end latency of the successful spans.
  result::LatencyMs latency_ms;
  std::vector<result::HistogramBucket> latency_histogram;
  // The successful requests at p50, p99 and p99.9 (nearest rank), in that order; empty when no
  // request succeeded.
  std::vector<PercentileSpan> tail;
};

// Reads the trace at `path`. Returns false and sets *error ("PATH: not a span trace (...)") when
// the file cannot be opened, or is not a sequence of length-delimited Span messages.
bool summarize_trace(const std::string& path, TraceSummary* out, std::string* error);

// For each hop of `result` whose histogram (or queueing_histogram) is empty, copies the one of
// the same hop in `trace`: the fallback for results written before models filled them.
void fill_missing_hop_histograms(const TraceSummary& trace, result::RunResult* result);

// A RunResult with what a trace alone tells: end-to-end latency and its histogram, request
// counts, and the hops (for opening a trace without its result).
result::RunResult result_from_trace(const TraceSummary& trace, const std::string& name);

}  // namespace ingresslab::viz
