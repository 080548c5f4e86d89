// Independent replications on a thread pool.
//
// A replication is one complete, independent run of a model with its own Simulation and its own
// random streams (derived from the scenario seed and the replication index, see random.h). The
// runner executes `body(replication_index)` for every index on up to `threads` threads and returns
// the results in index order, so the merged statistics do not depend on the thread count or on
// scheduling: 1 thread and 8 threads give identical results.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ingresslab::engine {

struct ReplicationOptions {
  int replications = 1;
  // 0 = std::thread::hardware_concurrency(). Never more threads than replications.
  int threads = 0;
  // Optional: set to true from another thread (e.g. a SIGINT handler's flag) to stop starting new
  // replications. Results of unstarted ones are std::nullopt; a running one finishes, unless its
  // body watches the flag too and throws ReplicationCancelled (its result is then std::nullopt).
  const std::atomic<bool>* cancel = nullptr;
  // Optional: called (from a worker thread, serialised) after each replication finishes with the
  // number finished so far.
  std::function<void(int finished, int total)> on_progress;
};

// Thrown by a replication's body that saw ReplicationOptions::cancel set and abandoned its run.
struct ReplicationCancelled {};

// Runs body(i) for i in [0, options.replications). Results are in index order; an entry is
// std::nullopt only if the run was cancelled before that replication started or while it ran
// (ReplicationCancelled). If a body throws anything else,
// the remaining unstarted replications are skipped and the first exception (lowest index) is
// rethrown here after all threads have joined.
template <class Result>
std::vector<std::optional<Result>> run_replications(const ReplicationOptions& options,
                                                    const std::function<Result(int)>& body) {
  const int total = std::max(0, options.replications);
  std::vector<std::optional<Result>> results(static_cast<size_t>(total));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(total));
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, std::max(1, total));

  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex progress_mutex;
  int finished = 0;
  auto worker = [&] {
    for (;;) {
      if (failed.load() || (options.cancel != nullptr && options.cancel->load())) return;
      const int i = next.fetch_add(1);
      if (i >= total) return;
      try {
        results[static_cast<size_t>(i)].emplace(body(i));
      } catch (const ReplicationCancelled&) {
        continue;  // abandoned: no result, no progress
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
        failed.store(true);
      }
      if (options.on_progress) {
        std::lock_guard lock(progress_mutex);
        options.on_progress(++finished, total);
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    pool.reserve(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t)
      pool.emplace_back(worker);
  }  // jthreads join here
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return results;
}

}  // namespace ingresslab::engine
