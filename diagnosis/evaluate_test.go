package diagnosis

import (
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEvaluateHealthy(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *Facts
		want Report
	}{
		{
			name: "running pod",
			f:    newFacts(running("api")),
			want: Report{Pod: PodRef{tNS, tPod}, Status: StatusHealthy, Cause: CauseNone, Workload: &Workload{"Deployment", tWorkload},
				Node: tNode, Source: "context arn:aws:eks:us-west-2:111122223333:cluster/prod-eks", Findings: []Finding{}},
		},
		{
			// The init container runs; the app container waits for it, not for an image.
			name: "initialising, nothing to pull",
			f: newFacts(func(f *Facts) {
				statusOf(f, KindInit, "migrate").State.Terminated = nil
				waiting("api", "PodInitializing", "")(f)
			}),
			want: Report{Pod: PodRef{tNS, tPod}, Status: StatusHealthy, Cause: CauseNone, Workload: &Workload{"Deployment", tWorkload},
				Node: tNode, Source: "context arn:aws:eks:us-west-2:111122223333:cluster/prod-eks", Findings: []Finding{}},
		},
		{
			name: "no pod",
			f:    &Facts{Source: "file pod.yaml"},
			want: Report{Status: StatusHealthy, Cause: CauseNone, Source: "file pod.yaml", Findings: []Finding{}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewEngine().Evaluate(tc.f)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"findings":[]`) {
				t.Errorf("JSON %s: findings must be [] for a healthy pod, not null", b)
			}
		})
	}
}

type findingKey struct {
	Container string
	Kind      ContainerKind
	Cause     Cause
	Check     string
}

func keys(r Report) []findingKey {
	var out []findingKey
	for _, f := range r.Findings {
		out = append(out, findingKey{f.Container, f.ContainerKind, f.Cause, f.Check})
	}
	return out
}

func TestEvaluateMultipleContainers(t *testing.T) {
	sandbox := event("Warning", "FailedCreatePodSandBox", "",
		`Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "`+tPause+`": failed to pull image "`+tPause+`": `+timeoutErr(tPause, "52.94.1.10"), time.Minute)
	const debugImage = "busybox:1.99"
	for _, tc := range []struct {
		name    string
		f       *Facts
		want    []findingKey
		primary Cause
	}{
		{
			// Init:ImagePullBackOff holds the app container in PodInitializing (DOMAIN §10.5).
			name:    "init container blocks the pod",
			f:       newFacts(pullFailed("migrate", notFoundErr(tMigrate))),
			want:    []findingKey{{"migrate", KindInit, CauseTagNotFound, "not-found"}},
			primary: CauseTagNotFound,
		},
		{
			name:    "pod sandbox image",
			f:       newFacts(sandbox),
			want:    []findingKey{{sandboxName, KindSandbox, CauseRegistryUnreachable, "registry-unreachable"}},
			primary: CauseRegistryUnreachable,
		},
		{
			name: "one finding per failing container, in spec order",
			f: newFacts(addContainer("sidecar", "public.ecr.aws/aws-observability/aws-otel-collector:v0.99.0"),
				pullFailed("api", headStatusErr(ecrImage, "403 Forbidden")),
				pullFailed("sidecar", notFoundErr("public.ecr.aws/aws-observability/aws-otel-collector:v0.99.0"))),
			want: []findingKey{
				{"api", KindRegular, CauseAccessDenied, "access-denied"},
				{"sidecar", KindRegular, CauseTagNotFound, "not-found"},
			},
			primary: CauseAccessDenied,
		},
		{
			name: "sandbox before init before app before debug container",
			f: newFacts(withEphemeral("debugger-x7k2p", debugImage), sandbox,
				pullFailed("debugger-x7k2p", notFoundErr("docker.io/library/busybox:1.99")),
				pullFailed("migrate", noBasicAuthErr(tMigrate))),
			want: []findingKey{
				{sandboxName, KindSandbox, CauseRegistryUnreachable, "registry-unreachable"},
				{"migrate", KindInit, CauseRegistryCredentials, "registry-credentials"},
				{"debugger-x7k2p", KindEphemeral, CauseTagNotFound, "not-found"},
			},
			primary: CauseRegistryUnreachable,
		},
		{
			name: "init before the debug container",
			f: newFacts(withEphemeral("debugger-x7k2p", debugImage),
				pullFailed("debugger-x7k2p", notFoundErr("docker.io/library/busybox:1.99")),
				pullFailed("migrate", noBasicAuthErr(tMigrate))),
			want: []findingKey{
				{"migrate", KindInit, CauseRegistryCredentials, "registry-credentials"},
				{"debugger-x7k2p", KindEphemeral, CauseTagNotFound, "not-found"},
			},
			primary: CauseRegistryCredentials,
		},
		{
			name: "only the debug container fails",
			f: newFacts(running("api"), withEphemeral("debugger-x7k2p", debugImage),
				pullFailed("debugger-x7k2p", notFoundErr("docker.io/library/busybox:1.99"))),
			want:    []findingKey{{"debugger-x7k2p", KindEphemeral, CauseTagNotFound, "not-found"}},
			primary: CauseTagNotFound,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewEngine().Evaluate(tc.f)
			if diff := cmp.Diff(tc.want, keys(r)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if r.Status != StatusFailing || r.Cause != tc.primary {
				t.Errorf("report %s/%s, want failing/%s", r.Status, r.Cause, tc.primary)
			}
			for _, fd := range r.Findings {
				assertSane(t, fd.Summary, fd.RestartHelps, fd.Fixes, fd.Verify)
			}
		})
	}
}

func TestEvaluateEphemeralContainer(t *testing.T) {
	// kubectl debug: fieldPath spec.ephemeralContainers{debugger-x7k2p}; the pod keeps running (DOMAIN §10.5).
	for _, tc := range []struct {
		name  string
		image string
		err   string
		mods  []func(*Facts)
	}{
		{name: "tag not found", image: "busybox:1.99", err: notFoundErr("docker.io/library/busybox:1.99")},
		{name: "never pull", image: "busybox:1.36", mods: []func(*Facts){neverPull("debugger-x7k2p")}},
		{name: "private registry", image: tPrivate, err: insufficientScopeErr(tPrivate)},
		{name: "error text gone, bare pod", image: "busybox:1.36", mods: []func(*Facts){ownedBy("Pod", tPod), waiting("debugger-x7k2p", ReasonImagePullBackOff, `Back-off pulling image "busybox:1.36"`)}},
		{name: "Fargate disk", image: "python:3.12", err: `failed to pull and unpack image "docker.io/library/python:3.12": failed to extract layer sha256:0a1b: no space left on device: unknown`, mods: []func(*Facts){onFargate}},
		{name: "ECR 403", image: ecrImage, err: headStatusErr(ecrImage, "403 Forbidden")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mods := []func(*Facts){running("api"), withEphemeral("debugger-x7k2p", tc.image)}
			if tc.err != "" {
				mods = append(mods, pullFailed("debugger-x7k2p", tc.err))
			}
			r := NewEngine().Evaluate(newFacts(append(mods, tc.mods...)...))
			if len(r.Findings) != 1 {
				t.Fatalf("got %d findings, want 1", len(r.Findings))
			}
			fd := r.Findings[0]
			if fd.ContainerKind != KindEphemeral || fd.Container != "debugger-x7k2p" {
				t.Errorf("finding for %s %s, want the ephemeral debugger-x7k2p", fd.ContainerKind, fd.Container)
			}
			if fd.RestartHelps.Helps || !strings.Contains(fd.RestartHelps.Reason, "kubectl debug") {
				t.Errorf("restart_helps = %+v, want false with the kubectl debug advice", fd.RestartHelps)
			}
			if !strings.Contains(strings.Join(fd.Notes, "\n"), "the pod's own containers are not affected") {
				t.Errorf("notes %q do not say the workload is fine", fd.Notes)
			}
			// Nothing in the finding may restart, roll back, patch or re-create the workload.
			cmds := fixText(fd.Fixes)
			for _, bad := range []string{"rollout", "set image", "set resources", "patch deployment", "delete pod", "replace --force", "replicasets"} {
				if strings.Contains(cmds, bad) {
					t.Errorf("a fix for a debug container touches the workload (%q):\n%s", bad, cmds)
				}
			}
			if !strings.Contains(strings.Join(fd.Evidence, "\n"), "ephemeralContainerStatuses[debugger-x7k2p]") {
				t.Errorf("evidence %q lacks the ephemeral status path", fd.Evidence)
			}
			assertSane(t, fd.Summary, fd.RestartHelps, fd.Fixes, fd.Verify)
		})
	}
}

func TestEvaluateRestartAdvice(t *testing.T) {
	forbidden := pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))
	for _, tc := range []struct {
		name, reason, notReason, restart string
	}{
		{name: "Deployment", restart: "kubectl -n payments rollout restart deployment/payments-api"},
		{name: "Job", reason: "owned by a Job, so delete the pod", restart: "kubectl -n payments delete pod " + tPod},
		{name: "CronJob", reason: "owned by a CronJob, so delete the pod", restart: "kubectl -n payments delete pod " + tPod},
		{name: "Pod", reason: "re-create it", notReason: "owned by a Pod", restart: "| kubectl replace --force -f -"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tWorkload
			if tc.name == "Pod" {
				name = tPod
			}
			r := NewEngine().Evaluate(newFacts(ownedBy(tc.name, name), forbidden))
			fd := r.Findings[0]
			if !fd.RestartHelps.Helps {
				t.Fatalf("restart_helps = false for a 403, want true")
			}
			if !strings.Contains(fd.RestartHelps.Reason, tc.reason) || (tc.notReason != "" && strings.Contains(fd.RestartHelps.Reason, tc.notReason)) {
				t.Errorf("restart reason %q, want %q (and not %q)", fd.RestartHelps.Reason, tc.reason, tc.notReason)
			}
			if !strings.Contains(fixText(fd.Fixes), tc.restart) {
				t.Errorf("fixes lack the restart %q:\n%s", tc.restart, fixText(fd.Fixes))
			}
			if n := strings.Count(fixText(fd.Fixes), tc.restart); n != 1 {
				t.Errorf("the restart appears %d times, want once", n)
			}
		})
	}
}

func TestEvaluateTieBreak(t *testing.T) {
	verdict := func(cause Cause, conf Confidence) func(*Facts, *Container) *Verdict {
		return func(*Facts, *Container) *Verdict {
			return &Verdict{Cause: cause, Confidence: conf, Summary: string(cause), RestartHelps: RestartAdvice{Reason: "test"}}
		}
	}
	none := func(*Facts, *Container) *Verdict { return nil }
	f := newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden")))
	for _, tc := range []struct {
		name   string
		checks []Check
		cause  Cause
		check  string
	}{
		{"equal confidence: the earlier check wins", []Check{{"a", verdict(CauseAccessDenied, Likely)}, {"b", verdict(CauseEndpointPolicyDenied, Likely)}}, CauseAccessDenied, "a"},
		{"higher confidence wins over order", []Check{{"a", verdict(CauseAccessDenied, Possible)}, {"b", verdict(CauseEndpointPolicyDenied, Likely)}, {"c", verdict(CauseKMSDenied, Likely)}}, CauseEndpointPolicyDenied, "b"},
		{"confirmed beats everything", []Check{{"a", verdict(CauseAccessDenied, Likely)}, {"b", none}, {"c", verdict(CauseKMSDenied, Confirmed)}}, CauseKMSDenied, "c"},
		{"no verdict: unknown", []Check{{"a", none}}, CauseUnknown, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewEngine(tc.checks...).Evaluate(f)
			if got := r.Findings[0]; got.Cause != tc.cause || got.Check != tc.check {
				t.Errorf("got %s from %q, want %s from %q", got.Cause, got.Check, tc.cause, tc.check)
			}
		})
	}
}

func TestEvaluateUnknownMessage(t *testing.T) {
	r := NewEngine().Evaluate(newFacts(pullFailed("api", "something odd happened")))
	fd := r.Findings[0]
	if fd.Cause != CauseUnknown || fd.Check != "unknown" || fd.Confidence != Possible || fd.RestartHelps.Helps {
		t.Errorf("got %s/%s from %q (restart %v), want unknown/possible from the fallback, no restart", fd.Cause, fd.Confidence, fd.Check, fd.RestartHelps.Helps)
	}
	want := []string{
		"kubectl -n payments get events --field-selector involvedObject.name=" + tPod + " --sort-by .lastTimestamp",
		"kubectl -n payments describe pod " + tPod,
	}
	if diff := cmp.Diff([]Fix{{Title: "Read the full error from the pod's events", Commands: want}}, fd.Fixes); diff != "" {
		t.Errorf("fixes (-want +got):\n%s", diff)
	}
	if !strings.Contains(fd.Summary, "ImagePullBackOff") {
		t.Errorf("summary %q does not name the reason", fd.Summary)
	}
}

func TestEvaluateEvidenceAndVerify(t *testing.T) {
	f := newFacts(pullFailed("api", notFoundErr(ecrImage)), func(f *Facts) {
		f.Related = map[string]Related{ecrImage: {Scope: "cluster", SameImagePods: 2, SameRegistryPods: 1, Nodes: 3}}
	})
	fd := NewEngine().Evaluate(f).Findings[0]
	wantPrefix := []string{
		"status.containerStatuses[api].state.waiting.reason: ImagePullBackOff",
		`event Warning Failed (last 2026-08-22T09:49:00Z, v1): "Failed to pull image "` + ecrImage + `": rpc error: code = NotFound`,
		"the runtime's gRPC status code is NotFound",
		"2 other pod(s) fail on the same image and 1 on other images of 111122223333.dkr.ecr.us-west-2.amazonaws.com (cluster)",
	}
	if len(fd.Evidence) < len(wantPrefix) {
		t.Fatalf("evidence %q is too short", fd.Evidence)
	}
	for i, w := range wantPrefix {
		if !strings.HasPrefix(fd.Evidence[i], w) {
			t.Errorf("evidence[%d] = %q, want prefix %q", i, fd.Evidence[i], w)
		}
	}
	if fd.Verify != "kubectl -n payments get pods -l app=payments-api -o wide" {
		t.Errorf("verify = %q", fd.Verify)
	}
	if fd.Image != ecrImage || fd.Container != "api" || fd.ContainerKind != KindRegular {
		t.Errorf("finding names %s %s %s", fd.ContainerKind, fd.Container, fd.Image)
	}

	// v1.32+: no events, the waiting message keeps the error.
	fd = NewEngine().Evaluate(newFacts(backOff132("migrate", notFoundErr(tMigrate)))).Findings[0]
	if fd.Evidence[0] != "status.initContainerStatuses[migrate].state.waiting.reason: ImagePullBackOff" ||
		!strings.HasPrefix(fd.Evidence[1], "status.initContainerStatuses[migrate].state.waiting.message: \"Back-off pulling image") {
		t.Errorf("evidence %q does not quote the init container's waiting message", fd.Evidence)
	}

	// A short name says where it resolves.
	fd = NewEngine().Evaluate(newFacts(withImage("api", "api:1.8.2"), pullFailed("api", insufficientScopeErr("docker.io/library/api:1.8.2")))).Findings[0]
	if !strings.Contains(strings.Join(fd.Evidence, "\n"), `image "api:1.8.2" has no registry host, so the kubelet pulls docker.io/library/api:1.8.2 (Docker Hub)`) {
		t.Errorf("evidence %q lacks the Docker Hub normalisation", fd.Evidence)
	}
	if fd.Cause != CauseRepositoryNotFound || fd.RestartHelps.Helps {
		t.Errorf("short name on Docker Hub library: got %s (restart %v), want repository-not-found, no restart", fd.Cause, fd.RestartHelps.Helps)
	}
}

func TestEvaluateSkipped(t *testing.T) {
	skips := []Skip{
		{Check: "pull-secrets", Reason: "cannot get secret regcred: forbidden", Needs: `"get" on "secrets" in namespace payments`},
		{Check: "related", Reason: "cannot list pods cluster-wide: forbidden", Needs: `"list" on "pods" cluster-wide`},
	}
	for _, f := range []*Facts{
		newFacts(running("api")),
		newFacts(pullFailed("api", notFoundErr(ecrImage))),
	} {
		f.Skipped = skips
		if diff := cmp.Diff(skips, NewEngine().Evaluate(f).Skipped); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
	}
}

func TestEvaluateIsPure(t *testing.T) {
	f := newFacts(pullFailed("api", notFoundErr(ecrImage)), pullFailed("migrate", noBasicAuthErr(tMigrate)), withSecret(dockerSecret("regcred", "ghcr.io")))
	before, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine()
	r1, r2 := e.Evaluate(f), e.Evaluate(f)
	if diff := cmp.Diff(r1, r2); diff != "" {
		t.Errorf("two evaluations differ (-first +second):\n%s", diff)
	}
	after, _ := json.Marshal(f)
	if string(before) != string(after) {
		t.Errorf("Evaluate modified the facts")
	}
}

// TestChecksTolerateSparseFacts runs every check over every message shape with the least a
// collector may give (no node, service account, workload or node name): no panic, and the
// generic rules for fixes still hold.
func TestChecksTolerateSparseFacts(t *testing.T) {
	msgs := []string{notFoundErr(ecrImage), noBasicAuthErr(ecrImage), insufficientScopeErr(tPrivate), headStatusErr(ecrImage, "401 Unauthorized"),
		headStatusErr(ecrImage, "403 Forbidden"), headStatusErr(tPrivate, "403 Forbidden"), timeoutErr(ecrImage, "52.94.1.10"),
		layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden"), "pull QPS exceeded", "something odd happened"}
	for _, tc := range classifierCases {
		msgs = append(msgs, tc.msg)
	}
	for i, msg := range msgs {
		for _, img := range []string{ecrImage, tPrivate, "busybox:1.36", "public.ecr.aws/nginx/nginx:1.27"} {
			f := newFacts(withImage("api", img), pullFailed("api", msg), withSecret(PullSecret{Name: "regcred", Status: SecretMissing}), func(f *Facts) {
				f.Node, f.ServiceAccount, f.Workload, f.Cluster = nil, nil, nil, ""
				f.Pod.Spec.NodeName = ""
			})
			r := NewEngine().Evaluate(f)
			for _, fd := range r.Findings {
				t.Run(strconv.Itoa(i)+"/"+img, func(t *testing.T) {
					assertSane(t, fd.Summary, fd.RestartHelps, fd.Fixes, fd.Verify)
				})
			}
		}
	}
}

func TestAllCauses(t *testing.T) {
	// Every Cause constant declared in the package must be documented, once.
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[Cause]bool{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Cause" {
				return true
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					t.Errorf("Cause constant with a non-literal value at %s", fset.Position(v.Pos()))
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				declared[Cause(s)] = true
			}
			return true
		})
	}
	if len(declared) < 20 {
		t.Fatalf("found only %d Cause constants; the parser walk is broken", len(declared))
	}
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	documented := map[Cause]bool{}
	for _, ci := range AllCauses() {
		if documented[ci.Cause] {
			t.Errorf("AllCauses lists %s twice", ci.Cause)
		}
		documented[ci.Cause] = true
		if !declared[ci.Cause] {
			t.Errorf("AllCauses lists %s, which is not a declared Cause constant", ci.Cause)
		}
		if !kebab.MatchString(string(ci.Cause)) {
			t.Errorf("cause %q is not kebab-case", ci.Cause)
		}
		if ci.Description == "" || strings.Contains(ci.Description, "\n") {
			t.Errorf("cause %s needs a one-line description, got %q", ci.Cause, ci.Description)
		}
	}
	for c := range declared {
		if !documented[c] {
			t.Errorf("Cause %s is not in AllCauses", c)
		}
	}
}

func TestDefaultChecks(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	seen := map[string]bool{"unknown": true} // the fallback's ID
	checks := DefaultChecks()
	if len(checks) == 0 {
		t.Fatal("no checks")
	}
	for _, c := range checks {
		if !kebab.MatchString(c.ID) {
			t.Errorf("check ID %q is not kebab-case", c.ID)
		}
		if seen[c.ID] {
			t.Errorf("check ID %q is not unique", c.ID)
		}
		seen[c.ID] = true
		if c.Run == nil {
			t.Errorf("check %s has no Run", c.ID)
		}
	}
}

type fakeCollector struct {
	facts *Facts
	all   []*Facts
	err   error
}

func (c fakeCollector) Collect(context.Context, PodRef) (*Facts, error) { return c.facts, c.err }
func (c fakeCollector) CollectFailing(context.Context, string) ([]*Facts, error) {
	return c.all, c.err
}

func TestDiagnoseAndScan(t *testing.T) {
	ctx := t.Context()
	e := NewEngine()
	ref := PodRef{tNS, tPod}
	if _, err := e.Diagnose(ctx, fakeCollector{err: ErrPodNotFound}, ref); !errors.Is(err, ErrPodNotFound) || !strings.Contains(err.Error(), ref.String()) {
		t.Errorf("Diagnose error = %v, want it to wrap ErrPodNotFound and name %s", err, ref)
	}
	r, err := e.Diagnose(ctx, fakeCollector{facts: newFacts(pullFailed("api", notFoundErr(ecrImage)))}, ref)
	if err != nil || r.Cause != CauseTagNotFound {
		t.Errorf("Diagnose = %v, %v; want tag-not-found", r, err)
	}
	healthy, failing := newFacts(running("api")), newFacts(pullFailed("api", notFoundErr(ecrImage)))
	reports, err := e.Scan(ctx, fakeCollector{all: []*Facts{healthy, failing}}, "")
	if err != nil || len(reports) != 1 || reports[0].Status != StatusFailing {
		t.Errorf("Scan = %v, %v; want only the failing pod", reports, err)
	}
	if _, err := e.Scan(ctx, fakeCollector{err: ErrNamespaceNotFound}, "nope"); !errors.Is(err, ErrNamespaceNotFound) {
		t.Errorf("Scan error = %v, want ErrNamespaceNotFound", err)
	}
}
