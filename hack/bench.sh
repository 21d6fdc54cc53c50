#!/usr/bin/env bash
# Runs the benchmarks whose figures the issues ask for:
#   - classifying one runtime message (target: under 20 µs);
#   - AWS evidence with 100 ms on every AWS and registry call: cold under 700 ms, warm under 250 ms;
#   - the Slack bot's HTTP acknowledgement p99 with 50 concurrent /pullcheck requests (target 50 ms);
#   - `pullcheck scan -A -o json` over 5,000 pods (500 failing in 50 namespaces) on a real
#     API server, against one raw LIST of all pods (target: within 1.5x), and its peak memory
#     (target: under 120 MB), measured with GNU time;
#   - one pod's diagnosis through the full wiring (kube collector, AWS gatherer, registry probe)
#     with 100 ms on every AWS call and registry response: cold (new gatherer and enricher,
#     target: under 700 ms) and warm (reused, target: under 250 ms);
#   - channel alerts with the pod watch on: time from a container entering ErrImagePull to its
#     alert, beyond the fire delay (target: under 5 s);
#   - `pullcheck serve` over 5,000 pods with 500 failing across 50 Deployments: exactly 50
#     alerts, the time to them, and the serve process's peak memory (target: under 150 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
assets=$(bash hack/control-plane.sh)
export KUBEBUILDER_ASSETS="$assets" PULLCHECK_KUBECTL="$assets/kubectl"
command -v /usr/bin/time >/dev/null || { echo "GNU time is needed: apt-get install -y time" >&2; exit 1; }
go test -run '^$' -bench 'BenchmarkClassify$' -benchmem ./diagnosis/
go test -run '^$' -bench 'BenchmarkScanAllNamespaces' -benchtime "${BENCH_SCANS:-5}x" ./tests/integration/
go test -run '^$' -bench 'BenchmarkDiagnoseWithLatency' ./tests/e2e/
go test -run '^$' -bench 'BenchmarkEnrichLatency' -benchtime 5x ./diagnosis/cloud/
go test -run '^$' -bench 'BenchmarkHTTPAckLatency' -benchtime 3x ./bot/
go test -run '^$' -bench 'BenchmarkAlertLatency' -benchtime 5x ./tests/alerts/
go test -run '^$' -bench 'BenchmarkServeAlerts5000' -benchtime 1x ./tests/integration/
