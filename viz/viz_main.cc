// `ingresslab-viz`: the visualizer. With --screenshot it runs headless: opens the file, runs the
// scenario (or loads the result), draws one view offscreen into a PNG or SVG and exits.
//
//   ingresslab-viz scenarios/cafe.yaml
//   ingresslab-viz result.json --screenshot out.png --view hop:pod
//   ingresslab-viz a.json --compare b.json --screenshot diff.png --view compare
//
// Exit codes: 0 ok, 2 usage or input error (bad option, unreadable or invalid file).
#include <QtCore/QCommandLineParser>
#include <QtCore/QFileInfo>
#include <QtWidgets/QApplication>
#include <cstdio>
#include <iostream>

#include "scenarios/loader.h"
#include "scenarios/yaml_reader.h"
#include "viz/main_window.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kRunTimeoutMs = 24 * 3600 * 1000;

int usage_error(const QString& message) {
  std::cerr << "ingresslab-viz: " << message.toStdString() << "\n";
  return kExitUsage;
}

// Headless, Qt's chatter (no XDG_RUNTIME_DIR, window hints the offscreen platform ignores) is
// not the user's business: only critical messages reach stderr.
void quiet_messages(QtMsgType type, const QMessageLogContext&, const QString& message) {
  if (type == QtCriticalMsg || type == QtFatalMsg)
    std::fprintf(stderr, "%s\n", qUtf8Printable(message));
}

// --screenshot needs no display: use the offscreen platform unless the user chose one. Looked up
// before QApplication exists, so from the raw arguments.
bool wants_headless(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--screenshot" || a.rfind("--screenshot=", 0) == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const bool headless = wants_headless(argc, argv);
  if (headless && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
    qputenv("QT_QPA_PLATFORM", "offscreen");
  if (headless) qInstallMessageHandler(quiet_messages);
  QApplication app(argc, argv);
  QApplication::setApplicationName("ingresslab-viz");
  QApplication::setOrganizationName("ingresslab");

  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Explore where latency comes from: a scenario (run in the background), a RunResult JSON "
      "(`ingresslab run --format json`) or a span trace (`ingresslab run --trace`).");
  parser.addHelpOption();
  parser.addPositionalArgument("file", "scenario, result JSON or trace to open");
  const QCommandLineOption screenshot_opt(
      "screenshot", "render --view offscreen to FILE (.png or .svg) and exit", "FILE");
  const QCommandLineOption view_opt(
      "view", "view for --screenshot: topology, hop:NAME, waterfall or compare", "VIEW",
      "topology");
  const QCommandLineOption compare_opt("compare", "a second result or scenario to compare with",
                                       "FILE2");
  const QCommandLineOption trace_opt("trace", "attach this span trace to an opened result",
                                     "TRACE");
  const QCommandLineOption variant_opt("variant", "run this variant of the scenario", "NAME");
  const QCommandLineOption set_opt("set", "override a scenario field: path=value (repeatable)",
                                   "ASSIGNMENT");
  const QCommandLineOption duration_opt(
      "duration", "measured simulated time per replication, e.g. 5s", "DURATION");
  const QCommandLineOption replications_opt("replications", "independent replications", "N");
  parser.addOptions({screenshot_opt, view_opt, compare_opt, trace_opt, variant_opt, set_opt,
                     duration_opt, replications_opt});
  if (!parser.parse(QApplication::arguments())) return usage_error(parser.errorText());
  if (parser.isSet("help")) {
    std::cout << parser.helpText().toStdString();
    return kExitOk;
  }
  const QStringList files = parser.positionalArguments();
  if (files.size() > 1) return usage_error("one file at a time (use --compare for a second)");

  std::optional<double> duration_s;
  if (parser.isSet(duration_opt)) {
    ingresslab::scenario::Scenario scratch;  // the scenario's own units parser
    const std::string value = parser.value(duration_opt).toStdString();
    if (std::string e = ingresslab::scenarios::assign_field_path(&scratch, "run.duration", value);
        !e.empty())
      return usage_error("--duration " + QString::fromStdString(value + ": " + e));
    duration_s = static_cast<double>(scratch.run().duration().seconds()) +
                 scratch.run().duration().nanos() * 1e-9;
    if (*duration_s <= 0) return usage_error("--duration must be > 0");
  }
  std::optional<int> replications;
  if (parser.isSet(replications_opt)) {
    bool ok = false;
    const int n = parser.value(replications_opt).toInt(&ok);
    if (!ok || n < 1 || n > 1000) return usage_error("--replications must be in [1, 1000]");
    replications = n;
  }
  std::vector<std::pair<std::string, std::string>> assignments;
  for (const QString& s : parser.values(set_opt)) {
    const qsizetype eq = s.indexOf('=');
    if (eq <= 0) return usage_error("--set " + s + ": expected path=value");
    assignments.emplace_back(s.left(eq).toStdString(), s.mid(eq + 1).toStdString());
  }
  ingresslab::viz::View view = ingresslab::viz::View::kTopology;
  QString hop;
  const QString view_name = parser.value(view_opt);
  if (view_name == "topology") {
    view = ingresslab::viz::View::kTopology;
  } else if (view_name.startsWith("hop:") && view_name.size() > 4) {
    view = ingresslab::viz::View::kHop;
    hop = view_name.mid(4);
  } else if (view_name == "waterfall") {
    view = ingresslab::viz::View::kWaterfall;
  } else if (view_name == "compare") {
    view = ingresslab::viz::View::kCompare;
  } else {
    return usage_error("--view " + view_name +
                       ": expected topology, hop:NAME, waterfall or compare");
  }
  if (headless && files.isEmpty()) return usage_error("--screenshot needs a file to open");

  ingresslab::viz::MainWindow window(/*interactive=*/!headless);
  QString last_error;
  QObject::connect(&window, &ingresslab::viz::MainWindow::error_reported,
                   [&](const QString& e) { last_error = e; });
  window.set_run_overrides(duration_s, replications);
  if (!headless) window.show();
  if (files.isEmpty()) return QApplication::exec();

  auto fail = [&](const QString& what) {
    std::cerr << (what.endsWith('\n') ? what : what + "\n").toStdString();
    return kExitUsage;
  };
  // The first run uses the command-line variant and assignments: open, then rerun with them.
  if (!window.open_file(files[0])) {
    if (!headless) return QApplication::exec();  // the dialog said why; keep the window
    return fail(last_error);
  }
  if ((parser.isSet(variant_opt) || !assignments.empty())) {
    if (window.session()->loaded() == nullptr) {
      return usage_error("--variant and --set apply to a scenario, not to a result or trace");
    }
    const std::string variant = parser.value(variant_opt).toStdString();
    bool known = variant.empty();
    for (const auto& v : window.session()->loaded()->scenario.variants())
      known = known || v.name() == variant;
    if (!known)
      return usage_error("--variant " + QString::fromStdString(variant) + ": no such variant");
    window.session()->set_fixed_assignments(assignments);
    window.what_if()->set_variant(variant);  // the panel's reruns keep the variant
    window.set_run_overrides(duration_s, replications);
    window.session()->set_variant(variant);
    window.session()->rerun({});
  }
  if (parser.isSet(trace_opt) && !window.attach_trace(parser.value(trace_opt)) && headless)
    return fail(last_error);
  if (parser.isSet(compare_opt) && !window.open_compare(parser.value(compare_opt)) && headless)
    return fail(last_error);
  if (!headless) return QApplication::exec();

  last_error.clear();
  window.resize(1500, 950);
  window.show();
  if (!window.wait_until_idle(kRunTimeoutMs)) return fail("ingresslab-viz: the run did not end");
  if (!last_error.isEmpty()) return fail(last_error);
  if (window.session()->shown() == nullptr) return fail("ingresslab-viz: no result to show");
  if (!window.show_view(view, hop)) {
    QStringList hops;
    for (const auto& h : window.session()->shown()->hops())
      hops << QString::fromStdString(h.name());
    return usage_error("--view hop:" + hop +
                       ": no such hop in the result (hops: " + hops.join(", ") + ")");
  }
  if (view == ingresslab::viz::View::kCompare && window.session()->compare_runs().size() < 2)
    return usage_error(
        "--view compare: nothing to compare (give --compare FILE2, or a result with variants)");
  if (view == ingresslab::viz::View::kWaterfall && window.session()->trace() == nullptr)
    return usage_error("--view waterfall: no trace (run a scenario, or give --trace TRACE)");
  QApplication::processEvents();
  QString error;
  if (!window.export_view(view, parser.value(screenshot_opt), &error)) return fail(error);
  return kExitOk;
}
