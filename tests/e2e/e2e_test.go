package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/render"
	"github.com/pullcheck/pullcheck/tests/awsfake"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// want is the finding expected for one container.
type want struct {
	cause      diagnosis.Cause
	confidence diagnosis.Confidence
	// summary, evidence, notes and fixes are substrings that must appear in the summary, in
	// some evidence line, in some note, and in some fix command.
	summary  string
	evidence []string
	notes    []string
	fixes    []string
}

// scenario is one pod in its own namespace, what its node's kubelet wrote, and the AWS and
// registry state around it.
type scenario struct {
	name string
	// node is where the pod runs (nodeEC2 when empty).
	node string
	spec corev1.PodSpec
	// aws changes the AWS scenario (the worked example plus the cluster's instances).
	aws func(sc *awsfake.Scenario)
	// noAWSCredentials gives the bot a credential chain that finds nothing.
	noAWSCredentials bool
	// kube writes what the kubelet wrote, and any objects the pod refers to.
	kube func(ctx context.Context, t testing.TB, k kubelet)
	want map[string]want // by container name
	// skips are the checks expected to be skipped, with a substring of what each needs;
	// any other skip fails the scenario.
	skips map[string]string
	// calls are AWS actions the diagnosis must have made.
	calls []string
	// registryRoles are the bot's registry roles (PULLCHECK_AWS_REGISTRY_ROLES).
	registryRoles map[string]string
	// roleCalls are AWS actions the diagnosis must have made with a registry role's
	// credentials (and never with the bot's own).
	roleCalls []string
	// fixed checks the AWS state after the report's aws commands ran (TestAWSCLI).
	fixed func(t *testing.T, sc *awsfake.Scenario)
}

// outcome is a scenario's diagnosis.
type outcome struct {
	sc     scenario
	index  int
	ns     string
	now    time.Time // the scenario's clock
	report diagnosis.Report
	aws    *awsfake.Server
	// actions are the AWS actions the diagnosis called (before any CLI command ran), and
	// roleActions those it called with a registry role's credentials.
	actions     []string
	roleActions []string
	done        bool
}

var (
	runOnce  sync.Once
	outcomes []*outcome
)

// diagnoseAll runs every scenario once per test binary, as subtests of the first test that
// asks, and returns the outcomes. Each subtest asserts its own verdict.
func diagnoseAll(t *testing.T) []*outcome {
	t.Helper()
	runOnce.Do(func() {
		regs := startRegistries(t)
		t.Run("scenarios", func(t *testing.T) {
			for i, sc := range scenarios() {
				o := &outcome{sc: sc, index: i, ns: fmt.Sprintf("e2e-%02d", i)}
				outcomes = append(outcomes, o)
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					o.run(t, regs)
					o.check(t)
				})
			}
		})
	})
	for _, o := range outcomes {
		if !o.done {
			t.Fatalf("scenario %q did not complete (see its subtest)", o.sc.name)
		}
	}
	return outcomes
}

// run sets the scenario up and diagnoses its pod with the production wiring.
func (o *outcome) run(t *testing.T, regs *registries) {
	ctx := t.Context()
	o.now = time.Now().UTC().Truncate(time.Second)
	now := o.now
	clock := func() time.Time { return now }

	must[*corev1.Namespace](t)(cluster.CreateNamespace(ctx, o.ns))
	for _, sa := range []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "payments-api", Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/payments-api-irsa"}}},
	} {
		must[*corev1.ServiceAccount](t)(cluster.Client.CoreV1().ServiceAccounts(o.ns).Create(ctx, sa, metav1.CreateOptions{}))
	}
	sc := o.sc
	_, rs, err := cluster.CreateDeployment(ctx, o.ns, "payments-api", sc.spec)
	if err != nil {
		t.Fatal(err)
	}
	node := sc.node
	if node == "" {
		node = nodeEC2
	}
	pod := must[*corev1.Pod](t)(cluster.CreatePod(ctx, kubetest.PodFor(o.ns, rs.Name+"-k2x9z", sc.spec, rs), node))
	sc.kube(ctx, t, kubelet{pod: pod, now: now, v1Events: o.index%2 == 1})

	o.aws = newAWS(o.awsState())
	cfg := o.aws.SDKConfig(ctx)
	if sc.noAWSCredentials {
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no EC2 IMDS role found, operation error ec2imds: GetMetadata, canceled, context deadline exceeded")
		})
	}
	w := newWiring(cfg, regs.transport(), []string{o.ns}, clock, sc.registryRoles)
	o.report, err = diagnosis.NewEngine().Diagnose(ctx, w.collector, diagnosis.PodRef{Namespace: o.ns, Name: pod.Name})
	if err != nil {
		t.Fatalf("diagnose: %v", err)
	}
	o.actions = o.aws.Actions()
	for _, c := range o.aws.Calls() {
		if c.Role != "" && !slices.Contains(o.roleActions, c.Action()) {
			o.roleActions = append(o.roleActions, c.Action())
		}
	}
	o.done = true
}

// awsState is the AWS state of the scenario: the worked example with the scenario's changes.
func (o *outcome) awsState() *awsfake.Scenario {
	state := awsScenario(o.now)
	if o.sc.aws != nil {
		o.sc.aws(state)
	}
	return state
}

// check asserts the report against the scenario's expectations.
func (o *outcome) check(t *testing.T) {
	r, sc := o.report, o.sc
	var js bytes.Buffer
	if err := render.JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := render.Text(&text, r, render.TextOptions{Width: 80}); err != nil {
		t.Fatal(err)
	}
	if err := render.Markdown(&bytes.Buffer{}, r); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("report:\n%s", text.String())
		}
	}()
	if r.Status != diagnosis.StatusFailing || len(r.Findings) != len(sc.want) {
		t.Fatalf("status %s with %d findings, want failing with %d", r.Status, len(r.Findings), len(sc.want))
	}
	if first := sc.want[r.Findings[0].Container]; r.Cause != first.cause {
		t.Errorf("pod cause %s, want %s", r.Cause, first.cause)
	}
	for _, f := range r.Findings {
		w, ok := sc.want[f.Container]
		if !ok {
			t.Errorf("unexpected finding for container %q", f.Container)
			continue
		}
		if f.Cause != w.cause || f.Confidence != w.confidence {
			t.Errorf("%s: %s (%s), want %s (%s): %s", f.Container, f.Cause, f.Confidence, w.cause, w.confidence, f.Summary)
		}
		if !strings.Contains(f.Summary, w.summary) {
			t.Errorf("%s: summary %q does not say %q", f.Container, f.Summary, w.summary)
		}
		for _, s := range w.evidence {
			if !slices.ContainsFunc(f.Evidence, func(e string) bool { return strings.Contains(e, s) }) {
				t.Errorf("%s: no evidence says %q", f.Container, s)
			}
		}
		for _, s := range w.notes {
			if !slices.ContainsFunc(f.Notes, func(n string) bool { return strings.Contains(n, s) }) {
				t.Errorf("%s: no note says %q", f.Container, s)
			}
		}
		var cmds []string
		for _, fx := range f.Fixes {
			cmds = append(cmds, fx.Commands...)
		}
		for _, s := range w.fixes {
			if !slices.ContainsFunc(cmds, func(c string) bool { return strings.Contains(c, s) }) {
				t.Errorf("%s: no fix command has %q", f.Container, s)
			}
		}
	}
	seen := map[string]bool{}
	for _, s := range r.Skipped {
		seen[s.Check] = true
		needs, ok := sc.skips[s.Check]
		switch {
		case !ok:
			t.Errorf("unexpected skip %+v", s)
		case !strings.Contains(s.Needs, needs):
			t.Errorf("skip %s needs %q, want it to name %q", s.Check, s.Needs, needs)
		}
	}
	for check := range sc.skips {
		if !seen[check] {
			t.Errorf("no skip for %s, want one", check)
		}
	}
	if sc.noAWSCredentials && len(o.actions) > 0 {
		t.Errorf("without credentials the bot called AWS: %v", o.actions)
	}
	for _, a := range sc.calls {
		if !slices.Contains(o.actions, a) {
			t.Errorf("the diagnosis did not call %s (calls: %v)", a, o.actions)
		}
	}
	for _, a := range sc.roleCalls {
		if !slices.Contains(o.roleActions, a) {
			t.Errorf("the diagnosis did not call %s through a registry role (role calls: %v)", a, o.roleActions)
		}
		for _, c := range o.aws.Calls() {
			if c.Action() == a && c.Role == "" {
				t.Errorf("the diagnosis called %s with the bot's own credentials, want the registry role's only", a)
				break
			}
		}
	}
	for _, secret := range []string{privatePass, awsfake.ECRPassword, awsfake.SecretAccessKey} {
		if strings.Contains(js.String(), secret) || strings.Contains(text.String(), secret) {
			t.Errorf("the report prints the secret %q", secret)
		}
	}
}

// TestScenarios diagnoses one pod per cause of the README's cause table (and the partial
// reports: no AWS credentials, a denied AWS call) and checks the cause and confidence.
func TestScenarios(t *testing.T) {
	all := diagnoseAll(t)
	causes := map[diagnosis.Cause]bool{}
	for _, o := range all {
		for _, f := range o.report.Findings {
			causes[f.Cause] = true
		}
	}
	for _, c := range diagnosis.AllCauses() {
		if c.Cause != diagnosis.CauseNone && !causes[c.Cause] {
			t.Errorf("no scenario ends in cause %s", c.Cause)
		}
	}
}

// TestIAMPolicy: the AWS calls the code can make (read from diagnosis/cloud's source), the
// calls the scenarios made, and deploy/aws/iam-policy.json plus iam-policy-registry-roles.json
// agree: every call is reached by a scenario, every call is granted, and every grant is used.
// sts:AssumeRole is granted by the registry-roles policy only, and what the registry roles
// call is granted by deploy/aws/registry-read-role-policy.json (diagnosis/cloud's
// TestRegistryRole checks that every grant of it is used).
func TestIAMPolicy(t *testing.T) {
	all := diagnoseAll(t)
	called := map[string]bool{}
	for _, o := range all {
		for _, a := range o.actions {
			called[a] = true
		}
	}
	own, roles := policyActions(t, "iam-policy.json"), policyActions(t, "iam-policy-registry-roles.json")
	if slices.ContainsFunc(own, func(p string) bool { return grants(p, "sts:AssumeRole") }) {
		t.Errorf("deploy/aws/iam-policy.json grants sts:AssumeRole: only iam-policy-registry-roles.json may")
	}
	if !slices.Equal(roles, []string{"sts:AssumeRole"}) {
		t.Errorf("deploy/aws/iam-policy-registry-roles.json grants %v, want sts:AssumeRole only", roles)
	}
	checkPolicy(t, called, codeActions(t), append(own, roles...))

	rolePolicy := policyActions(t, "registry-read-role-policy.json")
	roleCalled := false
	for _, o := range all {
		for _, a := range o.roleActions {
			roleCalled = true
			if !slices.ContainsFunc(rolePolicy, func(p string) bool { return grants(p, a) }) {
				t.Errorf("%s: a registry role called %s, which deploy/aws/registry-read-role-policy.json does not grant", o.sc.name, a)
			}
		}
	}
	if !roleCalled {
		t.Error("no scenario read a registry through its role")
	}
}

// TestAWSCLI runs every aws command the reports print (fixes and verify) with the real AWS
// CLI against each scenario's awsfake server: each finding's fixes in order, then its verify
// command, as one script. A command that does not parse or fails fails the test.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("jq is missing (the fix commands edit policies with it): apt-get install jq: %v", err)
	}
	all := diagnoseAll(t)
	var mu sync.Mutex
	ran := 0
	t.Run("reports", func(t *testing.T) {
		for _, o := range all {
			for _, f := range o.report.Findings {
				script, n := cliScript(f)
				if n == 0 {
					continue
				}
				t.Run(o.sc.name, func(t *testing.T) {
					t.Parallel()
					// The state the diagnosis saw, on a server of its own (the fixes change it).
					// The operator who runs the fixes is not the bot: the bot's denials do not apply.
					state := o.awsState()
					clear(state.Denied)
					state.SeparateAccounts = false // the operator has credentials in the registry account
					server := newAWS(state)
					out, err := server.RunCLI(t, script)
					if err != nil {
						t.Errorf("%v\nscript:\n%s\nstdout:\n%s", err, script, out)
						return
					}
					if o.sc.fixed != nil {
						server.View(func(sc *awsfake.Scenario) { o.sc.fixed(t, sc) })
					}
					mu.Lock()
					ran += n
					mu.Unlock()
				})
			}
		}
	})
	t.Logf("%d aws commands ran", ran)
	if ran == 0 {
		t.Error("no aws command ran")
	}
}
