#!/usr/bin/env bash
# Installs every Debian 12 package ingresslab's build and tests need. Idempotent: packages that
# are already installed are skipped, and when all are present nothing runs (not even apt-get
# update). Uses apt-get directly as root, sudo otherwise.
#
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --list   print the package list and exit
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential g++ cmake ninja-build make pkg-config git ca-certificates
  # engine / models / scenarios
  libboost-graph-dev      # topology graph, Kamada-Kawai / Fruchterman-Reingold layout
  libeigen3-dev           # analytic queueing model, calibration fits
  libprotobuf-dev protobuf-compiler  # scenario / result / cost-profile schema
  libyaml-cpp-dev         # YAML scenarios and Kubernetes manifests
  libcli11-dev            # command-line parsing (ingresslab, realproxy)
  # realproxy / realpod
  libh2o-evloop-dev libssl-dev zlib1g-dev
  libnghttp2-dev          # ingresslab replay: HTTP/2 client (nghttp2)
  # viz and HTML report charts (Qt Charts only configures with the OpenGL dev packages present)
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev libglx-dev libopengl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang libclang-rt-14-dev  # libFuzzer targets
  iproute2 iptables nftables procps  # live tests (network namespaces, kube-proxy rules)
  openssl                 # ingresslab testbed: self-signed certificates (openssl req)
  curl                    # HTTP/2 client in realproxy's integration tests
  chromium                # the HTML report test renders the report in a real headless browser
)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, and sudo is not available" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q "${missing[@]}"
