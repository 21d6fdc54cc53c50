// Package rollout restarts workloads the way `kubectl rollout restart` does, exactly once per
// approved offer, and follows the rollout until it completes, times out, or its new pods fail
// to pull their images. It is the client-go side of the approve-to-restart button.
package rollout
