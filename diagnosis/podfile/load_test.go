package podfile

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
)

var now = time.Date(2026, 11, 25, 10, 12, 0, 0, time.UTC)

const (
	podUID = "0a1b2c3d-0000-4000-8000-000000000001"

	podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: payments-api-6f7d9c8b5-k2x9z
  namespace: payments
  uid: 0a1b2c3d-0000-4000-8000-000000000001
spec:
  nodeName: ip-10-0-12-34.us-west-2.compute.internal
  serviceAccountName: payments-api
  containers:
  - name: api
    image: 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2
`
	podJSON = `{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "name": "payments-api-6f7d9c8b5-k2x9z",
    "namespace": "payments",
    "uid": "0a1b2c3d-0000-4000-8000-000000000001"
  },
  "spec": {
    "nodeName": "ip-10-0-12-34.us-west-2.compute.internal",
    "serviceAccountName": "payments-api",
    "containers": [
      {"name": "api", "image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"}
    ]
  }
}`
	// coreEventJSON and newEventJSON are one event about the pod in each API.
	coreEventJSON = `{"apiVersion": "v1", "kind": "Event",
  "metadata": {"name": "payments-api-6f7d9c8b5-k2x9z.1", "namespace": "payments", "uid": "e1"},
  "involvedObject": {"kind": "Pod", "namespace": "payments", "name": "payments-api-6f7d9c8b5-k2x9z", "uid": "0a1b2c3d-0000-4000-8000-000000000001", "fieldPath": "spec.containers{api}"},
  "reason": "Pulling", "message": "Pulling image \"111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2\"",
  "firstTimestamp": "2026-11-25T10:00:03Z", "lastTimestamp": "2026-11-25T10:11:18Z", "count": 7, "type": "Normal"}`
	newEventJSON = `{"apiVersion": "events.k8s.io/v1", "kind": "Event",
  "metadata": {"name": "payments-api-6f7d9c8b5-k2x9z.2", "namespace": "payments", "uid": "e2"},
  "regarding": {"kind": "Pod", "namespace": "payments", "name": "payments-api-6f7d9c8b5-k2x9z", "uid": "0a1b2c3d-0000-4000-8000-000000000001", "fieldPath": "spec.containers{api}"},
  "reason": "BackOff", "note": "Back-off pulling image \"111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2\"",
  "eventTime": null, "deprecatedFirstTimestamp": "2026-11-25T10:00:04Z", "deprecatedLastTimestamp": "2026-11-25T10:11:49Z",
  "deprecatedCount": 44, "type": "Normal"}`
)

func load(t *testing.T, input string) *diagnosis.Facts {
	t.Helper()
	f, err := Load(strings.NewReader(input), "test.json", now)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return f
}

func list(items ...string) string {
	return `{"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [` + strings.Join(items, ",\n") + `]}`
}

// TestLoadForms reads the same pod and events written in every accepted layout.
func TestLoadForms(t *testing.T) {
	eventListYAML := `apiVersion: events.k8s.io/v1
kind: EventList
items:
- metadata: {name: payments-api-6f7d9c8b5-k2x9z.2, namespace: payments, uid: e2}
  regarding: {kind: Pod, namespace: payments, name: payments-api-6f7d9c8b5-k2x9z, uid: 0a1b2c3d-0000-4000-8000-000000000001}
  reason: BackOff
  note: Back-off pulling image "x"
  deprecatedCount: 44
`
	tests := []struct {
		name       string
		input      string
		wantEvents int
	}{
		{"bare Pod, JSON", podJSON, 0},
		{"bare Pod, YAML", podYAML, 0},
		{"List with both event APIs", list(podJSON, coreEventJSON, newEventJSON), 2},
		{"two JSON documents: pod, then kubectl get events", podJSON + "\n" + list(coreEventJSON, newEventJSON) + "\n", 2},
		{"JSON documents without separators", podJSON + coreEventJSON, 1},
		{"top-level JSON array", "[" + podJSON + "," + coreEventJSON + "]", 1},
		{"List nested in a List", list(podJSON, list(coreEventJSON, newEventJSON)), 2},
		{"typed lists omit the items' kind", `{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p", "namespace": "payments"}}]}`, 0},
		{"typed list items with a kind but no apiVersion", `{"apiVersion": "v1", "kind": "PodList", "items": [{"kind": "Pod", "metadata": {"name": "p"}}]}`, 0},
		{"YAML stream with a typed EventList", podYAML + "---\n" + eventListYAML, 1},
		{"YAML with comments, empty documents and a document start", "# saved by kubectl\n---\n---\n" + podYAML + "---\n# nothing here\n...\n", 0},
		{"YAML sequence of objects", "- " + strings.ReplaceAll(strings.TrimSuffix(podYAML, "\n"), "\n", "\n  ") + "\n", 0},
		{"YAML with CRLF line ends", strings.ReplaceAll(podYAML, "\n", "\r\n"), 0},
		{"byte order mark", "\ufeff" + podJSON, 0},
		{"JSON read as YAML after a comment", "# kubectl get pod -o json\n" + podJSON, 0},
		{"YAML anchors, aliases and merge keys", `apiVersion: v1
kind: Pod
metadata:
  name: payments-api-6f7d9c8b5-k2x9z
  labels: &labels {app: payments-api}
  annotations:
    <<: *labels
    note: merged
spec:
  containers:
  - &api {name: api, image: nginx:1.27}
  - <<: *api
    name: proxy
`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := load(t, tt.input)
			if f.Pod == nil || f.Pod.Name == "" {
				t.Fatalf("Load() Pod = %v, want the pod", f.Pod)
			}
			if got := len(f.Events); got != tt.wantEvents {
				t.Errorf("Load() %d events, want %d: %+v", got, tt.wantEvents, f.Events)
			}
			if f.Source != "file test.json" {
				t.Errorf("Source = %q, want %q", f.Source, "file test.json")
			}
			if !f.Now.Equal(now) {
				t.Errorf("Now = %v, want %v", f.Now, now)
			}
		})
	}
}

func TestLoadYAMLValues(t *testing.T) {
	f := load(t, `apiVersion: v1
kind: Pod
metadata:
  name: p
  creationTimestamp: 2026-11-25T10:00:00Z
  labels: {release: "2026-11-25", version: "1.10"}
spec:
  priority: 0x10
  terminationGracePeriodSeconds: 3_0
  containers:
  - name: api
    image: nginx
    stdin: true
    ports: [{containerPort: 8080}]
status:
  containerStatuses:
  - name: api
    restartCount: 3
`)
	p := f.Pod
	if want := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC); !p.CreationTimestamp.Time.Equal(want) {
		t.Errorf("creationTimestamp = %v, want %v", p.CreationTimestamp, want)
	}
	if diff := cmp.Diff(map[string]string{"release": "2026-11-25", "version": "1.10"}, p.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if p.Spec.Priority == nil || *p.Spec.Priority != 16 {
		t.Errorf("priority = %v, want 16", p.Spec.Priority)
	}
	if g := p.Spec.TerminationGracePeriodSeconds; g == nil || *g != 30 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 30", g)
	}
	if c := p.Spec.Containers[0]; !c.Stdin || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("container = %+v, want stdin and port 8080", c)
	}
	if got := p.Status.ContainerStatuses[0].RestartCount; got != 3 {
		t.Errorf("restartCount = %d, want 3", got)
	}
}

func TestEvents(t *testing.T) {
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	ref := func(extra string) string {
		return `{"kind": "Pod", "namespace": "payments", "name": "payments-api-6f7d9c8b5-k2x9z", "uid": "` + podUID + `"` + extra + `}`
	}
	input := list(podJSON,
		coreEventJSON,
		newEventJSON,
		// the same event as coreEventJSON, read through events.k8s.io/v1: counted once
		`{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "payments-api-6f7d9c8b5-k2x9z.1", "namespace": "payments", "uid": "e1"},
		  "regarding": `+ref(`, "fieldPath": "spec.containers{api}"`)+`, "reason": "Pulling", "note": "dup", "deprecatedCount": 7}`,
		// events.k8s.io/v1 with a series
		`{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "s", "namespace": "payments", "uid": "e3"},
		  "regarding": `+ref(`, "fieldPath": "spec.initContainers{migrate}"`)+`, "reason": "Failed", "type": "Warning", "note": "Error: ImagePullBackOff",
		  "eventTime": "2026-11-25T10:00:05.123456Z", "series": {"count": 12, "lastObservedTime": "2026-11-25T10:10:00.500000Z"}}`,
		// events.k8s.io/v1 as the scheduler writes it: eventTime only
		`{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "sched", "namespace": "payments", "uid": "e4"},
		  "regarding": `+ref(``)+`, "reason": "Scheduled", "type": "Normal", "note": "Successfully assigned payments/payments-api-6f7d9c8b5-k2x9z to ip-10-0-12-34.us-west-2.compute.internal",
		  "eventTime": "2026-11-25T10:00:00.412318Z", "deprecatedFirstTimestamp": null, "deprecatedLastTimestamp": null}`,
		// core/v1 with a series and no count
		`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "cs", "namespace": "payments", "uid": "e5"},
		  "involvedObject": `+ref(``)+`, "reason": "FailedCreatePodSandBox", "type": "Warning", "message": "Failed to create pod sandbox: x",
		  "eventTime": "2026-11-25T10:01:00.000001Z", "series": {"count": 4, "lastObservedTime": "2026-11-25T10:09:00.000000Z"}}`,
		// no uid: matched by name and namespace (from the event's metadata)
		`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "n", "namespace": "payments"},
		  "involvedObject": {"kind": "Pod", "name": "payments-api-6f7d9c8b5-k2x9z"}, "reason": "FailedToRetrieveImagePullSecret", "type": "Warning",
		  "message": "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.", "count": 2,
		  "firstTimestamp": "2026-11-25T10:00:02Z", "lastTimestamp": "2026-11-25T10:11:47Z"}`,
		// not about this pod: an earlier pod of the same name, a pod in another namespace,
		// the ReplicaSet, another pod
		`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "old", "namespace": "payments", "uid": "x1"},
		  "involvedObject": {"kind": "Pod", "namespace": "payments", "name": "payments-api-6f7d9c8b5-k2x9z", "uid": "ffffffff-0000-4000-8000-000000000000"}, "reason": "Killing", "message": "old"}`,
		`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ns", "namespace": "staging", "uid": "x2"},
		  "involvedObject": {"kind": "Pod", "name": "payments-api-6f7d9c8b5-k2x9z"}, "reason": "Pulling", "message": "other namespace"}`,
		`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "rs", "namespace": "payments", "uid": "x3"},
		  "involvedObject": {"kind": "ReplicaSet", "namespace": "payments", "name": "payments-api-6f7d9c8b5-k2x9z"}, "reason": "SuccessfulCreate", "message": "Created pod: payments-api-6f7d9c8b5-k2x9z"}`,
		`{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "o", "namespace": "payments", "uid": "x4"},
		  "regarding": {"kind": "Pod", "namespace": "payments", "name": "payments-api-5d8c7b6a4-hq2lt"}, "reason": "Killing", "note": "Stopping container api"}`,
	)
	want := []diagnosis.Event{
		{Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned payments/payments-api-6f7d9c8b5-k2x9z to ip-10-0-12-34.us-west-2.compute.internal",
			Count: 1, FirstSeen: ts("2026-11-25T10:00:00.412318Z"), LastSeen: ts("2026-11-25T10:00:00.412318Z"), API: "events.k8s.io/v1"},
		{Type: "Warning", Reason: "FailedCreatePodSandBox", Message: "Failed to create pod sandbox: x",
			Count: 4, FirstSeen: ts("2026-11-25T10:01:00.000001Z"), LastSeen: ts("2026-11-25T10:09:00Z"), API: "v1"},
		{Type: "Warning", Reason: "Failed", Message: "Error: ImagePullBackOff", FieldPath: "spec.initContainers{migrate}",
			Count: 12, FirstSeen: ts("2026-11-25T10:00:05.123456Z"), LastSeen: ts("2026-11-25T10:10:00.500000Z"), API: "events.k8s.io/v1"},
		{Type: "Normal", Reason: "Pulling", Message: `Pulling image "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"`, FieldPath: "spec.containers{api}",
			Count: 7, FirstSeen: ts("2026-11-25T10:00:03Z"), LastSeen: ts("2026-11-25T10:11:18Z"), API: "v1"},
		{Type: "Warning", Reason: "FailedToRetrieveImagePullSecret", Message: "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.",
			Count: 2, FirstSeen: ts("2026-11-25T10:00:02Z"), LastSeen: ts("2026-11-25T10:11:47Z"), API: "v1"},
		{Type: "Normal", Reason: "BackOff", Message: `Back-off pulling image "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"`, FieldPath: "spec.containers{api}",
			Count: 44, FirstSeen: ts("2026-11-25T10:00:04Z"), LastSeen: ts("2026-11-25T10:11:49Z"), API: "events.k8s.io/v1"},
	}
	f := load(t, input)
	if diff := cmp.Diff(want, f.Events); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
}

// TestNodeFromFile checks which node of the file is used, and what is known without it.
func TestNodeFromFile(t *testing.T) {
	nodeJSON := func(name string) string {
		return `{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "` + name + `", "labels": {"kubernetes.io/arch": "arm64"}}}`
	}
	fargatePod := strings.Replace(podJSON, `"metadata": {`, `"metadata": {"labels": {"eks.amazonaws.com/fargate-profile": "fp-payments"},`, 1)
	fargatePod = strings.Replace(fargatePod, "ip-10-0-12-34.us-west-2.compute.internal", "fargate-ip-10-0-7-21.us-west-2.compute.internal", 1)
	unscheduled := strings.Replace(podJSON, `"nodeName": "ip-10-0-12-34.us-west-2.compute.internal",`, "", 1)
	tests := []struct {
		name  string
		input string
		want  *diagnosis.NodeFacts
	}{
		{"the pod's node among others", list(nodeJSON("ip-10-0-99-1.us-west-2.compute.internal"), podJSON, nodeJSON("ip-10-0-12-34.us-west-2.compute.internal")),
			&diagnosis.NodeFacts{Name: "ip-10-0-12-34.us-west-2.compute.internal", Arch: "arm64"}},
		{"only another node: what the pod says", list(podJSON, nodeJSON("ip-10-0-99-1.us-west-2.compute.internal")),
			&diagnosis.NodeFacts{Name: "ip-10-0-12-34.us-west-2.compute.internal"}},
		{"Fargate pod without its node", fargatePod,
			&diagnosis.NodeFacts{Name: "fargate-ip-10-0-7-21.us-west-2.compute.internal", Fargate: true, FargateProfile: "fp-payments"}},
		{"unscheduled pod", list(unscheduled, nodeJSON("ip-10-0-12-34.us-west-2.compute.internal")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := load(t, tt.input)
			if diff := cmp.Diff(tt.want, f.Node); diff != "" {
				t.Errorf("Node (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceAccountAndPullSecrets(t *testing.T) {
	pod := strings.Replace(podJSON, `"serviceAccountName": "payments-api",`,
		`"serviceAccountName": "payments-api", "imagePullSecrets": [{"name": "regcred"}, {"name": ""}, {"name": "dockerhub"}, {"name": "regcred"}],`, 1)
	sa := `{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "payments-api", "namespace": "payments", "annotations": {
	  "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/payments-api-irsa",
	  "eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::111122223333:role/payments-ecr-pull"}},
	  "imagePullSecrets": [{"name": "regcred"}, {"name": "sa-only"}]}`
	otherSA := `{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "payments"}, "imagePullSecrets": [{"name": "x"}]}`
	otherNS := `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dockerhub", "namespace": "staging"}, "type": "Opaque"}`
	regcred := `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred", "namespace": "payments"}, "type": "kubernetes.io/dockerconfigjson",
	  "data": {".dockerconfigjson": "` + dockerConfigJSON(`{"auths": {"registry.example.com:5000": {"auth": "Y2ktYm90OmhvbmV5"}, "https://index.docker.io/v1/": {}}}`) + `"}}`

	f := load(t, list(pod, otherSA, sa, otherNS, regcred))
	wantSA := &diagnosis.ServiceAccountFacts{Name: "payments-api", Found: true, ImagePullSecrets: []string{"regcred", "sa-only"},
		IRSARoleARN: "arn:aws:iam::111122223333:role/payments-api-irsa", ECRRoleARN: "arn:aws:iam::111122223333:role/payments-ecr-pull"}
	if diff := cmp.Diff(wantSA, f.ServiceAccount); diff != "" {
		t.Errorf("ServiceAccount (-want +got):\n%s", diff)
	}
	wantSecrets := []diagnosis.PullSecret{
		{Name: "regcred", From: "pod", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson,
			Hosts: []string{"https://index.docker.io/v1/", "registry.example.com:5000"}},
		{Name: "dockerhub", From: "pod", Status: diagnosis.SecretUnchecked, Detail: "not in the file"},
		{Name: "sa-only", From: "serviceaccount", Status: diagnosis.SecretUnchecked, Detail: "not in the file"},
	}
	if diff := cmp.Diff(wantSecrets, f.PullSecrets); diff != "" {
		t.Errorf("PullSecrets (-want +got):\n%s", diff)
	}
	wantSkip := []diagnosis.Skip{{Check: "cluster",
		Reason: "facts read from a file: node ip-10-0-12-34.us-west-2.compute.internal, pull secrets dockerhub, sa-only and other pods were not checked",
		Needs:  "a cluster connection, or the missing objects as items of the file"}}
	if diff := cmp.Diff(wantSkip, f.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
}

func TestSecretRegistryKeys(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		wantType   corev1.SecretType
		wantHosts  []string
		wantDetail string
	}{
		{"dockerconfigjson", `"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "` + dockerConfigJSON(`{"auths": {"b.example.com": {}, "a.example.com": {}}}`) + `"}`,
			corev1.SecretTypeDockerConfigJson, []string{"a.example.com", "b.example.com"}, ""},
		{"legacy dockercfg", `"type": "kubernetes.io/dockercfg", "data": {".dockercfg": "` + dockerConfigJSON(`{"registry.example.com:5000": {"auth": "eDp5"}}`) + `"}`,
			corev1.SecretTypeDockercfg, []string{"registry.example.com:5000"}, ""},
		{"stringData", `"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "{\"auths\": {\"ghcr.io\": {}}}"}`,
			corev1.SecretTypeDockerConfigJson, []string{"ghcr.io"}, ""},
		{"empty auths", `"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "` + dockerConfigJSON(`{"auths": {}}`) + `"}`,
			corev1.SecretTypeDockerConfigJson, nil, ".dockerconfigjson has no auths entries"},
		{"not base64", `"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "@@@"}`,
			corev1.SecretTypeDockerConfigJson, nil, "data .dockerconfigjson is not valid base64"},
		{"not JSON", `"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "` + dockerConfigJSON(`password=hunter2`) + `"}`,
			corev1.SecretTypeDockerConfigJson, nil, ".dockerconfigjson is not valid JSON (at byte 1)"},
		{"auths not an object", `"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "` + dockerConfigJSON(`{"auths": "hunter2"}`) + `"}`,
			corev1.SecretTypeDockerConfigJson, nil, ".dockerconfigjson is not a docker config (auths is a JSON string)"},
		{"data not a string", `"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": {"auths": {}}}`,
			corev1.SecretTypeDockerConfigJson, nil, "data .dockerconfigjson is not a string"},
		{"stringData not a string", `"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": 5}`,
			corev1.SecretTypeDockerConfigJson, nil, "stringData .dockerconfigjson is not a string"},
		{"stringData wins over data", `"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "{\"auths\": {\"ghcr.io\": {}}}"}, "data": {".dockerconfigjson": "@@@"}`,
			corev1.SecretTypeDockerConfigJson, []string{"ghcr.io"}, ""},
		{"no key", `"type": "kubernetes.io/dockerconfigjson", "data": {}`,
			corev1.SecretTypeDockerConfigJson, nil, "has no .dockerconfigjson key"},
		{"wrong type", `"type": "Opaque", "data": {".dockerconfigjson": "` + dockerConfigJSON(`{"auths": {"a.example.com": {}}}`) + `"}`,
			corev1.SecretTypeOpaque, nil, "type Opaque is not a docker config; the kubelet ignores it for pulls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := strings.Replace(podJSON, `"serviceAccountName": "payments-api",`, `"imagePullSecrets": [{"name": "s"}],`, 1)
			secret := `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, ` + tt.secret + `}`
			f := load(t, list(pod, secret))
			want := []diagnosis.PullSecret{{Name: "s", From: "pod", Status: diagnosis.SecretFound, Type: tt.wantType, Hosts: tt.wantHosts, Detail: tt.wantDetail}}
			if diff := cmp.Diff(want, f.PullSecrets); diff != "" {
				t.Errorf("PullSecrets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	node := `{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-12-34.us-west-2.compute.internal"}}`
	sa := `{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "payments-api", "namespace": "payments"}}`
	unscheduled := strings.Replace(podJSON, `"nodeName": "ip-10-0-12-34.us-west-2.compute.internal",`, "", 1)
	tests := []struct {
		name  string
		input string
		want  diagnosis.Skip
	}{
		{"everything but other pods", list(podJSON, node, sa), diagnosis.Skip{Check: "cluster",
			Reason: "facts read from a file: other pods were not checked", Needs: "a cluster connection"}},
		{"node and service account missing", podJSON, diagnosis.Skip{Check: "cluster",
			Reason: "facts read from a file: node ip-10-0-12-34.us-west-2.compute.internal, service account payments-api and other pods were not checked",
			Needs:  "a cluster connection, or the missing objects as items of the file"}},
		{"unscheduled pod: no node to miss", list(unscheduled, sa), diagnosis.Skip{Check: "cluster",
			Reason: "facts read from a file: other pods were not checked", Needs: "a cluster connection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := load(t, tt.input)
			if diff := cmp.Diff([]diagnosis.Skip{tt.want}, f.Skipped); diff != "" {
				t.Errorf("Skipped (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSecretValuesNeverKept: credentials in a file never reach the facts.
func TestSecretValuesNeverKept(t *testing.T) {
	const password = "S3cr3t-hunter2-Pa55"
	auth := base64Std("ci-bot:" + password)
	cfg := `{"auths": {"registry.example.com:5000": {"username": "ci-bot", "password": "` + password + `", "auth": "` + auth + `"}}}`
	encoded := dockerConfigJSON(cfg)
	pod := strings.Replace(podJSON, `"serviceAccountName": "payments-api",`,
		`"serviceAccountName": "payments-api", "imagePullSecrets": [{"name": "regcred"}, {"name": "plain"}, {"name": "strdata"}, {"name": "opaque"}],`, 1)
	secrets := []string{
		`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred", "namespace": "payments", "annotations": {}}, "type": "kubernetes.io/dockerconfigjson",
		  "data": {".dockerconfigjson": "` + encoded + `", "extra": "` + base64Std(password) + `"}}`,
		`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": "payments"}, "type": "kubernetes.io/dockercfg",
		  "data": {".dockercfg": "` + base64Std(password) + `"}}`,
		`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "strdata", "namespace": "payments"}, "type": "kubernetes.io/dockerconfigjson",
		  "stringData": {".dockerconfigjson": ` + jsonString(cfg) + `}}`,
		`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "opaque", "namespace": "payments"}, "type": "Opaque",
		  "data": {"password": "` + base64Std(password) + `"}, "stringData": {"password": "` + password + `"}}`,
	}
	f := load(t, list(append([]string{pod}, secrets...)...))
	dump, err := json.Marshal(f)
	if err != nil {
		t.Fatalf("json.Marshal(facts) error = %v", err)
	}
	for _, s := range []string{password, auth, encoded, base64Std(password), "ci-bot"} {
		if strings.Contains(string(dump), s) {
			t.Errorf("facts contain %q:\n%s", s, dump)
		}
	}
	if len(f.PullSecrets) != 4 || f.PullSecrets[0].Status != diagnosis.SecretFound || len(f.PullSecrets[0].Hosts) != 1 {
		t.Errorf("PullSecrets = %+v, want regcred found with one host", f.PullSecrets)
	}

	// A Secret of the wrong shape is an error that does not quote the file either.
	bad := `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": 123456789}}`
	for _, input := range []string{
		list(pod, strings.Replace(bad, "123456789", `{"password": "`+password+`"}`, 1)),
		list(pod, `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred"}, "type": ["`+password+`"]}`),
	} {
		_, err := Load(strings.NewReader(input), "test.json", now)
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("Load() error quotes the password: %v", err)
		}
	}
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// dockerConfigJSON encodes a dockerconfig document as a Secret's data holds it.
func dockerConfigJSON(cfg string) string { return base64Std(cfg) }

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestLoadZeroNowIsTheSnapshotTime(t *testing.T) {
	f, err := os.Open("../../examples/ecr-tag-not-found.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	facts, err := Load(f, "ecr-tag-not-found.json", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var newest time.Time
	for _, e := range facts.Events {
		if e.LastSeen.After(newest) {
			newest = e.LastSeen
		}
	}
	if facts.Now.IsZero() || facts.Now.Before(newest) {
		t.Errorf("Now = %v, want the newest timestamp in the file (at least %v)", facts.Now, newest)
	}
}
