#!/usr/bin/env bash
# realproxy vs nginx vs haproxy, in front of the same realpod upstream on 127.0.0.1, alternating
# A B C A B C (ROUNDS times), measured with wrk. Prints per scenario each proxy's requests/s, p50,
# p99 and proxy CPU per request (from /proc/PID/stat of the proxy's processes), the median over
# the rounds, and realproxy's ratios to nginx and haproxy.
#
#   bench/peers/proxy_compare.sh [BUILD_DIR]      (default: build; needs bin/realproxy, bin/realpod)
#
# Environment: DURATION (s per run, 8), ROUNDS (2), WORKERS (2: realproxy --workers, nginx
# worker_processes, haproxy nbthread), CONNECTIONS (64), WRK_THREADS (2), HANDSHAKE_CONNECTIONS (8),
# HANDSHAKE_CLIENTS (2), H2_STREAMS (10), SCENARIOS (all: "http_keepalive https_ecdsa_keepalive
# https_rsa_keepalive https_ecdsa_h2 http_new_connection https_ecdsa_resumed
# https_ecdsa_full_handshake https_rsa_full_handshake").
#
# Scenarios: *_keepalive — wrk keeps its connections; https_ecdsa_h2 — HTTP/2 over TLS (ALPN h2),
# h2load with CONNECTIONS connections of H2_STREAMS concurrent streams (percentiles from h2load's
# per-request log); http_new_connection — "Connection: close",
# a new TCP connection per request; https_ecdsa_resumed — wrk with "Connection: close" over TLS
# (wrk keeps its SSL objects across reconnects, so after the first, every handshake is a resumed
# one); https_*_full_handshake — `openssl s_time -new -www /` (HANDSHAKE_CLIENTS processes): a full
# handshake (no session reuse) and one GET per connection; s_time gives no latency percentiles.
# On 2 cores the load generator limits handshakes per second, so compare the proxy CPU per
# connection there (≈ per handshake + one request), not connections/s.
#
# nginx (nginx-light), haproxy, wrk and h2load (nghttp2-client) are benchmark-only tools: installed here with apt-get if
# missing, never by scripts/install-deps.sh. Every process is started here and stopped by its PID.
set -euo pipefail
BUILD=${1:-build}
REALPROXY=$BUILD/bin/realproxy
REALPOD=$BUILD/bin/realpod
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-2}
WORKERS=${WORKERS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
HANDSHAKE_CONNECTIONS=${HANDSHAKE_CONNECTIONS:-8}
HANDSHAKE_CLIENTS=${HANDSHAKE_CLIENTS:-2}
H2_STREAMS=${H2_STREAMS:-10}
SCENARIOS=${SCENARIOS:-http_keepalive https_ecdsa_keepalive https_rsa_keepalive https_ecdsa_h2 http_new_connection https_ecdsa_resumed https_ecdsa_full_handshake https_rsa_full_handshake}

for bin in "$REALPROXY" "$REALPOD"; do
  if [[ ! -x $bin ]]; then
    echo "proxy_compare: $bin not built (cmake --build $BUILD --target realproxy realpod)" >&2
    exit 2
  fi
done
missing=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
if ((${#missing[@]})); then
  echo "proxy_compare: installing ${missing[*]} (benchmark only)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
CLK_TCK=$(getconf CLK_TCK)

DIR=$(mktemp -d /tmp/proxy-compare-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n ${KEEP_DIR:-} ]] || rm -rf "$DIR"
}
trap cleanup EXIT

# Certificates: ECDSA P-256 and RSA-2048, self-signed for bench.local.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.local \
  -keyout "$DIR/ecdsa.key" -out "$DIR/ecdsa.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.local \
  -keyout "$DIR/rsa.key" -out "$DIR/rsa.crt" 2>/dev/null
cat "$DIR/ecdsa.crt" "$DIR/ecdsa.key" >"$DIR/ecdsa.pem"
cat "$DIR/rsa.crt" "$DIR/rsa.key" >"$DIR/rsa.pem"

# The upstream: one realpod, 256-byte bodies, no service time.
"$REALPOD" --listen 127.0.0.1:0 --name pod-1 --body-bytes 256 >"$DIR/pod.out" 2>"$DIR/pod.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "^listening on" "$DIR/pod.out" && break; sleep 0.05; done
POD_PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$DIR/pod.out" | head -1)
[[ -n $POD_PORT ]] || { echo "proxy_compare: realpod did not start" >&2; exit 1; }

HTTP_PORT=18180
TLS_ECDSA_PORT=18443
TLS_RSA_PORT=18444

# realproxy: one Ingress (no host: any Host) → bench-svc → the pod; a catch-all TLS entry per
# certificate; the RSA and ECDSA listeners are two realproxy processes, as SNI-less wrk gets the
# default certificate.
realproxy_config() {  # $1 = ecdsa|rsa
  local d=$DIR/realproxy-$1
  mkdir -p "$d"
  cp "$DIR/$1.crt" "$d/tls.crt"
  cp "$DIR/$1.key" "$d/tls.key"
  cat >"$d/bench.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench, namespace: default}
spec:
  tls:
  - secretName: bench-tls
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: bench-svc, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: bench-svc, namespace: default}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: bench-svc-1, namespace: default, labels: {kubernetes.io/service-name: bench-svc}}
addressType: IPv4
ports: [{name: http, port: $POD_PORT}]
endpoints: [{addresses: ["127.0.0.1"]}]
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: bench-tls
  namespace: default
  annotations: {realproxy.ingresslab/tls-cert-file: tls.crt, realproxy.ingresslab/tls-key-file: tls.key}
EOF
  echo "$d"
}

cat >"$DIR/nginx.conf" <<EOF
worker_processes $WORKERS;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx-body;
  proxy_temp_path $DIR/nginx-proxy;
  fastcgi_temp_path $DIR/nginx-fastcgi;
  uwsgi_temp_path $DIR/nginx-uwsgi;
  scgi_temp_path $DIR/nginx-scgi;
  keepalive_requests 1000000;
  upstream pod { server 127.0.0.1:$POD_PORT; keepalive 256; keepalive_requests 1000000; }
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  server {
    listen 127.0.0.1:$HTTP_PORT reuseport;
    listen 127.0.0.1:$TLS_ECDSA_PORT ssl http2 reuseport;
    ssl_certificate $DIR/ecdsa.crt;
    ssl_certificate_key $DIR/ecdsa.key;
    location / {
      proxy_pass http://pod;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
  server {
    listen 127.0.0.1:$TLS_RSA_PORT ssl http2 reuseport;
    ssl_certificate $DIR/rsa.crt;
    ssl_certificate_key $DIR/rsa.key;
    location / {
      proxy_pass http://pod;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
EOF

cat >"$DIR/haproxy.cfg" <<EOF
global
  nbthread $WORKERS
  maxconn 8000
  ssl-default-bind-options ssl-min-ver TLSv1.2
  tune.ssl.cachesize 100000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  option forwardfor
frontend bench
  bind 127.0.0.1:$HTTP_PORT
  bind 127.0.0.1:$TLS_ECDSA_PORT ssl crt $DIR/ecdsa.pem alpn h2,http/1.1
  bind 127.0.0.1:$TLS_RSA_PORT ssl crt $DIR/rsa.pem alpn h2,http/1.1
  default_backend pod
backend pod
  http-reuse always
  server pod-1 127.0.0.1:$POD_PORT
EOF

PROXY_PIDS=()  # the processes whose CPU counts (nginx: master + workers)
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
start_proxy() {  # $1 = realproxy|nginx|haproxy, $2 = ecdsa|rsa (realproxy's TLS certificate)
  case $1 in
    realproxy)
      local d
      d=$(realproxy_config "$2")
      local tls_port=$TLS_ECDSA_PORT
      [[ $2 == rsa ]] && tls_port=$TLS_RSA_PORT
      "$REALPROXY" serve --config "$d" --listen 127.0.0.1:$HTTP_PORT --tls-listen 127.0.0.1:$tls_port \
        --workers "$WORKERS" >"$DIR/realproxy.out" 2>"$DIR/realproxy.err" &
      ;;
    nginx) "$NGINX" -c "$DIR/nginx.conf" -p "$DIR" >"$DIR/nginx.out" 2>&1 & ;;
    haproxy) "$HAPROXY" -f "$DIR/haproxy.cfg" -db >"$DIR/haproxy.out" 2>&1 & ;;
  esac
  local pid=$!
  PIDS+=("$pid")
  PROXY_MAIN=$pid
  wait_port $HTTP_PORT || { echo "proxy_compare: $1 did not start; see $DIR" >&2; KEEP_DIR=1; exit 1; }
  sleep 0.3
  PROXY_PIDS=("$pid")
  if [[ $1 == nginx ]]; then
    for c in $(ps -o pid= --ppid "$pid"); do PROXY_PIDS+=("$c"); done
  fi
}
stop_proxy() {
  kill "$PROXY_MAIN" 2>/dev/null || true
  wait "$PROXY_MAIN" 2>/dev/null || true
  # Wait until the port is free for the next proxy.
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT) 2>/dev/null || break
    sleep 0.05
  done
}
cpu_ticks() {  # utime + stime of the proxy processes (all threads)
  local total=0 pid f
  for pid in "${PROXY_PIDS[@]}"; do
    f=$(cat /proc/"$pid"/stat 2>/dev/null) || continue
    f=${f##*) }
    total=$((total + $(echo "$f" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
to_ms() {  # wrk latency ("812.00us", "1.23ms", "1.01s") → ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

# One run: prints "rps p50_ms p99_ms cpu_us_per_request".
run_one() {  # $1 = proxy, $2 = scenario
  local url conns=$CONNECTIONS cert=ecdsa headers=()
  case $2 in
    http_keepalive) url=http://127.0.0.1:$HTTP_PORT/ ;;
    http_new_connection) url=http://127.0.0.1:$HTTP_PORT/; headers=(-H "Connection: close") ;;
    https_ecdsa_keepalive) url=https://127.0.0.1:$TLS_ECDSA_PORT/ ;;
    https_rsa_keepalive) url=https://127.0.0.1:$TLS_RSA_PORT/; cert=rsa ;;
    https_ecdsa_resumed) url=https://127.0.0.1:$TLS_ECDSA_PORT/; headers=(-H "Connection: close"); conns=$HANDSHAKE_CONNECTIONS ;;
    https_ecdsa_full_handshake | https_rsa_full_handshake)
      local port=$TLS_ECDSA_PORT
      [[ $2 == https_rsa_full_handshake ]] && { port=$TLS_RSA_PORT; cert=rsa; }
      start_proxy "$1" "$cert"
      local c0 c1 i total=0 n pids=()
      c0=$(cpu_ticks)
      for ((i = 0; i < HANDSHAKE_CLIENTS; i++)); do
        openssl s_time -connect 127.0.0.1:$port -new -www / -time "$DURATION" >"$DIR/s_time.$i" 2>&1 &
        pids+=($!)
      done
      wait "${pids[@]}" || true
      c1=$(cpu_ticks)
      stop_proxy
      for ((i = 0; i < HANDSHAKE_CLIENTS; i++)); do
        n=$(awk '/connections in .* real seconds/ {print $1; exit}' "$DIR/s_time.$i")
        total=$((total + ${n:-0}))
      done
      awk -v n="$total" -v d="$DURATION" -v t=$((c1 - c0)) -v hz="$CLK_TCK" \
        'BEGIN { printf "%.2f - - %.1f\n", n / d, (n > 0 ? t / hz * 1e6 / n : 0) }'
      return
      ;;
    https_ecdsa_h2)
      start_proxy "$1" ecdsa
      h2load -n 2000 -c 4 -m 1 "https://127.0.0.1:$TLS_ECDSA_PORT/" >/dev/null 2>&1 || true  # warm-up
      local c0 c1 out
      c0=$(cpu_ticks)
      out=$(h2load -t"$WRK_THREADS" -c"$CONNECTIONS" -m"$H2_STREAMS" -D "$DURATION" \
        --log-file="$DIR/h2load.log" "https://127.0.0.1:$TLS_ECDSA_PORT/" 2>&1)
      c1=$(cpu_ticks)
      stop_proxy
      local done failed
      done=$(echo "$out" | awk '/^requests:/ {print $8}')
      failed=$(echo "$out" | awk '/^requests:/ {print $10}')
      grep -qi "application protocol: h2" <<<"$out" ||
        echo "  ($1 $2: not HTTP/2: $(grep -i -m1 'application protocol' <<<"$out"))" >&2
      [[ ${failed:-0} == 0 ]] || echo "  ($1 $2: $failed failed)" >&2
      # Column 3 of the log: microseconds from the request's start to the end of its response.
      sort -n -k3,3 "$DIR/h2load.log" | awk -v r="$(echo "$out" | awk '/^finished in/ {print $4}')" \
        -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="${done:-0}" \
        '{ v[NR] = $3 } END {
           p50 = NR ? v[int(NR * 0.50 + 0.5) > 0 ? int(NR * 0.50 + 0.5) : 1] / 1000 : 0
           p99 = NR ? v[int(NR * 0.99 + 0.5) > 0 ? int(NR * 0.99 + 0.5) : 1] / 1000 : 0
           printf "%s %.3f %.3f %.1f\n", r, p50, p99, (n > 0 ? t / hz * 1e6 / n : 0) }'
      rm -f "$DIR/h2load.log"
      return
      ;;
    *) echo "proxy_compare: unknown scenario $2" >&2; exit 2 ;;
  esac
  start_proxy "$1" "$cert"
  wrk -t1 -c4 -d1s "${headers[@]}" "$url" >/dev/null 2>&1 || true  # warm-up
  local c0 c1 out
  c0=$(cpu_ticks)
  out=$(wrk -t"$WRK_THREADS" -c"$conns" -d"${DURATION}s" --latency "${headers[@]}" "$url" 2>&1)
  c1=$(cpu_ticks)
  stop_proxy
  local requests rps p50 p99 errors
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  [[ -z $errors ]] || echo "  ($1 $2: $errors)" >&2
  awk -v r="$rps" -v a="$p50" -v b="$p99" -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$requests" \
    'BEGIN { printf "%s %s %s %.1f\n", r, a, b, (n > 0 ? t / hz * 1e6 / n : 0) }'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "-")}'; }

echo "# proxy_compare: $(nproc) CPUs, $WORKERS workers each, wrk -t$WRK_THREADS -c$CONNECTIONS (handshakes: -c$HANDSHAKE_CONNECTIONS), ${DURATION}s x $ROUNDS rounds"
echo "# $("$NGINX" -v 2>&1 | head -1); $("$HAPROXY" -v 2>&1 | head -1 | cut -d' ' -f1-3); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
printf "%-24s %-10s %12s %9s %9s %12s\n" scenario proxy "req/s" "p50 ms" "p99 ms" "CPU us/req"
PROXIES=(realproxy nginx haproxy)
for scenario in $SCENARIOS; do
  declare -A rps=() p50=() p99=() cpu=()
  for ((r = 0; r < ROUNDS; r++)); do
    for proxy in "${PROXIES[@]}"; do
      read -r a b c d < <(run_one "$proxy" "$scenario")
      rps[$proxy]+="$a "; p50[$proxy]+="$b "; p99[$proxy]+="$c "; cpu[$proxy]+="$d "
    done
  done
  declare -A med_rps=() med_p50=() med_p99=() med_cpu=()
  for proxy in "${PROXIES[@]}"; do
    med_rps[$proxy]=$(echo "${rps[$proxy]}" | tr ' ' '\n' | grep . | median)
    med_p50[$proxy]=$(echo "${p50[$proxy]}" | tr ' ' '\n' | grep . | median)
    med_p99[$proxy]=$(echo "${p99[$proxy]}" | tr ' ' '\n' | grep . | median)
    med_cpu[$proxy]=$(echo "${cpu[$proxy]}" | tr ' ' '\n' | grep . | median)
    printf "%-24s %-10s %12s %9s %9s %12s\n" "$scenario" "$proxy" "${med_rps[$proxy]}" \
      "${med_p50[$proxy]}" "${med_p99[$proxy]}" "${med_cpu[$proxy]}"
  done
  for peer in nginx haproxy; do
    awk -v s="$scenario" -v p="$peer" -v r1="${med_rps[realproxy]}" -v r2="${med_rps[$peer]}" \
      -v a1="${med_p50[realproxy]}" -v a2="${med_p50[$peer]}" -v b1="${med_p99[realproxy]}" \
      -v b2="${med_p99[$peer]}" -v c1="${med_cpu[realproxy]}" -v c2="${med_cpu[$peer]}" \
      'function q(x, y) { return (x != "-" && y > 0) ? sprintf("%.2f", x / y) : "-" }
       BEGIN { printf "%-24s realproxy/%-8s req/s %s  p50 %s  p99 %s  CPU/req %s\n", s, p, q(r1, r2), q(a1, a2), q(b1, b2), q(c1, c2) }'
  done
  unset rps p50 p99 cpu med_rps med_p50 med_p99 med_cpu
done
