// Charts of one hop, of one request's path, and of per-hop differences between runs, for the
// visualizer (Qt Charts; the run-level charts the HTML report shares are in viz/charts.h).
// Same contract as charts.h: pure, each builder returns a new chart the caller owns.
// REQUIRES for every function here: a QApplication exists.
#pragma once

#include <QtCharts/QChart>
#include <memory>
#include <vector>

#include "scenarios/proto/result.pb.h"
#include "viz/charts.h"
#include "viz/trace_summary.h"

namespace ingresslab::viz {

// The hop's latency (queueing + service) and queueing-only histograms as shares of the hop's
// requests per bin (10 bins per decade, log x axis in ms). Requests with no queueing at all
// (0 ms, which a log axis cannot show) are counted in the legend instead.
std::unique_ptr<QChart> hop_histogram_chart(const result::Hop& hop);

// CDFs of the hop's latency and of its queueing (share of requests at most x ms, log x axis).
std::unique_ptr<QChart> hop_cdf_chart(const result::Hop& hop);

// The hop over the run, from hop.time_series: p50 and p99 latency (left axis, ms), requests/s
// (right axis) and utilisation (%, second right axis, when the hop has servers), with every
// event of `events` marked by a vertical dashed line labelled with its kind and target.
std::unique_ptr<QChart> hop_time_series_chart(const result::Hop& hop,
                                              const std::vector<result::Event>& events);

// One request's path as a waterfall: a row per hop in path order, each bar starting where the
// previous hop ended, split into queueing (dark) and service (light), in ms.
std::unique_ptr<QChart> waterfall_chart(const PercentileSpan& request);

// A percentile of every hop, one bar per run side by side (hops as categories).
std::unique_ptr<QChart> hop_percentile_bars_chart(const std::vector<NamedRun>& runs,
                                                  Percentile percentile);

}  // namespace ingresslab::viz
