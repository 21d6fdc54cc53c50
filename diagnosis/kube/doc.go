// Package kube is the client-go adapter that fills diagnosis.Facts from a live cluster.
//
// A Collector reads the pod, its events, its node, its service account, the type and
// registry host keys of its pull secrets (never their credentials), its owner chain, and
// how many other pods fail on the same image or registry. Only the pod read can fail a
// collection: every other read that the cluster refuses or that fails is recorded as a
// diagnosis.Skip naming the RBAC permission it needed, so a partial report says what it lacks.
//
// CollectFailing scans a namespace (or the cluster) for pods that may be failing to pull:
// it lists pods page by page and keeps only the candidates, reads each namespace's events
// once, and resolves nodes, service accounts, secrets and owners through per-call caches,
// so the number of API requests grows with the number of distinct objects, not of pods.
//
// RESTConfig builds the client configuration the adapter is meant to run with (kubeconfig
// context or in-cluster, protobuf, QPS 100 / burst 200).
package kube
