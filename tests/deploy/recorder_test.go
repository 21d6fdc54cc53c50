package deploy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/fields"
)

// call is one Kubernetes API request as the authorizer sees it.
type call struct {
	Verb, Group, Resource, Subresource, Namespace, Name string
	Status                                              int
}

func (c call) String() string {
	r := c.Resource
	if c.Group != "" {
		r += "." + c.Group
	}
	if c.Subresource != "" {
		r += "/" + c.Subresource
	}
	where := "cluster-wide"
	if c.Namespace != "" {
		where = "in " + c.Namespace
	}
	if c.Name != "" {
		r += " " + c.Name
	}
	return fmt.Sprintf("%s %s %s", c.Verb, r, where)
}

// recorder is a RoundTripper that records every resource request (verb, resource,
// namespace, name) with its status, and lets a test wait for a request to have happened.
type recorder struct {
	mu      sync.Mutex
	calls   []call
	other   []string // non-resource paths
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

// wrap is a rest.Config WrapTransport.
func (r *recorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		c, ok := parseRequest(req.Method, req.URL)
		r.mu.Lock()
		if ok {
			c.Status = status
			r.calls = append(r.calls, c)
		} else {
			r.other = append(r.other, req.Method+" "+req.URL.Path)
		}
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// snapshot returns the calls so far.
func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// waitFor blocks until some recorded call satisfies match, or ctx ends; it gives up at once
// when a request other than a secret read was refused, which no retry will mend.
func (r *recorder) waitFor(ctx context.Context, what string, match func(call) bool) error {
	for {
		r.mu.Lock()
		for _, c := range r.calls {
			if match(c) {
				r.mu.Unlock()
				return nil
			}
		}
		for _, c := range r.calls {
			if c.Status == http.StatusForbidden && !(c.Verb == "get" && c.Resource == "secrets") {
				r.mu.Unlock()
				return fmt.Errorf("waiting for a %s request: %s was refused (403)", what, c)
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("no %s request was made: %w", what, ctx.Err())
		}
	}
}

// parseRequest maps a request to the attributes the API server authorizes, as its
// RequestInfoFactory does: /api/v1/... is the core group, /apis/<group>/<version>/...
// others; a GET without a name is a list, or a watch with ?watch=true; list and watch take
// their name from a metadata.name field selector.
func parseRequest(method string, u *url.URL) (call, bool) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var c call
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		c.Group = parts[1]
		parts = parts[3:]
	default:
		return call{}, false
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		c.Namespace = parts[1]
		parts = parts[2:]
	}
	c.Resource = parts[0]
	if len(parts) > 1 {
		c.Name = parts[1]
	}
	if len(parts) > 2 {
		c.Subresource = parts[2]
	}
	q := u.Query()
	switch method {
	case http.MethodGet:
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			c.Verb = "watch"
		case c.Name == "":
			c.Verb = "list"
		default:
			c.Verb = "get"
		}
		if c.Name == "" {
			if sel, err := fields.ParseSelector(q.Get("fieldSelector")); err == nil {
				if name, ok := sel.RequiresExactMatch("metadata.name"); ok {
					c.Name = name
				}
			}
		}
	case http.MethodPost:
		c.Verb = "create"
	case http.MethodPut:
		c.Verb = "update"
	case http.MethodPatch:
		c.Verb = "patch"
	case http.MethodDelete:
		c.Verb = "delete"
		if c.Name == "" {
			c.Verb = "deletecollection"
		}
	default:
		return call{}, false
	}
	return c, true
}
