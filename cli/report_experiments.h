// HTML reports of compare, sweep and plan: the same self-contained page as the run report
// (cli/report_html.h: inline CSS and SVG charts, no scripts, nothing fetched), summary and
// recommendation first. Numbers carry data-key attributes naming their JSON field, so tests and
// scripts can match the page to the --format json output.
#pragma once

#include <string>

#include "cli/proto/experiments.pb.h"
#include "scenarios/proto/result.pb.h"

namespace ingresslab::cli {

// The compared configurations as one RunResult with `variants` (the baseline's figures at the
// top level), as `run` reports a file with variants.
result::RunResult compare_as_run_result(const experiment::CompareResult& c);

// Each creates an offscreen Qt application if none exists (the charts need one).
std::string render_compare_html(const experiment::CompareResult& c);
std::string render_sweep_html(const experiment::SweepResult& s);
std::string render_plan_html(const experiment::PlanResult& p);

}  // namespace ingresslab::cli
