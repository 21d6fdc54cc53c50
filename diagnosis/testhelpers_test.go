package diagnosis

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The worked example of DOMAIN.md: every fix command must carry these real values.
const (
	tNS        = "payments"
	tPod       = "payments-api-6f7d9c8b5-k2x9z"
	tWorkload  = "payments-api"
	tSA        = "payments-api"
	tNode      = "ip-10-0-12-34.us-west-2.compute.internal"
	tFargate   = "fargate-ip-10-0-12-34.us-west-2.compute.internal"
	tInstance  = "i-0abc1234def567890"
	tAccount   = "111122223333"
	tRegion    = "us-west-2"
	tCluster   = "prod-eks"
	tProfile   = "fp-payments"
	tMigrate   = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/migrate:1.8.2"
	tPrevImage = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.1"
	tXAccount  = "444455556666.dkr.ecr.us-west-2.amazonaws.com/platform/base:2024.06"
	tPrivate   = "registry.example.com:5000/team/app:3.1"
	tPause     = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5"
	tIRSA      = "arn:aws:iam::111122223333:role/payments-api-irsa"
	tDigest    = "sha256:4feaecf0df9a7319becc808f8c78d3498dcab3fde3dc0270ad6486c0cc001216"
)

var tNow = time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return tNow.Add(-d) }

// newFacts builds the worked example: pod payments/payments-api-6f7d9c8b5-k2x9z of Deployment
// payments-api on EC2 node ip-10-0-12-34 (instance i-0abc1234def567890, us-west-2), with the
// init container migrate completed and the container api created but not yet told why it
// waits. Mods then shape the failure.
func newFacts(mods ...func(*Facts)) *Facts {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:              tPod,
			Namespace:         tNS,
			Labels:            map[string]string{"app": "payments-api", "pod-template-hash": "6f7d9c8b5"},
			CreationTimestamp: metav1.NewTime(ago(30 * time.Minute)),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet",
				Name: "payments-api-6f7d9c8b5", Controller: new(true)}},
		},
		Spec: corev1.PodSpec{
			NodeName:           tNode,
			ServiceAccountName: tSA,
			InitContainers:     []corev1.Container{{Name: "migrate", Image: tMigrate, ImagePullPolicy: corev1.PullIfNotPresent}},
			Containers:         []corev1.Container{{Name: "api", Image: ecrImage, ImagePullPolicy: corev1.PullIfNotPresent}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodPending,
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "migrate", Image: tMigrate, Ready: true,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "api", Image: ecrImage,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}},
		},
	}
	f := &Facts{
		Pod:     pod,
		Now:     tNow,
		Source:  "context arn:aws:eks:us-west-2:111122223333:cluster/prod-eks",
		Cluster: tCluster,
		Node: &NodeFacts{
			Name: tNode, Arch: "amd64", OS: "linux",
			ProviderID: "aws:///us-west-2a/" + tInstance, InstanceID: tInstance,
			Zone: "us-west-2a", Region: tRegion, InstanceType: "m7i.large", NodeGroup: "ng-general",
			ContainerRuntime: "containerd://1.7.27", KubeletVersion: "v1.31.4-eks-1a2b3c4",
		},
		ServiceAccount: &ServiceAccountFacts{Name: tSA, Found: true},
		Workload:       &Workload{Kind: "Deployment", Name: tWorkload},
	}
	for _, m := range mods {
		m(f)
	}
	return f
}

// specOf returns the spec entry of a container of any kind. A missing container is a bug
// in the test's builder calls, so it panics.
func specOf(f *Facts, name string) (kind ContainerKind, image *string, policy *corev1.PullPolicy) {
	for i := range f.Pod.Spec.InitContainers {
		if c := &f.Pod.Spec.InitContainers[i]; c.Name == name {
			return KindInit, &c.Image, &c.ImagePullPolicy
		}
	}
	for i := range f.Pod.Spec.Containers {
		if c := &f.Pod.Spec.Containers[i]; c.Name == name {
			return KindRegular, &c.Image, &c.ImagePullPolicy
		}
	}
	for i := range f.Pod.Spec.EphemeralContainers {
		if c := &f.Pod.Spec.EphemeralContainers[i]; c.Name == name {
			return KindEphemeral, &c.Image, &c.ImagePullPolicy
		}
	}
	panic("test builder: no container " + name + " in the pod spec")
}

// statusOf returns the status entry of a container, adding one when missing.
func statusOf(f *Facts, kind ContainerKind, name string) *corev1.ContainerStatus {
	list := &f.Pod.Status.ContainerStatuses
	switch kind {
	case KindInit:
		list = &f.Pod.Status.InitContainerStatuses
	case KindEphemeral:
		list = &f.Pod.Status.EphemeralContainerStatuses
	}
	for i := range *list {
		if (*list)[i].Name == name {
			return &(*list)[i]
		}
	}
	*list = append(*list, corev1.ContainerStatus{Name: name})
	return &(*list)[len(*list)-1]
}

// fieldPath is the kubelet's event fieldPath for a container.
func fieldPath(kind ContainerKind, name string) string {
	return (&Container{Name: name, Kind: kind}).Path()
}

// imageOf returns the spec image of a container.
func imageOf(f *Facts, name string) string {
	_, img, _ := specOf(f, name)
	return *img
}

// withImage sets the spec (and status) image of a container.
func withImage(name, image string) func(*Facts) {
	return func(f *Facts) {
		kind, img, _ := specOf(f, name)
		*img = image
		statusOf(f, kind, name).Image = image
	}
}

// withPolicy sets a container's imagePullPolicy.
func withPolicy(name string, p corev1.PullPolicy) func(*Facts) {
	return func(f *Facts) {
		_, _, pol := specOf(f, name)
		*pol = p
	}
}

// waiting puts a container in state waiting. An init container that waits holds the app
// containers in PodInitializing.
func waiting(name, reason, msg string) func(*Facts) {
	return func(f *Facts) {
		kind, img, _ := specOf(f, name)
		st := statusOf(f, kind, name)
		st.Image = *img
		st.Ready = false
		st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
		if kind == KindInit {
			for i := range f.Pod.Status.ContainerStatuses {
				f.Pod.Status.ContainerStatuses[i].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
			}
		}
	}
}

// event appends a kubelet event about the pod.
func event(typ, reason, path, msg string, last time.Duration) func(*Facts) {
	return func(f *Facts) {
		f.Events = append(f.Events, Event{Type: typ, Reason: reason, FieldPath: path, Message: msg,
			Count: 1, FirstSeen: ago(last), LastSeen: ago(last), API: "v1"})
	}
}

// pullFailed reproduces what a pre-1.32 kubelet leaves after a failed pull (DOMAIN §2.2):
// Pulling, Failed "Failed to pull image", Failed "Error: ErrImagePull", BackOff, Failed
// "Error: ImagePullBackOff", and the container waiting in ImagePullBackOff with the bare
// back-off message. runtimeErr is what follows `Failed to pull image "X": `.
func pullFailed(name, runtimeErr string) func(*Facts) {
	return func(f *Facts) {
		kind, img, _ := specOf(f, name)
		p := fieldPath(kind, name)
		for _, m := range []func(*Facts){
			event("Normal", "Pulling", p, `Pulling image "`+*img+`"`, 12*time.Minute),
			event("Warning", "Failed", p, `Failed to pull image "`+*img+`": `+runtimeErr, 11*time.Minute),
			event("Warning", "Failed", p, "Error: ErrImagePull", 11*time.Minute),
			event("Normal", "BackOff", p, `Back-off pulling image "`+*img+`"`, time.Minute),
			event("Warning", "Failed", p, "Error: ImagePullBackOff", time.Minute),
			waiting(name, ReasonImagePullBackOff, `Back-off pulling image "`+*img+`"`),
		} {
			m(f)
		}
	}
}

// backOff132 is a v1.32+ kubelet after the events expired: no events, and the waiting
// message keeps the last error after the back-off wrapper (kubernetes/kubernetes#127918).
func backOff132(name, runtimeErr string) func(*Facts) {
	return func(f *Facts) {
		img := imageOf(f, name)
		waiting(name, ReasonImagePullBackOff, `Back-off pulling image "`+img+`": ErrImagePull: `+runtimeErr)(f)
	}
}

// Runtime error texts (what follows `Failed to pull image "X": `), containerd shapes of DOMAIN §3.1.

func resolveErr(image, inner string) string {
	return `failed to pull and unpack image "` + image + `": failed to resolve reference "` + image + `": ` + inner
}

func notFoundErr(image string) string {
	return "rpc error: code = NotFound desc = " + resolveErr(image, image+": not found")
}

func noBasicAuthErr(image string) string {
	return resolveErr(image, "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials")
}

func insufficientScopeErr(image string) string {
	return resolveErr(image, "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed")
}

func headURL(image string) string {
	r := ParseImage(image)
	return "https://" + r.RegistryHost() + "/v2/" + r.Path + "/manifests/" + r.Reference()
}

func headStatusErr(image, status string) string {
	return resolveErr(image, "unexpected status from HEAD request to "+headURL(image)+": "+status)
}

func timeoutErr(image, ip string) string {
	return resolveErr(image, `failed to do request: Head "`+headURL(image)+`": dial tcp `+ip+`:443: i/o timeout`)
}

const layerURL = "https://prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com/2f9c-111122223333-0c5d-4e5f/1f2e3d4c?X-Amz-Security-Token=abc"

func layerErr(image, tail string) string {
	return `failed to pull and unpack image "` + image + `": failed to copy: httpReadSeeker: failed open: ` + tail
}

// Facts modifiers for the edge cases.

// onFargate moves the pod to a Fargate node of profile fp-payments.
func onFargate(f *Facts) {
	f.Pod.Spec.NodeName = tFargate
	f.Node = &NodeFacts{Name: tFargate, Arch: "amd64", OS: "linux", Zone: "us-west-2a", Region: tRegion,
		Fargate: true, FargateProfile: tProfile, ContainerRuntime: "containerd://1.7.27"}
}

// ownedBy sets the top of the owner chain; kind "Pod" makes it a bare pod.
func ownedBy(kind, name string) func(*Facts) {
	return func(f *Facts) {
		f.Workload = &Workload{Kind: kind, Name: name}
		switch kind {
		case "Pod":
			f.Pod.OwnerReferences = nil
			f.Pod.Labels = map[string]string{"run": "payments-api"}
		case "Job", "CronJob":
			job := name
			if kind == "CronJob" {
				job = name + "-29012345"
			}
			f.Pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job, Controller: new(true)}}
			f.Pod.Labels = map[string]string{"app": "payments-api", "batch.kubernetes.io/controller-uid": "1f0e2d3c", "batch.kubernetes.io/job-name": job,
				"controller-uid": "1f0e2d3c", "job-name": job}
		case "StatefulSet":
			f.Pod.Labels = map[string]string{"app": "payments-api", "controller-revision-hash": "payments-api-7c9d", "statefulset.kubernetes.io/pod-name": "payments-api-0"}
		}
	}
}

// withSecret adds a pull secret; From "pod" secrets are also listed in the pod spec.
func withSecret(s PullSecret) func(*Facts) {
	return func(f *Facts) {
		if s.From == "" {
			s.From = "pod"
		}
		f.PullSecrets = append(f.PullSecrets, s)
		switch s.From {
		case "pod":
			f.Pod.Spec.ImagePullSecrets = append(f.Pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s.Name})
		case "serviceaccount":
			f.ServiceAccount.ImagePullSecrets = append(f.ServiceAccount.ImagePullSecrets, s.Name)
		}
	}
}

func dockerSecret(name string, hosts ...string) PullSecret {
	return PullSecret{Name: name, Status: SecretFound, Type: corev1.SecretTypeDockerConfigJson, Hosts: hosts}
}

func withIRSA(f *Facts) { f.ServiceAccount.IRSARoleARN = tIRSA }

// withNodeRegion moves the node (and its instance) to another region.
func withNodeRegion(region string) func(*Facts) {
	return func(f *Facts) {
		f.Node.Region, f.Node.Zone = region, region+"a"
		f.Node.Name = strings.Replace(f.Node.Name, tRegion, region, 1)
		f.Pod.Spec.NodeName = f.Node.Name
	}
}

// withEphemeral adds a kubectl debug container.
func withEphemeral(name, image string) func(*Facts) {
	return func(f *Facts) {
		f.Pod.Spec.EphemeralContainers = append(f.Pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent}})
		statusOf(f, KindEphemeral, name).Image = image
	}
}

// addContainer appends a regular container (e.g. a sidecar).
func addContainer(name, image string) func(*Facts) {
	return func(f *Facts) {
		f.Pod.Spec.Containers = append(f.Pod.Spec.Containers, corev1.Container{Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent})
		statusOf(f, KindRegular, name).Image = image
	}
}

// running marks a container as started and running.
func running(name string) func(*Facts) {
	return func(f *Facts) {
		kind, img, _ := specOf(f, name)
		st := statusOf(f, kind, name)
		st.Image, st.Ready = *img, true
		st.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(ago(20 * time.Minute))}}
	}
}

func diskPressure(msg string) func(*Facts) {
	return func(f *Facts) { f.Node.DiskPressure, f.Node.DiskPressureMsg = new(true), msg }
}

// checkCase is one row of a check's table test.
type checkCase struct {
	name      string
	facts     *Facts
	container string // default "api"
	wantNil   bool
	cause     Cause
	conf      Confidence
	says      []string // substrings of the summary or the evidence
	fixes     []string // substrings of the fix commands or titles
	notFixes  []string // substrings no fix (command or title) may contain
	firstFix  string   // substring of the first fix's first command: what to do first
	verify    []string // substrings of Verify
	notes     []string // substrings of the notes
	alts      []Cause
	restart   bool
}

// runCheckCases runs each row through FailingContainers and the check.
func runCheckCases(t *testing.T, run func(*Facts, *Container) *Verdict, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := failing(t, tc.facts, tc.container)
			v := run(tc.facts, c)
			if tc.wantNil {
				if v != nil {
					t.Fatalf("check returned %s (%s) for %q, want nil", v.Cause, v.Summary, c.ErrorText)
				}
				return
			}
			if v == nil {
				t.Fatalf("check returned nil for %q (signal %s), want %s", c.ErrorText, c.Signal.Kind, tc.cause)
			}
			assertVerdict(t, tc, v)
		})
	}
}

// failing returns the named failing container (default "api").
func failing(t *testing.T, f *Facts, name string) *Container {
	t.Helper()
	if name == "" {
		name = "api"
	}
	var names []string
	for _, c := range FailingContainers(f) {
		if c.Name == name {
			return c
		}
		names = append(names, c.Name)
	}
	t.Fatalf("container %q is not failing (failing: %v)", name, names)
	return nil
}

func assertVerdict(t *testing.T, tc checkCase, v *Verdict) {
	t.Helper()
	if v.Cause != tc.cause || v.Confidence != tc.conf {
		t.Errorf("got %s/%s, want %s/%s (summary %q)", v.Cause, v.Confidence, tc.cause, tc.conf, v.Summary)
	}
	said := v.Summary + "\n" + strings.Join(v.Evidence, "\n")
	for _, s := range tc.says {
		if !strings.Contains(said, s) {
			t.Errorf("summary+evidence lack %q:\n%s", s, said)
		}
	}
	fixes := fixText(v.Fixes)
	for _, s := range tc.fixes {
		if !strings.Contains(fixes, s) {
			t.Errorf("fixes lack %q:\n%s", s, fixes)
		}
	}
	for _, s := range tc.notFixes {
		if strings.Contains(fixes, s) {
			t.Errorf("fixes contain %q, want not:\n%s", s, fixes)
		}
	}
	if tc.firstFix != "" && (len(v.Fixes) == 0 || len(v.Fixes[0].Commands) == 0 || !strings.Contains(v.Fixes[0].Commands[0], tc.firstFix)) {
		t.Errorf("the first fix does not start with %q:\n%s", tc.firstFix, fixes)
	}
	for _, s := range tc.verify {
		if !strings.Contains(v.Verify, s) {
			t.Errorf("verify %q lacks %q", v.Verify, s)
		}
	}
	notes := strings.Join(v.Notes, "\n")
	for _, s := range tc.notes {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	if diff := cmp.Diff(tc.alts, v.Alternatives, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("alternatives (-want +got):\n%s", diff)
	}
	if v.RestartHelps.Helps != tc.restart {
		t.Errorf("restart helps = %v (%s), want %v", v.RestartHelps.Helps, v.RestartHelps.Reason, tc.restart)
	}
	assertSane(t, v.Summary, v.RestartHelps, v.Fixes, v.Verify)
}

// placeholder matches template placeholders like <namespace> or <ACCOUNT_ID>; shell
// redirections such as </dev/null or < <(cmd) do not match.
var placeholder = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9_ .-]*>`)

var (
	shellUse    = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	shellAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=`)
	shellRead   = regexp.MustCompile(`^read ((?:[A-Z_][A-Z0-9_]* ?)+) <`)
	// shellLoop matches the variable of a loop inside a command: for X in ... / while read -r X.
	shellLoop = regexp.MustCompile(`\b(?:for ([A-Z_][A-Z0-9_]*) in |while read -r ([A-Z_][A-Z0-9_]*); do )`)
)

// userVars are the secrets a fix asks the operator to export; pullcheck never sees them.
var userVars = map[string]bool{"REGISTRY_USER": true, "REGISTRY_PASSWORD": true, "DOCKERHUB_USER": true, "DOCKERHUB_TOKEN": true}

// assertSane checks what every verdict must satisfy: a summary and a restart reason, fixes
// with a title and non-empty commands, no <placeholders>, and shell variables that are
// defined (by an earlier command) before use and not frozen inside single quotes.
func assertSane(t *testing.T, summary string, restart RestartAdvice, fixes []Fix, verify string) {
	t.Helper()
	if summary == "" {
		t.Error("empty summary")
	}
	if restart.Reason == "" {
		t.Error("restart_helps has no reason")
	}
	defined := map[string]bool{}
	checkCmd := func(where, cmd string) {
		if cmd == "" {
			t.Errorf("%s: empty command", where)
		}
		if m := placeholder.FindString(cmd); m != "" {
			t.Errorf("%s: placeholder %s in %q", where, m, cmd)
		}
		loopVars := map[string]int{} // loop variable -> where the loop defines it
		for _, m := range shellLoop.FindAllStringSubmatchIndex(cmd, -1) {
			for i := 2; i < len(m); i += 2 {
				if m[i] >= 0 {
					loopVars[cmd[m[i]:m[i+1]]] = m[i+1]
				}
			}
		}
		for _, m := range shellUse.FindAllStringSubmatchIndex(cmd, -1) {
			name := cmd[m[2]:m[3]]
			if end, ok := loopVars[name]; ok && m[0] > end {
				continue // defined by its loop, earlier in the command
			}
			if !defined[name] && !userVars[name] {
				t.Errorf("%s: $%s is used before any command defines it: %q", where, name, cmd)
			}
			if inSingleQuotes(cmd, m[0]) {
				t.Errorf("%s: $%s is inside single quotes, so the shell never expands it: %q", where, name, cmd)
			}
		}
		if m := shellAssign.FindStringSubmatch(cmd); m != nil {
			defined[m[1]] = true
		}
		if m := shellRead.FindStringSubmatch(cmd); m != nil {
			for _, n := range strings.Fields(m[1]) {
				defined[n] = true
			}
		}
	}
	for _, fx := range fixes {
		if fx.Title == "" || len(fx.Commands) == 0 {
			t.Errorf("fix %+v needs a title and a command", fx)
		}
		if m := placeholder.FindString(fx.Title); m != "" {
			t.Errorf("fix title %q has placeholder %s", fx.Title, m)
		}
		for _, c := range fx.Commands {
			checkCmd("fix "+fx.Title, c)
		}
	}
	if verify != "" {
		checkCmd("verify", verify)
	}
}

// inSingleQuotes reports whether byte i of a POSIX shell command is inside single quotes.
func inSingleQuotes(cmd string, i int) bool {
	single, double := false, false
	for j := 0; j < i; j++ {
		switch cmd[j] {
		case '\'':
			if !double {
				single = !single
			}
		case '"':
			if !single {
				double = !double
			}
		case '\\':
			if !single {
				j++
			}
		}
	}
	return single
}

func fixText(fixes []Fix) string {
	var b strings.Builder
	for _, f := range fixes {
		b.WriteString("# " + f.Title + "\n")
		for _, c := range f.Commands {
			b.WriteString(c + "\n")
		}
	}
	return b.String()
}

func TestHelpersBuildTheWorkedExample(t *testing.T) {
	f := newFacts(pullFailed("api", notFoundErr(ecrImage)))
	c := failing(t, f, "api")
	if c.Kind != KindRegular || c.Reason != ReasonImagePullBackOff || c.Signal.Kind != SigNotFound {
		t.Fatalf("got %s %s %s, want container ImagePullBackOff not-found", c.Kind, c.Reason, c.Signal.Kind)
	}
	if !strings.HasPrefix(c.ErrorText, `Failed to pull image "`+ecrImage+`": rpc error: code = NotFound`) {
		t.Errorf("error text %q does not come from the Failed event", c.ErrorText)
	}
	if got := len(FailingContainers(newFacts())); got != 0 {
		t.Errorf("the base pod has %d failing containers, want 0", got)
	}
	if !inSingleQuotes(`a '$X' b`, 3) || inSingleQuotes(`a "$X" '' b`, 3) {
		t.Error("inSingleQuotes is wrong")
	}
}
