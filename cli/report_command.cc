// `ingresslab report RESULT.json -o report.html`: the HTML report of a saved result — `run`,
// `compare`, `sweep` or `plan` with --format json — without simulating again.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/proto/experiments.pb.h"
#include "cli/report_experiments.h"
#include "cli/report_html.h"
#include "viz/offscreen.h"

namespace ingresslab::cli {
namespace {

struct ReportArgs {
  std::string input;
  std::string output;
  std::string scenario;
};

int report(const ReportArgs& a) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(a.input, ec)) {
    std::cerr << "ingresslab report: " << a.input << ": no such file\n";
    return kExitUsage;
  }
  if (std::string problem = output_path_problem(a.output); !problem.empty()) {
    std::cerr << "ingresslab report: -o " << a.output << ": " << problem << "\n";
    return kExitUsage;
  }
  const std::string json = read_text_file(a.input);
  // Which command wrote it: compare/sweep/plan say so in "kind"; a run result has no kind.
  google::protobuf::Struct generic;
  if (auto status = google::protobuf::util::JsonStringToMessage(json, &generic); !status.ok()) {
    std::cerr << "ingresslab report: " << a.input << ": not JSON: " << status.message() << "\n";
    return kExitUsage;
  }
  std::string kind;
  if (auto it = generic.fields().find("kind"); it != generic.fields().end())
    kind = it->second.string_value();
  google::protobuf::util::JsonParseOptions strict;
  auto parse = [&](google::protobuf::Message* m) -> bool {
    if (auto status = google::protobuf::util::JsonStringToMessage(json, m, strict); !status.ok()) {
      std::cerr << "ingresslab report: " << a.input << ": not a "
                << (kind.empty() ? std::string("run") : kind)
                << " result (from --format json): " << status.message() << "\n";
      return false;
    }
    return true;
  };
  std::string html;
  if (kind == "compare") {
    experiment::CompareResult c;
    if (!parse(&c)) return kExitUsage;
    if (c.order_size() < 1 || c.variants_size() < 1) {
      std::cerr << "ingresslab report: " << a.input << ": a compare result without variants\n";
      return kExitUsage;
    }
    for (const std::string& name : c.order()) {
      if (c.variants().count(name) == 0) {
        std::cerr << "ingresslab report: " << a.input << ": order names '" << name
                  << "', which is not in variants\n";
        return kExitUsage;
      }
    }
    html = render_compare_html(c);
  } else if (kind == "sweep") {
    experiment::SweepResult s;
    if (!parse(&s)) return kExitUsage;
    for (const auto& p : s.points()) {
      for (const auto& axis : s.axes()) {
        if (p.settings().count(axis.path()) == 0) {
          std::cerr << "ingresslab report: " << a.input << ": a point lacks axis " << axis.path()
                    << "\n";
          return kExitUsage;
        }
      }
    }
    html = render_sweep_html(s);
  } else if (kind == "plan") {
    experiment::PlanResult p;
    if (!parse(&p)) return kExitUsage;
    if (p.best() >= p.candidates_size()) {
      std::cerr << "ingresslab report: " << a.input << ": best is out of range\n";
      return kExitUsage;
    }
    html = render_plan_html(p);
  } else if (kind.empty()) {
    result::RunResult r;
    if (!parse(&r)) return kExitUsage;
    const std::string scenario_text = a.scenario.empty() ? "" : read_text_file(a.scenario);
    viz::OffscreenApplication qt;
    html = render_html(r, scenario_text, recorded_command());
  } else {
    std::cerr << "ingresslab report: " << a.input << ": unknown result kind '" << kind
              << "' (expected run, compare, sweep or plan)\n";
    return kExitUsage;
  }
  if (!write_output(a.output, html, "report")) return kExitUsage;
  return kExitOk;
}

}  // namespace

void add_report_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "report",
      "Render a saved result (run, compare, sweep or plan with --format json) as a "
      "self-contained HTML report.\n\n"
      "Examples:\n"
      "  ingresslab run scenarios/cafe.yaml --format json -o result.json\n"
      "  ingresslab report result.json -o report.html --scenario scenarios/cafe.yaml\n"
      "  ingresslab report sweep.json -o sweep.html");
  auto args = std::make_shared<ReportArgs>();
  cmd->add_option("result", args->input, "a JSON result file")->required();
  cmd->add_option("-o,--output", args->output, "the HTML file to write")->required();
  cmd->add_option("--scenario", args->scenario,
                  "the scenario file, shown in a run report (compare/sweep/plan results carry "
                  "their own)");
  cmd->callback([args, exit_code] { *exit_code = report(*args); });
}

}  // namespace ingresslab::cli
