// Package podfile loads a saved pod, with its events and optionally its node and
// service account, from a file into diagnosis.Facts, so that a pod can be diagnosed
// with no cluster (pullcheck diagnose --file).
//
// The input is what kubectl writes: a Pod (JSON or YAML), or a v1 List holding exactly
// one Pod plus any number of core/v1 and events.k8s.io/v1 Events, for example
//
//	{ kubectl -n payments get pod payments-api-6f7d9c8b5-k2x9z -o json
//	  kubectl -n payments get events -o json; } > pod.json
//
// Several JSON documents in a row, YAML streams separated by "---", and Lists nested in a
// List are read as one set of objects. A v1 Node and a v1 ServiceAccount may be included;
// they fill Facts.Node and Facts.ServiceAccount the way a live collector does. Events
// about other objects, and nodes, service accounts and Secrets the pod does not use, are
// ignored.
//
// Secret contents are never kept: of a Secret only its name, its type and the registry
// keys of its dockerconfig "auths" map are recorded. Pull secrets the pod references that
// are not in the file are reported as diagnosis.SecretUnchecked.
//
// Load never panics. Every problem with the input is an *Error, which wraps
// diagnosis.ErrInvalidInput and gives the line and column where it was found.
package podfile
