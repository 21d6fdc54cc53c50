package kube

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// access names one API read: the RBAC verb, the resource (resource.group for named
// groups, as kubectl auth can-i writes it) and the namespace ("" for cluster-scoped reads
// and for reads across all namespaces).
type access struct {
	verb      string
	resource  string
	namespace string
}

// needs renders the permission the way a Skip reports it, e.g. "get secrets in namespace
// payments" or "get nodes (cluster-wide)".
func (a access) needs() string {
	if a.namespace == "" {
		return a.verb + " " + a.resource + " (cluster-wide)"
	}
	return a.verb + " " + a.resource + " in namespace " + a.namespace
}

func (a access) forbidden(err error) *diagnosis.ForbiddenError {
	return &diagnosis.ForbiddenError{Verb: a.verb, Resource: a.resource, Namespace: a.namespace, Err: err}
}

// skip turns the failure of an auxiliary read into a diagnosis.Skip. what names the object
// in the reason ("node ip-10-0-1-5"), the error only when it is not a plain refusal.
func skip(check, what string, a access, err error) diagnosis.Skip {
	s := diagnosis.Skip{Check: check, Needs: a.needs()}
	switch {
	case apierrors.IsForbidden(err):
		s.Reason = fmt.Sprintf("cannot %s %s: forbidden", a.verb, what)
	case apierrors.IsNotFound(err):
		s.Reason = fmt.Sprintf("%s not found", what)
		s.Needs = ""
	default:
		s.Reason = fmt.Sprintf("cannot %s %s: %v", a.verb, what, errorText(err))
	}
	return s
}

// errorText is an API error's message without its Go type.
func errorText(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}
