package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// readerRules returns the ClusterRole and the optional secrets Role of deploy/kubernetes/rbac.yaml.
func readerRules(t *testing.T) (cluster, secrets []rbacv1.PolicyRule) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "..", "deploy", "kubernetes", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var obj struct {
			Kind  string              `json:"kind"`
			Rules []rbacv1.PolicyRule `json:"rules"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("parse rbac.yaml: %v", err)
		}
		switch obj.Kind {
		case "ClusterRole":
			cluster = obj.Rules
		case "Role":
			secrets = obj.Rules
		}
	}
	if len(cluster) == 0 || len(secrets) == 0 {
		t.Fatal("rbac.yaml must hold the ClusterRole and the secrets Role")
	}
	return cluster, secrets
}

// TestRBACIsExactlyWhatTheCodeReads proves deploy/kubernetes/rbac.yaml both ways: a user with
// exactly those rules runs diagnose and scan with nothing skipped, and taking away any single
// verb on any resource changes what pullcheck can tell (a skipped check or an error).
func TestRBACIsExactlyWhatTheCodeReads(t *testing.T) {
	ctx := context.Background()
	nodes(ctx, t)
	ns := "rbac"
	must[*corev1.Namespace](t)(cluster.CreateNamespace(ctx, ns))
	must[*corev1.ServiceAccount](t)(cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metaName("default")}, metaCreate))
	spec := corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}, Containers: []corev1.Container{container("api", ecrImage)}}
	deployPod := deploy(ctx, t, ns, scenario{spec: spec})
	failPull(ctx, t, deployPod, "api", notFoundMsg(ecrImage), false)
	jobPod := deploy(ctx, t, ns, scenario{workload: "job", spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{container("report", ecrImage)}}})
	failPull(ctx, t, jobPod, "report", notFoundMsg(ecrImage), false)

	clusterRules, secretRules := readerRules(t)

	// probe runs what pullcheck does and summarises what it could tell.
	probe := func(t *testing.T, user string) string {
		kc := kubeconfigAs(t, user)
		var out []string
		for _, args := range [][]string{
			{"diagnose", ns + "/" + deployPod.Name, "-o", "json"},
			{"diagnose", ns + "/" + jobPod.Name, "-o", "json"},
			{"diagnose", "no-such-namespace/x"},
			{"scan", "-A", "-o", "json"},
		} {
			res := pullcheck(t, kc, args...)
			line := fmt.Sprintf("%s: exit %d", args[0], res.code)
			if res.code != 0 {
				line += " " + strings.TrimSpace(res.stderr)
			} else if args[0] == "diagnose" {
				var skipped []string
				for _, s := range decodeReport(t, res.stdout).Skipped {
					skipped = append(skipped, s.Check+"("+s.Needs+")")
				}
				sort.Strings(skipped)
				line += " skipped " + strings.Join(skipped, ",")
			}
			out = append(out, line)
		}
		return strings.Join(out, "\n")
	}

	grant := func(t *testing.T, user string, rules []rbacv1.PolicyRule) {
		if err := cluster.Grant(ctx, "", user, user, rules...); err != nil {
			t.Fatal(err)
		}
		if err := cluster.Grant(ctx, ns, user+"-secrets", user, secretRules...); err != nil {
			t.Fatal(err)
		}
	}

	grant(t, "reader-full", clusterRules)
	full := probe(t, "reader-full")
	for _, line := range strings.Split(full, "\n") {
		if strings.HasPrefix(line, "diagnose: exit 0") && !strings.HasSuffix(line, "skipped ") {
			t.Errorf("with the role, a check was still skipped: %s", line)
		}
	}
	if !strings.Contains(full, `namespace "no-such-namespace" not found`) || !strings.Contains(full, "scan: exit 0") {
		t.Fatalf("with the role, pullcheck cannot do its job:\n%s", full)
	}

	for i, rule := range clusterRules {
		for _, res := range rule.Resources {
			for _, verb := range rule.Verbs {
				t.Run(res+"/"+verb, func(t *testing.T) {
					user := fmt.Sprintf("reader-without-%d-%s-%s", i, res, verb)
					grant(t, user, without(clusterRules, i, res, verb))
					if got := probe(t, user); got == full {
						t.Errorf("removing %q on %q changes nothing: the role grants more than the code reads", verb, res)
					}
				})
			}
		}
	}
	t.Run("secrets/get", func(t *testing.T) {
		user := "reader-without-secrets"
		if err := cluster.Grant(ctx, "", user, user, clusterRules...); err != nil {
			t.Fatal(err)
		}
		if got := probe(t, user); !strings.Contains(got, "get secrets") {
			t.Errorf("without the secrets Role the report does not say the secret check was skipped:\n%s", got)
		}
	})
}

// without returns rules minus one verb on one resource of rule i.
func without(rules []rbacv1.PolicyRule, i int, resource, verb string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for j, r := range rules {
		if j != i {
			out = append(out, r)
			continue
		}
		for _, res := range r.Resources {
			var verbs []string
			for _, v := range r.Verbs {
				if res != resource || v != verb {
					verbs = append(verbs, v)
				}
			}
			if len(verbs) > 0 {
				out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: []string{res}, Verbs: verbs})
			}
		}
	}
	return out
}
