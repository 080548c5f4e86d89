// Arrival processes of open-loop client groups: one small class per process behind one interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/time.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

// The arrivals of a replayed CSV (process replay), read once per run and shared read-only by the
// replications.
struct ReplayTrace {
  static constexpr uint32_t kFromMix = UINT32_MAX;
  struct Key {
    std::string host, path, method;
  };
  std::vector<int64_t> at_ns;  // arrival times since the start of a replication, sorted, / speed
  std::vector<uint32_t> key;   // per arrival: index into `keys`, or kFromMix
  std::vector<Key> keys;       // the distinct (host, path, method) rows name
};

// Reads `replay.csv` (relative to `base_dir` unless absolute): a header naming the columns
// `timestamp` (required: seconds from the start as a number or with a unit, `1.5`, `250ms`, or
// RFC 3339 times, taken relative to the earliest) and optionally `host`, `path`, `method` (then
// each row is a request of that class; without them the group's mix is drawn). Rows are sorted by
// time (access logs interleave workers); empty lines are skipped. Returns false with
// "<file>:<line>: <what>" in *error on a bad file.
bool load_replay_trace(const scenario::Replay& replay, const std::string& base_dir,
                       ReplayTrace* out, std::string* error);

class ArrivalProcess {
 public:
  virtual ~ArrivalProcess() = default;
  // Time from the arrival at `now` to the next one. Duration::max() = no more arrivals.
  virtual engine::Duration next_gap(engine::Time now, engine::Rng& rng) = 0;
  // Long-run mean rate (requests per second), for reports and the analytic model.
  virtual double mean_rate() const = 0;
  // The request class key (ReplayTrace::keys index) of the arrival that is due now, called
  // before next_gap() schedules the one after it; kFromMix = draw the group's mix.
  virtual uint32_t arrival_key() const { return ReplayTrace::kFromMix; }
};

// Builds the process for `open_loop`; process replay needs the group's `replay` trace (not
// owned; it must outlive the process). On a problem returns nullptr and sets *error.
std::unique_ptr<ArrivalProcess> make_arrival_process(const scenario::OpenLoop& open_loop,
                                                     const ReplayTrace* replay, std::string* error);

}  // namespace ingresslab::models
