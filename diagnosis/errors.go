package diagnosis

import (
	"errors"
	"fmt"
)

// Sentinel errors that collectors wrap so that callers can classify failures with errors.Is.
var (
	// ErrPodNotFound: the pod does not exist in the namespace.
	ErrPodNotFound = errors.New("pod not found")
	// ErrNamespaceNotFound: the namespace does not exist.
	ErrNamespaceNotFound = errors.New("namespace not found")
	// ErrInvalidInput: the input (a file, an argument) cannot be used.
	ErrInvalidInput = errors.New("invalid input")
)

// ForbiddenError says which RBAC permission a read needed and did not have.
type ForbiddenError struct {
	Verb      string // get, list
	Resource  string // pods, events.events.k8s.io
	Namespace string // empty for cluster-scoped or all-namespace requests
	Err       error
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("forbidden: needs RBAC permission %s", e.Permission())
}

// Permission renders the missing permission the way an operator writes a Role rule.
func (e *ForbiddenError) Permission() string {
	where := "cluster-wide"
	if e.Namespace != "" {
		where = "in namespace " + e.Namespace
	}
	return fmt.Sprintf("%q on %q %s", e.Verb, e.Resource, where)
}

func (e *ForbiddenError) Unwrap() error { return e.Err }
