// Package diagnosis is pullcheck's core: facts in, findings out.
//
// Collectors (the Kubernetes adapter in diagnosis/kube, the file loader in
// diagnosis/podfile, and later the AWS and registry adapters) fill a Facts value.
// Evaluate turns Facts into a Report with one Finding per failing container, using
// an explicit list of checks (DefaultChecks), each a pure function in its own file
// with a stable cause ID. This package imports no Slack, AWS or client-go code, so
// every check is testable with struct literals.
package diagnosis
