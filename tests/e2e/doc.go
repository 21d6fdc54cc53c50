// Package e2e runs pullcheck's production wiring in-process against real and fake
// services together: a real kube-apiserver and etcd (tests/kubetest) holding what a kubelet
// writes, the local AWS server (tests/awsfake) for ECR, IAM, EC2, EKS, KMS and STS, and
// in-memory OCI registries behind TLS (tests/registryfake) for the registry probe.
//
// One scenario per cause of the README's cause table sets up the evidence that decides it
// and asserts the cause and the confidence the report reaches. Across all scenarios the
// tests also check that the AWS calls the code makes are exactly what
// deploy/aws/iam-policy.json grants, and run every aws command the reports print with the
// real AWS CLI against the fake. BenchmarkDiagnoseWithLatency measures one diagnosis with
// 100 ms on every AWS call and registry response.
//
// The tests need the envtest binaries (hack/control-plane.sh); they fail, never skip, when
// those are missing.
package e2e
