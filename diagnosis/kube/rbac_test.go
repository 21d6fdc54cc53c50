package kube_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

var cmpIgnoreErr = cmpopts.IgnoreFields(diagnosis.ForbiddenError{}, "Err")

func podRule(verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: verbs}
}

// as returns a client acting as a user of the test's own, with rules granted in its namespace.
func (f *fixture) as(user string, rules ...rbacv1.PolicyRule) kubernetes.Interface {
	f.t.Helper()
	user = user + "-" + f.ns
	if len(rules) > 0 {
		if err := cluster.Grant(f.ctx, f.ns, user, user, rules...); err != nil {
			f.t.Fatal(err)
		}
	}
	_, client, err := cluster.As(user)
	if err != nil {
		f.t.Fatal(err)
	}
	return client
}

// TestCollectForbidden: a user who may only get pods still gets the pod's facts, and each
// read it may not make is a Skip that names the permission it needs.
func TestCollectForbidden(t *testing.T) {
	f := setup(t)
	node := f.node(f.ns+"-node", nil, "", corev1.NodeSystemInfo{})
	f.secret(dockerConfigJSON(f.ns, "regcred", "s3cret", f.host()))
	f.serviceAccount("api", nil, "sa-pull")
	spec := specOf(f.host() + "/app:1")
	spec.ServiceAccountName = "api"
	spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	rs := f.deployment("api", spec)
	pod := f.createPod(kubetest.PodFor(f.ns, "api-1", spec, rs), node.Name)
	f.wait(pod, "app", diagnosis.ReasonImagePullBackOff, "back-off")
	ref := diagnosis.PodRef{Namespace: f.ns, Name: "api-1"}
	now := later(pod)

	client := f.as("limited", podRule("get"))
	c := kube.NewCollector(client, kube.Options{Context: contextName, Now: func() time.Time { return now }, ReadSecrets: true})
	got, err := c.Collect(f.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	want := &diagnosis.Facts{
		Now:    now,
		Source: contextName,
		Node:   &diagnosis.NodeFacts{Name: node.Name},
		PullSecrets: []diagnosis.PullSecret{
			{Name: "regcred", From: "pod", Status: diagnosis.SecretForbidden, Detail: "cannot read it: needs get secrets in namespace " + f.ns},
		},
		Workload: &diagnosis.Workload{Kind: "ReplicaSet", Name: rs.Name},
		Skipped: []diagnosis.Skip{
			{Check: "events", Reason: "cannot list events of pod api-1: forbidden", Needs: "list events in namespace " + f.ns},
			{Check: "node", Reason: "cannot get node " + node.Name + ": forbidden", Needs: "get nodes (cluster-wide)"},
			{Check: "service-account", Reason: "cannot get serviceaccount api: forbidden", Needs: "get serviceaccounts in namespace " + f.ns},
			{Check: "pull-secrets", Reason: "cannot get secret regcred: forbidden", Needs: "get secrets in namespace " + f.ns},
			{Check: "workload", Reason: "cannot get replicaset " + rs.Name + ": forbidden", Needs: "get replicasets.apps in namespace " + f.ns},
			{Check: "related", Reason: "cannot list pods: forbidden", Needs: "list pods (cluster-wide)"},
		},
	}
	if diff := cmp.Diff(want, got, ignorePod); diff != "" {
		t.Errorf("Collect() as a user who may only get pods (-want +got):\n%s", diff)
	}

	// With list on pods in the namespace, related failures are counted there.
	if err := cluster.Grant(f.ctx, f.ns, "list-pods", "limited-"+f.ns, podRule("list")); err != nil {
		t.Fatal(err)
	}
	got = must[*diagnosis.Facts](t)(c.Collect(f.ctx, ref))
	wantRelated := map[string]diagnosis.Related{f.host() + "/app:1": {Scope: "namespace " + f.ns, Nodes: 1}}
	if diff := cmp.Diff(wantRelated, got.Related); diff != "" {
		t.Errorf("Related with namespace list only (-want +got):\n%s", diff)
	}
	for _, s := range got.Skipped {
		if s.Check == "related" {
			t.Errorf("Skipped has %+v, want no related skip once pods can be listed in the namespace", s)
		}
	}

	// A missing pod is not found even when the namespace cannot be read to tell why.
	if _, err := c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "nope"}); !errors.Is(err, diagnosis.ErrPodNotFound) {
		t.Errorf("Collect(missing pod) error = %v, want %v", err, diagnosis.ErrPodNotFound)
	}
}

// TestForbiddenPodRead: without get on pods, Collect and CollectFailing fail with a
// ForbiddenError that names the permission and the context.
func TestForbiddenPodRead(t *testing.T) {
	f := setup(t)
	f.failing("web", f.host()+"/app:1", "", diagnosis.ReasonErrImagePull)
	c := kube.NewCollector(f.as("nobody"), kube.Options{Context: contextName})

	tests := []struct {
		name string
		call func() error
		want diagnosis.ForbiddenError
	}{
		{"collect", func() error {
			_, err := c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "web"})
			return err
		}, diagnosis.ForbiddenError{Verb: "get", Resource: "pods", Namespace: f.ns}},
		{"scan namespace", func() error {
			_, err := c.CollectFailing(f.ctx, f.ns)
			return err
		}, diagnosis.ForbiddenError{Verb: "list", Resource: "pods", Namespace: f.ns}},
		{"scan cluster", func() error {
			_, err := c.CollectFailing(f.ctx, "")
			return err
		}, diagnosis.ForbiddenError{Verb: "list", Resource: "pods"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var fe *diagnosis.ForbiddenError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v, want a *diagnosis.ForbiddenError", err)
			}
			if diff := cmp.Diff(tt.want, *fe, cmpIgnoreErr); diff != "" {
				t.Errorf("ForbiddenError mismatch (-want +got):\n%s", diff)
			}
			if msg := err.Error(); !strings.Contains(msg, contextName) || !strings.Contains(msg, tt.want.Permission()) {
				t.Errorf("error %q does not name the context %q and the permission %s", msg, contextName, tt.want.Permission())
			}
		})
	}
}

// TestCollectFailingForbiddenAux: a scan by a user who may only list pods reports each
// candidate with the reads it could not make.
func TestCollectFailingForbiddenAux(t *testing.T) {
	f := setup(t)
	a := f.failing("a", f.host()+"/app:1", "", diagnosis.ReasonErrImagePull)
	f.failing("b", f.host()+"/app:1", "", diagnosis.ReasonImagePullBackOff)
	c := kube.NewCollector(f.as("lister", podRule("list")), kube.Options{Context: contextName, Now: func() time.Time { return later(a) }})
	got, err := c.CollectFailing(f.ctx, f.ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("CollectFailing() returned %d pods, want 2", len(got))
	}
	for _, facts := range got {
		want := []diagnosis.Skip{
			{Check: "events", Reason: "cannot list events in namespace " + f.ns + ": forbidden", Needs: "list events in namespace " + f.ns},
			{Check: "service-account", Reason: "cannot get serviceaccount default: forbidden", Needs: "get serviceaccounts in namespace " + f.ns},
		}
		if diff := cmp.Diff(want, facts.Skipped); diff != "" {
			t.Errorf("%s: Skipped mismatch (-want +got):\n%s", facts.Ref(), diff)
		}
		if r := facts.Related[f.host()+"/app:1"]; r.SameImagePods != 1 {
			t.Errorf("%s: Related = %+v, want 1 other pod on the same image", facts.Ref(), r)
		}
	}
}
