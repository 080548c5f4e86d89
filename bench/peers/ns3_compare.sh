#!/usr/bin/env bash
# Side-by-side: ingresslab's kernel (BM_Hold in build/bin/engine_bench) vs ns-3.37's schedulers
# (build/bin/ns3_hold, built when Debian's libns3-dev is installed) on the same hold model, in one
# run, alternating A B A B. Prints events/s for each and the ratio to ns-3's fastest scheduler.
#
#   bench/peers/ns3_compare.sh [BUILD_DIR]        (default: build)
set -euo pipefail
BUILD=${1:-build}
OURS=$BUILD/bin/engine_bench
PEER=$BUILD/bin/ns3_hold
if [[ ! -x $PEER ]]; then
  echo "ns3_compare: $PEER not built; apt-get install libns3-dev and re-run cmake" >&2
  exit 2
fi
ROUNDS=${ROUNDS:-3}
# A peer run that takes longer than this is stopped and reported as "did not finish" (ns-3's
# CalendarScheduler degenerates on the 10^6 hold model: over 11 minutes for 10^7 events).
PEER_TIMEOUT=${PEER_TIMEOUT:-120}
SCHEDULERS=(MapScheduler HeapScheduler CalendarScheduler PriorityQueueScheduler)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for n in 10000 1000000; do
  events=$(( n >= 1000000 ? 10000000 : 5000000 ))
  declare -A peer=()
  ours=()
  for ((r = 0; r < ROUNDS; r++)); do
    v=$("$OURS" --benchmark_filter="^BM_Hold/$n\$" --benchmark_min_time=1 --benchmark_format=csv 2>/dev/null |
      awk -F, '/BM_Hold/ {print $(NF-3)}')
    ours+=("$v")
    for s in "${SCHEDULERS[@]}"; do
      if out=$(timeout "$PEER_TIMEOUT" "$PEER" "$s" "$n" "$events"); then
        peer[$s]+="$(awk '{print $4}' <<<"$out") "
      else
        peer[$s]+="0 "  # did not finish in PEER_TIMEOUT: rate < events / PEER_TIMEOUT
      fi
    done
  done
  ours_med=$(printf '%s\n' "${ours[@]}" | median)
  best_name="" best=0
  for s in "${SCHEDULERS[@]}"; do
    m=$(printf '%s\n' ${peer[$s]} | median)
    if [[ $m == 0 ]]; then
      printf 'N=%-8d ns-3 %-24s did not finish %d events in %ds (< %d events/s)\n' "$n" "$s" \
        "$events" "$PEER_TIMEOUT" $((events / PEER_TIMEOUT))
      continue
    fi
    printf 'N=%-8d ns-3 %-24s %12.0f events/s\n' "$n" "$s" "$m"
    if awk -v a="$m" -v b="$best" 'BEGIN {exit !(a > b)}'; then best=$m best_name=$s; fi
  done
  printf 'N=%-8d ingresslab BM_Hold (4-ary heap)  %12.0f events/s\n' "$n" "$ours_med"
  awk -v a="$ours_med" -v b="$best" -v n="$n" -v s="$best_name" \
    'BEGIN {printf "N=%-8d ratio ingresslab / ns-3 %s = %.2fx\n", n, s, a / b}'
  unset peer
done
