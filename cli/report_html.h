// The HTML report of a run (`ingresslab run FILE --report report.html`): one self-contained file
// — inline CSS, inline SVG charts (viz/charts.h), no scripts, nothing fetched — that a person can
// open, mail or archive. Numbers are the RunResult's, formatted as the JSON output's values
// rounded: latencies to 3 decimals in ms, rates to 1 decimal, ratios as percentages.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "scenarios/proto/result.pb.h"

class QChart;

namespace ingresslab::cli {

// The report: summary and headline numbers (with variants, a comparison and the best on p99),
// charts, per-hop / route / component / error / connection tables, run notes, the scenario file
// (collapsed, escaped) and the command that reproduces the run.
// REQUIRES: a QApplication exists (viz::OffscreenApplication); the charts are drawn with Qt.
// `extra_summary_html` goes right after the summary (compare puts its differences there).
std::string render_html(const result::RunResult& result, const std::string& scenario_yaml_text,
                        const std::string& command_line,
                        const std::string& extra_summary_html = "");

// Building blocks for the other reports (cli/report_experiments.cc), so every page has the same
// frame, style and number formats.
std::string html_escape(std::string_view text);
std::string html_ms(double v);                         // 3 decimals
std::string html_rps(double v);                        // 1 decimal
std::string html_percent(double ratio, int decimals);  // "99.900%"
// A <figure> with the chart inline as SVG. REQUIRES: a QApplication exists.
std::string html_figure(std::unique_ptr<QChart> chart, const std::string& label,
                        const std::string& caption);
// The run report's charts section for `result` (CDF, per-hop breakdown, utilisation, time).
// REQUIRES: a QApplication exists.
std::string html_run_charts(const result::RunResult& result);
// From <!DOCTYPE html> to <main> (style included); and the scenario (collapsed), how to
// reproduce, the footer and the closing tags.
std::string html_head(const std::string& title);
std::string html_page_end(const std::string& scenario_text, const std::string& command_line);

}  // namespace ingresslab::cli
