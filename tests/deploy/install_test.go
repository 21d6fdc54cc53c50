package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

func pollUntil(ctx context.Context, cond func() (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) { return cond() })
}

// variants are the values the install tests use: the defaults, and two files that between
// them turn every option on (Socket Mode with a chart-made Secret and alerts limited to some
// namespaces; HTTP mode with an existing Secret, cluster-wide alerts and a ServiceMonitor).
var variants = []struct {
	name, file, release, namespace string
}{
	{"defaults", "", "pullcheck", "pullcheck"},
	{"all-options-socket", "values-all-socket.yaml", "pullcheck", "pullcheck-socket"},
	{"all-options-http", "values-all-http.yaml", "pullcheck-http", "pullcheck-http"},
}

// TestChartInstallsByDryRun: every object the chart renders, for the defaults and for every
// option on, is accepted by the API server with server-side apply in dry-run mode (admission,
// defaulting, validation and the RBAC escalation check of Roles and bindings all run).
func TestChartInstallsByDryRun(t *testing.T) {
	ctx := context.Background()
	installServiceMonitorCRD(ctx, t)
	version := serverVersion(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := release{Name: v.release, Namespace: v.namespace, KubeVersion: version}
			if v.file != "" {
				r.Values = valuesFile(t, v.file)
			}
			objs := mustRender(t, r)
			var namespaces []string
			for _, o := range objs {
				if ns := o.GetNamespace(); ns != "" {
					namespaces = append(namespaces, ns)
				}
			}
			ensureNamespaces(ctx, t, namespaces...)
			a := newApplier(t, cluster.Config)
			for _, o := range objs {
				if err := a.apply(ctx, o, true); err != nil {
					t.Error(err)
				}
			}
			// The dry run stored nothing.
			if _, err := cluster.Client.AppsV1().Deployments(v.namespace).Get(ctx, one(t, objs, "Deployment").GetName(), getOpts); err == nil {
				t.Errorf("the dry run created the Deployment")
			}
		})
	}
}

// TestChartObjects checks what the issue asks of the objects, for every variant.
func TestChartObjects(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := release{Name: v.release, Namespace: v.namespace}
			if v.file != "" {
				r.Values = valuesFile(t, v.file)
			}
			objs := mustRender(t, r)
			var d appsv1.Deployment
			into(t, one(t, objs, "Deployment"), &d)
			spec := d.Spec.Template.Spec
			if v.name == "defaults" && (d.Spec.Replicas == nil || *d.Spec.Replicas != 2) {
				t.Errorf("replicas %v; want 2 by default (leader election)", d.Spec.Replicas)
			}
			if len(spec.Containers) != 1 {
				t.Fatalf("%d containers; want 1", len(spec.Containers))
			}
			c := spec.Containers[0]
			if strings.Join(c.Args, " ") != "serve" {
				t.Errorf("args %q; want serve", c.Args)
			}
			psc, sc := spec.SecurityContext, c.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
				t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
			}
			if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext: want the RuntimeDefault seccomp profile")
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("container securityContext: want readOnlyRootFilesystem")
			}
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("container securityContext: want allowPrivilegeEscalation false")
			}
			if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0 {
				t.Errorf("container securityContext: want capabilities drop [ALL] and nothing added")
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
			}
			health := port(c, "health")
			for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "health" {
					t.Errorf("%s probe %+v: want an HTTP GET on the health port", name, p)
				}
			}
			if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("readiness probe path %q; want /readyz", c.ReadinessProbe.HTTPGet.Path)
			}
			if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("liveness probe path %q; want /healthz", c.LivenessProbe.HTTPGet.Path)
			}
			if got := env(c, "PULLCHECK_HEALTH_LISTEN"); got == nil || got.Value != ":"+itoa(health) {
				t.Errorf("PULLCHECK_HEALTH_LISTEN %+v; want :%d (the health port)", got, health)
			}
			for name, field := range map[string]string{"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"} {
				e := env(c, name)
				if e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != field {
					t.Errorf("%s %+v; want it from the downward API (%s)", name, e, field)
				}
			}
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "SLACK_") && strings.HasSuffix(e.Name, "TOKEN") || e.Name == "SLACK_SIGNING_SECRET" || e.Name == "PULLCHECK_RESTART_KEY" {
					if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Errorf("%s is not read from a Secret", e.Name)
					}
				}
			}
			var pdb policyv1.PodDisruptionBudget
			pdbs := find(objs, "PodDisruptionBudget", "")
			if v.name != "all-options-http" {
				if len(pdbs) != 1 {
					t.Fatalf("no PodDisruptionBudget: %s", kinds(objs))
				}
				into(t, pdbs[0], &pdb)
				if pdb.Spec.Selector == nil || !subset(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
					t.Errorf("the PodDisruptionBudget selects %v, not the pods (%v)", pdb.Spec.Selector, d.Spec.Template.Labels)
				}
			}
			var metrics *corev1.Service
			for _, o := range find(objs, "Service", "") {
				var s corev1.Service
				into(t, o, &s)
				if len(s.Spec.Ports) == 1 && s.Spec.Ports[0].Name == "metrics" {
					metrics = &s
				}
			}
			if metrics == nil {
				t.Fatalf("no metrics Service: %s", kinds(objs))
			}
			if metrics.Spec.Ports[0].TargetPort.String() != "health" || !subset(metrics.Spec.Selector, d.Spec.Template.Labels) {
				t.Errorf("the metrics Service %+v does not reach the pods' health port", metrics.Spec)
			}
			var sa corev1.ServiceAccount
			into(t, one(t, objs, "ServiceAccount"), &sa)
			if spec.ServiceAccountName != sa.Name {
				t.Errorf("the pods run as %q, the chart's ServiceAccount is %q", spec.ServiceAccountName, sa.Name)
			}
		})
	}
}

// TestIRSAAndPodIdentity: the IRSA role lands on the ServiceAccount annotation EKS reads;
// Pod Identity cannot be set in the cluster, so the notes print the association command.
func TestIRSAAndPodIdentity(t *testing.T) {
	r := release{Name: "pullcheck", Namespace: "pullcheck-socket", Values: valuesFile(t, "values-all-socket.yaml")}
	var sa corev1.ServiceAccount
	into(t, one(t, mustRender(t, r), "ServiceAccount"), &sa)
	if got, want := sa.Annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::111122223333:role/pullcheck-bot"; got != want {
		t.Errorf("IRSA annotation %q; want %q", got, want)
	}
	n := notes(t, r)
	for _, want := range []string{"aws eks create-pod-identity-association --cluster-name prod-eks", "--namespace pullcheck-socket --service-account pullcheck-bot", "--role-arn arn:aws:iam::111122223333:role/pullcheck-bot", "node role"} {
		if !strings.Contains(n, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, n)
		}
	}
	def := notes(t, release{Name: "pullcheck", Namespace: "pullcheck"})
	if !strings.Contains(def, "create secret generic pullcheck-slack") || !strings.Contains(def, "No AWS role is set") {
		t.Errorf("default NOTES.txt does not say how to create the Secret and that no AWS role is set:\n%s", def)
	}
}

// TestServiceMonitorFields checks the ServiceMonitor against prometheus-operator's own Go
// types (unknown fields fail), which the test CRD on the API server does not.
func TestServiceMonitorFields(t *testing.T) {
	objs := mustRender(t, release{Name: "pullcheck-http", Namespace: "pullcheck-http", Values: valuesFile(t, "values-all-http.yaml")})
	var sm monitoringv1.ServiceMonitor
	into(t, one(t, objs, "ServiceMonitor"), &sm)
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" {
		t.Errorf("ServiceMonitor endpoints %+v; want the metrics port", sm.Spec.Endpoints)
	}
	var metrics corev1.Service
	into(t, find(objs, "Service", "pullcheck-http-metrics")[0], &metrics)
	if !subset(sm.Spec.Selector.MatchLabels, metrics.Labels) {
		t.Errorf("the ServiceMonitor selects %v; the metrics Service has %v", sm.Spec.Selector.MatchLabels, metrics.Labels)
	}
}

// TestSecretExistingOrCreated: by default the pods read an existing Secret and the chart
// makes none; with slack.secret.create the chart makes it, with exactly the keys the pods read.
func TestSecretExistingOrCreated(t *testing.T) {
	def := mustRender(t, release{Name: "pullcheck", Namespace: "pullcheck"})
	if s := find(def, "Secret", ""); len(s) != 0 {
		t.Errorf("the default chart creates a Secret: %s", kinds(s))
	}
	var d appsv1.Deployment
	into(t, one(t, def, "Deployment"), &d)
	if e := env(d.Spec.Template.Spec.Containers[0], "SLACK_BOT_TOKEN"); e == nil || e.ValueFrom.SecretKeyRef.Name != "pullcheck-slack" {
		t.Errorf("SLACK_BOT_TOKEN %+v; want it from Secret pullcheck-slack", e)
	}

	objs := mustRender(t, release{Name: "pullcheck", Namespace: "pullcheck-socket", Values: valuesFile(t, "values-all-socket.yaml")})
	var sec corev1.Secret
	into(t, one(t, objs, "Secret"), &sec)
	d = appsv1.Deployment{}
	into(t, one(t, objs, "Deployment"), &d)
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name != sec.Name {
			t.Errorf("%s reads Secret %q; the chart made %q", e.Name, ref.Name, sec.Name)
		}
		if _, ok := sec.Data[ref.Key]; !ok {
			t.Errorf("%s reads key %q, which the chart-made Secret lacks", e.Name, ref.Key)
		}
	}
	if _, ok := d.Spec.Template.Annotations["checksum/secret"]; !ok {
		t.Errorf("a chart-made Secret does not roll the pods when it changes (no checksum/secret annotation)")
	}
}

// TestSchemaRejects: values.schema.json stops typos and wrong values before anything is
// installed, with the path of the bad value.
func TestSchemaRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
		want   string
	}{
		{"unknown key", "replicas: 3", "replicas"},
		{"slack mode", "slack: {mode: websocket}", "/slack/mode"},
		{"namespace name", "rbac: {restartNamespaces: [Payments]}", "/rbac/restartNamespaces/0"},
		{"approver", "cluster: prod\nconfig: {approvers: [{namespaces: [payments], approvers: [alice@example.com]}]}", "/config/approvers/0/approvers/0"},
		{"approvers need a cluster", "config: {approvers: [{namespaces: [payments], approvers: [U012ABCDEF]}]}", "cluster"},
		{"duration", "timeout: 60", "/timeout"},
		{"duration text", "config: {offerTTL: 15 minutes}", "/config/offerTTL"},
		{"unknown rules key", "config: {channel: [x]}", "channel"},
		{"unknown alerts key", "config: {alerts: {defaultChanel: '#x'}}", "defaultChanel"},
		{"created secret needs the bot token", "slack: {secret: {create: true}}", "botToken"},
		{"bot token prefix", "slack: {secret: {create: true, botToken: xapp-1}}", "/slack/secret/botToken"},
		{"IRSA role ARN", "serviceAccount: {irsaRoleArn: pullcheck-bot}", "/serviceAccount/irsaRoleArn"},
		{"port", "health: {port: 70000}", "/health/port"},
		{"digest", "image: {digest: latest}", "/image/digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string]any{}
			if err := yamlUnmarshal(tc.values, &vals); err != nil {
				t.Fatal(err)
			}
			_, err := render(t, release{Name: "pullcheck", Namespace: "pullcheck", Values: vals})
			if err == nil {
				t.Fatalf("values %q rendered; want a schema error", tc.values)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want it to name %q", err, tc.want)
			}
		})
	}
}
