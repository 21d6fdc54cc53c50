// Package integration runs the pullcheck binary end to end against a real kube-apiserver and
// etcd (envtest, see tests/kubetest). Pods, their status and their events are written the way
// a kubelet writes them, then `pullcheck diagnose` and `pullcheck scan` are run as a user
// would run them, and every kubectl command a report prints is run with the real kubectl.
package integration
