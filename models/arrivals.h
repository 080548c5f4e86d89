// Arrival processes of open-loop client groups: one small class per process behind one interface.
#pragma once

#include <memory>
#include <string>

#include "engine/random.h"
#include "engine/time.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

class ArrivalProcess {
 public:
  virtual ~ArrivalProcess() = default;
  // Time from the arrival at `now` to the next one. Duration::max() = no more arrivals.
  virtual engine::Duration next_gap(engine::Time now, engine::Rng& rng) = 0;
  // Long-run mean rate (requests per second), for reports and the analytic model.
  virtual double mean_rate() const = 0;
};

// Builds the process for `open_loop`; `base_dir` resolves a replay CSV. On a problem returns
// nullptr and sets *error.
std::unique_ptr<ArrivalProcess> make_arrival_process(const scenario::OpenLoop& open_loop,
                                                     const std::string& base_dir,
                                                     std::string* error);

}  // namespace ingresslab::models
