// `ingresslab export kind FILE -o DIR`: a scenario as a kind cluster that runs realproxy as its
// ingress controller (reading Ingress/Service/EndpointSlice/Secret from the Kubernetes API,
// `realproxy serve --kube-api`) and realpod as the backends, ready for `ingresslab replay`.
//
// Files (all under DIR):
//   kind-config.yaml         kind Cluster: control-plane + one worker per scenario node, the
//                            scenario's kube-proxy mode, extraPortMappings for the NodePorts
//   Dockerfile               builds realproxy and realpod from this repository (one image)
//   manifests/00-namespaces.yaml      Namespaces (ingresslab-system and the scenario's)
//   manifests/10-rbac.yaml            ServiceAccount, ClusterRole (get/list/watch Ingress,
//                                     IngressClass, Service, EndpointSlice, Secret), binding
//   manifests/20-ingress-controller.yaml   realproxy Deployment or DaemonSet + NodePort Service
//                                          (+ IngressClass when the scenario names one)
//   manifests/30-backends.yaml        per scenario Service: realpod Deployment + Service
//   manifests/40-ingresses.yaml       the scenario's Ingress objects
//   create-tls-secrets.sh    self-signed certificates for the Ingresses' TLS Secrets
//   README.md                the exact commands: create, build + load the image, apply, replay
#pragma once

#include <map>
#include <string>
#include <vector>

#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::cli {

inline constexpr const char* kKindControllerNamespace = "ingresslab-system";
inline constexpr const char* kKindImage = "ingresslab/realproxy:dev";

struct KindExport {
  // Relative path → file content.
  std::map<std::string, std::string> files;
  // What of the scenario the kind cluster does not reproduce, in words (also in the README).
  std::vector<std::string> notes;
  std::string error;  // non-empty: nothing to write (says why)
};

// Builds the files for a resolved scenario. `scenario_file` and `output_dir` (where the files will
// be written, relative to the repository root) are named in the README's commands.
KindExport export_kind(const scenario::Scenario& scenario, const std::string& scenario_file,
                       const std::string& output_dir);

}  // namespace ingresslab::cli
