// What compare, sweep and plan share: parsing `path=value` overrides and value ranges, resolving
// scenarios with them, the total offered rate, simulating many configurations over the same
// replication seeds (common random numbers) with one progress display and Ctrl-C, aggregating
// replications, and paired differences.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/proto/experiments.pb.h"
#include "scenarios/loader.h"
#include "scenarios/proto/result.pb.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::cli {

using Assignment = std::pair<std::string, std::string>;

// The pseudo path `workload.rps`: the total open-loop rate. Assigning it scales every open-loop
// client group's rate by the same factor so they sum to the value (closed-loop groups: an error).
inline constexpr const char* kTotalRatePath = "workload.rps";

// Splits `path=value`; on error returns false and sets *error ("--set X: expected path=value").
bool parse_assignment(const std::string& text, const std::string& flag, Assignment* out,
                      std::string* error);
// Every `--set path=value` of a command, in order; on a malformed one prints "WHO: why" to
// stderr and returns false.
bool parse_set_flags(const std::vector<std::string>& sets, const std::string& who,
                     std::vector<Assignment>* out);

// The values of a range or list: `a..b:step` (inclusive; numbers with an optional unit suffix
// that a and b share, e.g. `1000..20000:1000`, `1ms..5ms:1ms`, `1..8` with step 1), `v1,v2,v3`,
// or a single value. Returns false and sets *error (what is wrong) for a malformed range, a step
// <= 0, b < a, or more than `max_values` values.
bool expand_values(const std::string& text, std::vector<std::string>* out, std::string* error,
                   size_t max_values = 10000);

// The leading number of a value ("1000/s" -> 1000), or nullopt.
std::optional<double> leading_number(const std::string& value);

// Sum of the open-loop client groups' rates (requests/s) of a resolved scenario; sets
// *has_closed_loop when a closed-loop group exists.
double total_open_loop_rate(const scenario::Scenario& resolved, bool* has_closed_loop = nullptr);

// Resolves `variant` of `loaded` with `assignments` applied in order; `workload.rps` is replaced
// by per-group rate assignments. On failure returns false and sets *error to the diagnostics
// (file:line, field path).
bool resolve_with(const scenarios::LoadedScenario& loaded, const std::string& variant,
                  const std::vector<Assignment>& assignments, scenario::Scenario* out,
                  std::string* error);

// The Ctrl-C flag shared by every command: installs the SIGINT handler on first use. The first
// Ctrl-C sets interrupt_flag() (no new replications; running ones finish), a second one
// abandon_flag() (running replications stop too: models::SimulateOptions::abandon).
const std::atomic<bool>* interrupt_flag();
const std::atomic<bool>* abandon_flag();
bool interrupted();

// Progress on stderr for work longer than about a second: a bar with ETA when stderr is a TTY,
// otherwise a plain line at most every 2 s. Silent for work that ends within the first second.
class Progress {
 public:
  Progress(std::string label, int total);
  // Thread-safe enough for engine::run_replications (it serialises calls).
  void update(int done);
  // Ends the bar's line (TTY) if anything was shown.
  void finish();
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

 private:
  std::string label_;
  int total_;
  double started_;
  double last_line_ = -1;
  bool tty_;
  bool shown_ = false;
  bool finished_ = false;
};

// One configuration to simulate: a resolved scenario and where its relative paths resolve.
struct Configuration {
  std::string name;
  scenario::Scenario scenario;
  std::string base_dir;
};

struct ReplicatedRuns {
  // [configuration][replication]: nullopt when cancelled before it ran.
  std::vector<std::vector<std::optional<result::RunResult>>> runs;
  std::string error;  // a configuration could not be simulated (says which and why)
  bool cancelled = false;
};

// The seed of replication r: the same for every configuration (common random numbers).
uint64_t replication_seed(uint64_t seed, int replication);

// Simulates every configuration `replications` times, replication r with replication_seed(seed,
// r), one replication per task on `threads` threads (0: one per core), with a progress display
// labelled `label` and the Ctrl-C flag. `duration_s` overrides each scenario's run.duration.
ReplicatedRuns simulate_replicated(const std::vector<Configuration>& configurations,
                                   int replications, uint64_t seed, int threads,
                                   std::optional<double> duration_s, const std::string& label);

// One RunResult from independent replications of the same configuration (docs/cli.md): latency
// percentiles and per-hop figures are means over replications, the mean latency and success
// ratio are pooled over every request, throughput is the mean with its 95% CI, counts are summed,
// histograms merged. Missing (nullopt) replications are skipped; partial is set if any is
// missing. REQUIRES: at least one present.
result::RunResult aggregate_replications(const std::vector<std::optional<result::RunResult>>& runs,
                                         uint64_t seed);

// The per-replication metrics that compare and plan judge: end-to-end latency mean, p50, p90,
// p99, p99.9 (ms), throughput (req/s), success ratio.
struct MetricSpec {
  const char* name;       // latency_p99_ms, ...
  const char* label;      // "p99 (ms)"
  bool higher_is_better;  // throughput, success
  double (*of)(const result::RunResult&);
};
const std::vector<MetricSpec>& compared_metrics();

// Mean of `values` and its 95% Student-t interval (half width 0 with fewer than 2 values).
struct MeanCi {
  double mean = 0;
  double lower = 0;
  double upper = 0;
  double half_width = 0;
  size_t n = 0;
};
MeanCi mean_ci(const std::vector<double>& values);

// The differences of every configuration against the first (`order[0]`) on each of
// compared_metrics(), from the replications both finished (runs[configuration][replication]):
// mean of the paired differences, 95% Student-t CI, significant when it excludes 0.
std::vector<experiment::MetricDifference> paired_differences(
    const std::vector<std::string>& order,
    const std::vector<std::vector<std::optional<result::RunResult>>>& runs);

// Fills s->knees: along each line of the grid (the first axis varying, the others fixed), the first
// point whose end-to-end p99 is >= s->knee_factor() x the p99 of the line's first point.
void find_knees(experiment::SweepResult* s);

// A duration flag (`--duration 30s`, `--warmup 500ms`) in the scenario's units, read through the
// loader so it accepts exactly what a scenario file does. On error prints "WHO: FLAG TEXT: why"
// to stderr and returns nullopt; with `positive`, 0 is an error too.
std::optional<double> parse_duration_flag(const std::string& who, const std::string& flag,
                                          const std::string& text, bool positive);

// `arg` as a POSIX shell word, and a command line from its words (for "how to reproduce").
std::string shell_quote(const std::string& arg);
std::string reproduce_command(int argc, const char* const* argv);
// The command line recorded by main() (cd DIR + the words), or "" if none.
const std::string& recorded_command();

// The file's text ("" if unreadable), for the report's scenario section.
std::string read_text_file(const std::string& path);

// Writes `text` to `path` ("" or "-": stdout). Returns false and prints to stderr on failure.
bool write_output(const std::string& path, const std::string& text, const std::string& command);

// Why a report cannot be written to `path`, or "" when it looks writable (checked before
// simulating so a long run does not end in a typo).
std::string output_path_problem(const std::string& path);

// The options compare, sweep and plan share.
struct CommonArgs {
  std::optional<uint64_t> seed;
  std::optional<int> replications;
  std::optional<int> threads;
  std::string duration;
  std::vector<std::string> sets;
  std::string format = "text";
  std::string output;
  std::string report;
};
void add_common_options(CLI::App* cmd, CommonArgs* args);

// CommonArgs checked: --set parsed, --duration in seconds, output paths writable.
struct CommonSettings {
  std::vector<Assignment> sets;
  std::optional<double> duration_s;
};
// Prints what is wrong ("ingresslab COMMAND: ...") and returns false.
bool check_common(const CommonArgs& args, const std::string& command, CommonSettings* out);

// Replications, seed and threads: the flag, else the scenario's run settings.
int replications_of(const CommonArgs& args, const scenario::Scenario& resolved);
uint64_t seed_of(const CommonArgs& args, const scenario::Scenario& resolved);
int threads_of(const CommonArgs& args, const scenario::Scenario& resolved);

// Prints the protobuf JSON mapping with proto field names and every field.
std::string to_json(const google::protobuf::Message& message);

}  // namespace ingresslab::cli
