package podfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
)

const examplesDir = "../../examples"

// exampleFacts is the part of an example's facts this test pins down.
type exampleFacts struct {
	Pod      string
	Node     string
	Arch     string
	Runtime  string
	Workload diagnosis.Workload
	// Waiting maps each container (init containers first) to its waiting reason.
	Waiting     map[string]string
	Events      int
	EventAPIs   []string // distinct, sorted
	SA          bool
	PullSecrets []diagnosis.PullSecret
}

func summarize(f *diagnosis.Facts) exampleFacts {
	s := exampleFacts{Pod: f.Pod.Namespace + "/" + f.Pod.Name, Waiting: map[string]string{}, Events: len(f.Events),
		SA: f.ServiceAccount != nil, PullSecrets: f.PullSecrets}
	if f.Node != nil {
		s.Node, s.Arch, s.Runtime = f.Node.Name, f.Node.Arch, f.Node.ContainerRuntime
	}
	if f.Workload != nil {
		s.Workload = *f.Workload
	}
	for _, st := range append(f.Pod.Status.InitContainerStatuses, f.Pod.Status.ContainerStatuses...) {
		reason := "running"
		if st.State.Waiting != nil {
			reason = st.State.Waiting.Reason
		}
		s.Waiting[st.Name] = reason
	}
	seen := map[string]bool{}
	for _, e := range f.Events {
		if !seen[e.API] {
			seen[e.API] = true
			s.EventAPIs = append(s.EventAPIs, e.API)
		}
	}
	slices.Sort(s.EventAPIs)
	return s
}

func TestExamples(t *testing.T) {
	const (
		pod     = "payments/payments-api-6f7d9c8b5-k2x9z"
		node    = "ip-10-0-12-34.us-west-2.compute.internal"
		cd2     = "containerd://2.1.4"
		cd17    = "containerd://1.7.27"
		coreAPI = "v1"
		newAPI  = "events.k8s.io/v1"
	)
	deployment := diagnosis.Workload{Kind: "Deployment", Name: "payments-api"}
	both := []string{newAPI, coreAPI}
	want := map[string]exampleFacts{
		"ecr-tag-not-found.json": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 6, EventAPIs: both},
		"dockerhub-rate-limited.yaml": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd17, Workload: deployment,
			Waiting: map[string]string{"api": "running", "proxy": "ImagePullBackOff"}, Events: 9, EventAPIs: both},
		"ecr-no-basic-auth-credentials.json": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ErrImagePull"}, Events: 6, EventAPIs: both, SA: true},
		"ecr-access-denied-403.yaml": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 6, EventAPIs: both},
		"platform-mismatch-arm64.json": {Pod: "payments/payments-api-6f7d9c8b5-r7m4p", Node: "ip-10-0-45-67.us-west-2.compute.internal", Arch: "arm64",
			Runtime: cd2, Workload: deployment, Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 6, EventAPIs: both},
		"pull-secret-missing.yaml": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 7, EventAPIs: both, SA: true,
			PullSecrets: []diagnosis.PullSecret{{Name: "regcred", From: "pod", Status: diagnosis.SecretUnchecked, Detail: "not in the file"}}},
		"invalid-image-name.json": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "InvalidImageName"}, Events: 3, EventAPIs: both},
		"tls-unknown-authority.yaml": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 6, EventAPIs: both, SA: true,
			PullSecrets: []diagnosis.PullSecret{{Name: "regcred", From: "pod", Status: diagnosis.SecretFound,
				Type: "kubernetes.io/dockerconfigjson", Hosts: []string{"registry.example.com:5000"}}}},
		"ecr-network-timeout.json": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 6, EventAPIs: both},
		"ecr-401-waiting-message-only.yaml": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 2, EventAPIs: both,
			PullSecrets: []diagnosis.PullSecret{{Name: "ecr-pull-token", From: "pod", Status: diagnosis.SecretUnchecked, Detail: "not in the file"}}},
		"backoff-cause-expired.json": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd17, Workload: deployment,
			Waiting: map[string]string{"api": "ImagePullBackOff"}, Events: 2, EventAPIs: both},
		"init-container-tag-not-found.yaml": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"migrate": "ImagePullBackOff", "api": "PodInitializing"}, Events: 6, EventAPIs: both, SA: true},
		// the FailedCreatePodSandBox event is in the file through both APIs and counts once
		"sandbox-image-timeout.json": {Pod: pod, Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "ContainerCreating"}, Events: 2, EventAPIs: both},
		"healthy.yaml": {Pod: "payments/payments-api-6f7d9c8b5-w8n5q", Node: node, Arch: "amd64", Runtime: cd2, Workload: deployment,
			Waiting: map[string]string{"api": "running"}, Events: 5, EventAPIs: both, SA: true},
	}

	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatalf("read %s: %v", examplesDir, err)
	}
	tested := 0
	for _, e := range entries {
		name := e.Name()
		switch filepath.Ext(name) {
		case ".json", ".yaml", ".yml":
		default:
			continue
		}
		tested++
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("examples/%s has no expectations in TestExamples: add them", name)
			}
			file, err := os.Open(filepath.Join(examplesDir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			f, err := Load(file, name, now)
			if err != nil {
				t.Fatalf("Load(%s) error = %v", name, err)
			}
			if diff := cmp.Diff(w, summarize(f)); diff != "" {
				t.Errorf("Load(%s) facts (-want +got):\n%s", name, diff)
			}
			if f.Node == nil || f.Node.Region != "us-west-2" || f.Node.InstanceID == "" {
				t.Errorf("Load(%s) Node = %+v, want an EC2 instance in us-west-2", name, f.Node)
			}
		})
	}
	if tested != len(want) {
		t.Errorf("tested %d example files, want %d: a file listed in TestExamples is missing", tested, len(want))
	}
}
