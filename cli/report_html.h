// The HTML report of a run (`ingresslab run FILE --report report.html`): one self-contained file
// — inline CSS, inline SVG charts (viz/charts.h), no scripts, nothing fetched — that a person can
// open, mail or archive. Numbers are the RunResult's, formatted as the JSON output's values
// rounded: latencies to 3 decimals in ms, rates to 1 decimal, ratios as percentages.
#pragma once

#include <string>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::cli {

// The report: summary and headline numbers (with variants, a comparison and the best on p99),
// charts, per-hop / route / component / error / connection tables, run notes, the scenario file
// (collapsed, escaped) and the command that reproduces the run.
// REQUIRES: a QApplication exists (viz::OffscreenApplication); the charts are drawn with Qt.
std::string render_html(const result::RunResult& result, const std::string& scenario_yaml_text,
                        const std::string& command_line);

}  // namespace ingresslab::cli
