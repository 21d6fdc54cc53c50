// Package store keeps the channel alerts' incident state in the cluster and elects the one
// replica that scans, watches and posts, so that a restarted or failed-over bot continues the
// same incidents instead of alerting again.
//
// ConfigMapStore holds one opaque state blob (the caller's JSON) under the key incidents.json
// of a ConfigMap in the bot's own namespace. Writes are optimistic on the ConfigMap's
// resourceVersion: a write based on a stale version fails with an error wrapping ErrConflict,
// and the caller reloads, re-applies its change and saves again.
//
// Elector wraps client-go's leader election on a coordination.k8s.io Lease. Run calls lead
// while this replica holds the Lease and cancels lead's context when the Lease is lost or Run's
// context ends. On a graceful stop the Lease is released only after lead has returned, so the
// next leader never overlaps the old one.
//
// The permissions both need, in the bot's namespace, are in deploy/kubernetes/rbac-alerts.yaml.
package store
