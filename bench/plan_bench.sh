#!/usr/bin/env bash
# Benchmark of `ingresslab plan` on the cafe scenario: 120 candidates (ingress replicas 1..4 x
# coffee-svc pods 1..6 x tea-svc pods 1..5, on 8 nodes so that nearly all of them fit), analytic
# pruning, simulation of the cheapest survivors, and the headroom search. Goal (issue 5): < 60 s on
# 2 cores. Prints the wall time and the plan's summary; exits non-zero if the goal is missed.
#
#   bench/plan_bench.sh [path/to/ingresslab]     (default: build/bin/ingresslab)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build/bin/ingresslab}"
goal_s=60
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
args=(plan "$here/scenarios/cafe.yaml" --target-rps 6000 --slo p99=50ms --slo success=99.9%
      --set 'cluster.nodes[node].count=8'
      --vary ingress.replicas=1..4
      --vary 'services[coffee-svc].deployment.replicas=1..6'
      --vary 'services[tea-svc].deployment.replicas=1..5'
      --cost node=0.10 --cost core=0.04
      --threads 2 --format json -o "$out/plan.json")

python3 - "$bin" "$out" "$goal_s" "${args[@]}" <<'PY'
import json, resource, subprocess, sys, time
binary, out, goal = sys.argv[1], sys.argv[2], float(sys.argv[3])
start = time.monotonic()
run = subprocess.run([binary] + sys.argv[4:], stderr=subprocess.PIPE, text=True)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
if run.returncode != 0:
    sys.stderr.write(run.stderr)
    sys.exit(1)
p = json.load(open(out + "/plan.json"))
c = p["candidates"]
best = c[p["best"]] if p["best"] >= 0 else None
print(f"candidates {len(c)}: infeasible {p['infeasible']}, pruned {p['pruned']}, "
      f"simulated {p['simulated']} x {p['replications']} replications")
if best:
    print("best: " + ", ".join(f"{k}={v}" for k, v in sorted(best["settings"].items())) +
          f"  cost {best['cost_per_hour']:.2f}/h  headroom {p['headroom_rps']:.0f} req/s "
          f"({len(p['load_curve']) - 1} rates simulated by the headroom search)")
with open("/proc/loadavg") as f:
    load = f.read().split()[0]
print(f"wall time {wall:.1f} s (goal < {goal:.0f} s), CPU time {usage.ru_utime + usage.ru_stime:.1f} s, "
      f"load average {load}")
sys.exit(0 if len(c) >= 100 and wall < goal else 1)
PY
