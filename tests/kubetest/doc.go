// Package kubetest runs a real kube-apiserver and etcd for tests (through
// controller-runtime's envtest) and writes cluster state the way the components that are
// missing from it would: the kubelet (pod status through the status subresource, events
// in both the core/v1 and events.k8s.io/v1 shapes, node status) and the deployment, job
// and cronjob controllers (owner chains with controller references).
//
// The binaries are built by hack/control-plane.sh into <repo>/.cache/kube-assets, or
// taken from $KUBEBUILDER_ASSETS. When they are missing the helpers fail the test: an
// integration test that silently skips is a test that never runs.
//
// Start gives a test its own server. A package whose tests share one server uses New in
// TestMain and Stop after m.Run; its tests then keep to their own namespaces and images.
package kubetest
