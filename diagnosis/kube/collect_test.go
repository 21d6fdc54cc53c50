package kube_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// ignorePod leaves the pod out of a Facts comparison; tests check its identity separately.
var ignorePod = cmpopts.IgnoreFields(diagnosis.Facts{}, "Pod")

// dockerConfigJSON builds a kubernetes.io/dockerconfigjson secret for the hosts, with a
// credential (user:password) for each.
func dockerConfigJSON(namespace, name, password string, hosts ...string) *corev1.Secret {
	auths := map[string]any{}
	for _, h := range hosts {
		auths[h] = map[string]string{
			"username": "robot",
			"password": password,
			"auth":     base64.StdEncoding.EncodeToString([]byte("robot:" + password)),
		}
	}
	raw, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		panic(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: raw},
	}
}

// dockerCfg builds a legacy kubernetes.io/dockercfg secret.
func dockerCfg(namespace, name, password string, hosts ...string) *corev1.Secret {
	cfg := map[string]any{}
	for _, h := range hosts {
		cfg[h] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte("robot:" + password)), "email": "robot@example.com"}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       corev1.SecretTypeDockercfg,
		Data:       map[string][]byte{corev1.DockerConfigKey: raw},
	}
}

func (f *fixture) secret(s *corev1.Secret) {
	f.t.Helper()
	must[*corev1.Secret](f.t)(cluster.Client.CoreV1().Secrets(f.ns).Create(f.ctx, s, metav1.CreateOptions{}))
}

func (f *fixture) serviceAccount(name string, annotations map[string]string, secrets ...string) {
	f.t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Annotations: annotations}}
	for _, s := range secrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	must[*corev1.ServiceAccount](f.t)(cluster.Client.CoreV1().ServiceAccounts(f.ns).Create(f.ctx, sa, metav1.CreateOptions{}))
}

// TestCollect reads every kind of fact about one failing pod of a Deployment.
func TestCollect(t *testing.T) {
	f := setup(t)
	host := f.host()
	node := f.node(f.ns+"-ip-10-0-1-5", map[string]string{
		"kubernetes.io/arch":               "arm64",
		"kubernetes.io/os":                 "linux",
		"node.kubernetes.io/instance-type": "m7g.large",
		"topology.kubernetes.io/zone":      "us-west-2a",
		"eks.amazonaws.com/nodegroup":      "ng-arm",
	}, "aws:///us-west-2a/i-0abc123def4567890", corev1.NodeSystemInfo{
		Architecture:            "arm64",
		OperatingSystem:         "linux",
		ContainerRuntimeVersion: "containerd://1.7.27",
		KubeletVersion:          "v1.33.1-eks-1",
	}, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
		corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure", Message: "kubelet has disk pressure"})

	f.secret(dockerConfigJSON(f.ns, "regcred", "s3cret", host))
	f.secret(dockerConfigJSON(f.ns, "wrong-host", "s3cret", "other.example.com"))
	f.secret(dockerCfg(f.ns, "legacy", "s3cret", "https://index.docker.io/v1/"))
	f.serviceAccount("api", map[string]string{
		"eks.amazonaws.com/role-arn":     "arn:aws:iam::111122223333:role/api-irsa",
		"eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::111122223333:role/api-ecr",
	}, "legacy", "regcred")

	spec := corev1.PodSpec{
		ServiceAccountName: "api",
		ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "wrong-host"}, {Name: "missing"}},
		InitContainers:     []corev1.Container{{Name: "migrate", Image: host + "/team/migrate:1.2"}},
		Containers:         []corev1.Container{{Name: "api", Image: host + "/team/api:1.2"}},
	}
	rs := f.deployment("api", spec)
	pod := f.createPod(kubetest.PodFor(f.ns, rs.Name+"-x7k2p", spec, rs), node.Name)
	pod = f.wait(pod, "migrate", diagnosis.ReasonImagePullBackOff, `Back-off pulling image "`+host+`/team/migrate:1.2"`)

	t0 := pod.CreationTimestamp.Time
	failed := fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: not found`, host+"/team/migrate:1.2", host+"/team/migrate:1.2")
	f.event(pod, kubetest.Event{Container: "migrate", Reason: "Pulling", Message: `Pulling image "` + host + `/team/migrate:1.2"`, First: t0.Add(time.Second)})
	f.event(pod, kubetest.Event{Container: "migrate", Type: corev1.EventTypeWarning, Reason: "Failed", Message: failed, Count: 3, First: t0.Add(2 * time.Second), Last: t0.Add(40 * time.Second)})
	must[*eventsv1.Event](t)(cluster.RecordEventV1(f.ctx, pod, kubetest.Event{Container: "migrate", Reason: "BackOff", Message: `Back-off pulling image "` + host + `/team/migrate:1.2"`, Count: 5, First: t0.Add(3 * time.Second), Last: t0.Add(50 * time.Second)}))
	// An event about an earlier pod of the same name (another UID), and one about another pod.
	earlier := pod.DeepCopy()
	earlier.UID = types.UID("00000000-0000-0000-0000-000000000001")
	f.event(earlier, kubetest.Event{Container: "migrate", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "stale", First: t0})
	other := f.failing("other", host+"/team/other:1", "", diagnosis.ReasonErrImagePull)
	f.event(other, kubetest.Event{Container: "app", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "not this pod", First: t0})

	now := later(pod)
	got, err := f.collector(now, kube.Options{ReadSecrets: true}).Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: pod.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got.Pod == nil || got.Pod.UID != pod.UID {
		t.Fatalf("Pod = %v, want the pod with UID %s", got.Pod, pod.UID)
	}
	path := "spec.initContainers{migrate}"
	want := &diagnosis.Facts{
		Events: []diagnosis.Event{
			{Type: "Normal", Reason: "Pulling", Message: `Pulling image "` + host + `/team/migrate:1.2"`, FieldPath: path, Count: 1, FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(time.Second), API: "v1"},
			{Type: "Warning", Reason: "Failed", Message: failed, FieldPath: path, Count: 3, FirstSeen: t0.Add(2 * time.Second), LastSeen: t0.Add(40 * time.Second), API: "v1"},
			{Type: "Normal", Reason: "BackOff", Message: `Back-off pulling image "` + host + `/team/migrate:1.2"`, FieldPath: path, Count: 5, FirstSeen: t0.Add(3 * time.Second), LastSeen: t0.Add(50 * time.Second), API: "v1"},
		},
		Now:    now,
		Source: contextName,
		Node: &diagnosis.NodeFacts{
			Name:             node.Name,
			Arch:             "arm64",
			OS:               "linux",
			ProviderID:       "aws:///us-west-2a/i-0abc123def4567890",
			InstanceID:       "i-0abc123def4567890",
			Zone:             "us-west-2a",
			Region:           "us-west-2",
			InstanceType:     "m7g.large",
			NodeGroup:        "ng-arm",
			ContainerRuntime: "containerd://1.7.27",
			KubeletVersion:   "v1.33.1-eks-1",
			DiskPressure:     new(true),
			DiskPressureMsg:  "kubelet has disk pressure",
		},
		ServiceAccount: &diagnosis.ServiceAccountFacts{
			Name:             "api",
			Found:            true,
			ImagePullSecrets: []string{"legacy", "regcred"},
			IRSARoleARN:      "arn:aws:iam::111122223333:role/api-irsa",
			ECRRoleARN:       "arn:aws:iam::111122223333:role/api-ecr",
		},
		PullSecrets: []diagnosis.PullSecret{
			{Name: "regcred", From: "pod", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson, Hosts: []string{host}},
			{Name: "wrong-host", From: "pod", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson, Hosts: []string{"other.example.com"}},
			{Name: "missing", From: "pod", Status: diagnosis.SecretMissing, Detail: "not found in namespace " + f.ns},
			{Name: "legacy", From: "serviceaccount", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockercfg, Hosts: []string{"https://index.docker.io/v1/"}},
		},
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "api"},
		Related: map[string]diagnosis.Related{
			host + "/team/migrate:1.2": {Scope: "cluster", SameRegistryPods: 1, SameRegistryNS: []string{f.ns}, Nodes: 1},
		},
	}
	if diff := cmp.Diff(want, got, ignorePod); diff != "" {
		t.Errorf("Collect() mismatch (-want +got):\n%s", diff)
	}
}

// TestCollectContainerKinds: init and ephemeral containers are failing containers too;
// their events carry their own field paths.
func TestCollectContainerKinds(t *testing.T) {
	f := setup(t)
	host := f.host()
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate", Image: host + "/migrate:1"}},
		Containers:     []corev1.Container{{Name: "app", Image: host + "/app:1"}},
	}
	pod := f.createPod(kubetest.PodFor(f.ns, "web", spec, nil), "")
	pod = must[*corev1.Pod](t)(cluster.AddEphemeralContainer(f.ctx, pod, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger-x7k2p", Image: host + "/debug:latest"},
	}))
	pod = f.wait(pod, "migrate", diagnosis.ReasonErrImagePull, "boom")
	pod = f.wait(pod, "app", "PodInitializing", "")
	pod = f.wait(pod, "debugger-x7k2p", diagnosis.ReasonImagePullBackOff, "back-off")
	t0 := pod.CreationTimestamp.Time
	f.event(pod, kubetest.Event{Container: "migrate", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "init failed", First: t0})
	f.event(pod, kubetest.Event{Container: "debugger-x7k2p", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "debug failed", First: t0.Add(time.Second)})

	got, err := f.collector(later(pod), kube.Options{}).Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range got.Events {
		paths = append(paths, e.FieldPath)
	}
	if want := []string{"spec.initContainers{migrate}", "spec.ephemeralContainers{debugger-x7k2p}"}; !cmp.Equal(paths, want) {
		t.Errorf("event field paths = %q, want %q", paths, want)
	}
	wantRelated := map[string]diagnosis.Related{
		host + "/migrate:1":    {Scope: "cluster"},
		host + "/debug:latest": {Scope: "cluster"},
	}
	if diff := cmp.Diff(wantRelated, got.Related); diff != "" {
		t.Errorf("Related mismatch (-want +got):\n%s", diff)
	}
	if got.Node != nil {
		t.Errorf("Node = %+v, want nil for an unscheduled pod", got.Node)
	}
	if diff := cmp.Diff(&diagnosis.Workload{Kind: "Pod", Name: "web"}, got.Workload); diff != "" {
		t.Errorf("Workload mismatch (-want +got):\n%s", diff)
	}
}

// TestCollectWorkload follows the owner chain of each kind of controller.
func TestCollectWorkload(t *testing.T) {
	f := setup(t)
	spec := specOf(f.host() + "/app:1")
	rs := f.deployment("web", spec)
	cronJobRun := f.cronJob("nightly", spec)
	job := must[*batchv1.Job](t)(cluster.CreateJob(f.ctx, f.ns, "once", spec))
	sts := must[*appsv1.StatefulSet](t)(cluster.CreateStatefulSet(f.ctx, f.ns, "db", spec))
	ds := must[*appsv1.DaemonSet](t)(cluster.CreateDaemonSet(f.ctx, f.ns, "agent", spec))
	orphan := must[*appsv1.ReplicaSet](t)(cluster.Client.AppsV1().ReplicaSets(f.ns).Create(f.ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: f.ns},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "orphan"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "orphan"}}, Spec: spec},
		},
	}, metav1.CreateOptions{}))
	gone := orphan.DeepCopy()
	gone.Name, gone.UID = "gone-5d8f", "00000000-0000-0000-0000-000000000002"

	tests := []struct {
		name  string
		owner metav1.Object
		want  diagnosis.Workload
		skip  []diagnosis.Skip
	}{
		{"deployment", rs, diagnosis.Workload{Kind: "Deployment", Name: "web"}, nil},
		{"cronjob", cronJobRun, diagnosis.Workload{Kind: "CronJob", Name: "nightly"}, nil},
		{"job", job, diagnosis.Workload{Kind: "Job", Name: "once"}, nil},
		{"statefulset", sts, diagnosis.Workload{Kind: "StatefulSet", Name: "db"}, nil},
		{"daemonset", ds, diagnosis.Workload{Kind: "DaemonSet", Name: "agent"}, nil},
		{"replicaset-without-deployment", orphan, diagnosis.Workload{Kind: "ReplicaSet", Name: "orphan"}, nil},
		{"bare", nil, diagnosis.Workload{Kind: "Pod", Name: "bare"}, nil},
		{"replicaset-gone", gone, diagnosis.Workload{Kind: "ReplicaSet", Name: "gone-5d8f"},
			[]diagnosis.Skip{{Check: "workload", Reason: "replicaset gone-5d8f not found"}}},
	}
	c := f.collector(time.Now(), kube.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := f.createPod(kubetest.PodFor(f.ns, tt.name, spec, tt.owner), "")
			got, err := c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: pod.Name})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got.Workload); diff != "" {
				t.Errorf("Workload mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.skip, got.Skipped, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Skipped mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCollectRelated counts the other pods failing on the same image and registry,
// across namespaces and list pages.
func TestCollectRelated(t *testing.T) {
	f := setup(t)
	g := setup(t)
	host := f.host()
	image := host + "/team/app:1"

	target := f.failing("target", image, "node-a", diagnosis.ReasonImagePullBackOff)
	f.failing("same-image", image, "node-a", diagnosis.ReasonErrImagePull)
	g.failing("same-image-other-ns", image, "node-b", diagnosis.ReasonImagePullBackOff)
	g.failing("same-registry", host+"/team/worker:2", "node-c", diagnosis.ReasonErrImagePull)
	f.failing("other-registry", g.host()+"/team/app:1", "node-d", diagnosis.ReasonErrImagePull)
	f.createPod(kubetest.PodFor(f.ns, "not-failing", specOf(image), nil), "node-e") // ContainerCreating
	f.running(f.createPod(kubetest.PodFor(g.ns, "healthy", specOf(image), nil), "node-f"))

	c := f.collector(later(target), kube.Options{PageSize: 2})
	got, err := c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "target"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]diagnosis.Related{image: {
		Scope:            "cluster",
		SameImagePods:    2,
		SameRegistryPods: 3,
		SameRegistryNS:   []string{f.ns, g.ns},
		Nodes:            3, // node-a (this pod and same-image), node-b, node-c
	}}
	if diff := cmp.Diff(want, got.Related); diff != "" {
		t.Errorf("Related mismatch (-want +got):\n%s", diff)
	}
}

// TestCollectNotFound tells a missing pod from a missing namespace.
func TestCollectNotFound(t *testing.T) {
	f := setup(t)
	c := f.collector(time.Now(), kube.Options{})
	tests := []struct {
		name string
		ref  diagnosis.PodRef
		want error
	}{
		{"pod", diagnosis.PodRef{Namespace: f.ns, Name: "nope"}, diagnosis.ErrPodNotFound},
		{"namespace", diagnosis.PodRef{Namespace: f.ns + "-typo", Name: "nope"}, diagnosis.ErrNamespaceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Collect(f.ctx, tt.ref)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Collect() error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), contextName) || !strings.Contains(err.Error(), tt.ref.String()) {
				t.Errorf("error %q does not name the context %q and the pod %s", err, contextName, tt.ref)
			}
		})
	}
}

// TestCollectNode covers a node that is gone and a Fargate node.
func TestCollectNode(t *testing.T) {
	f := setup(t)
	fargate := f.node("fargate-ip-192-168-7-9."+f.ns, map[string]string{
		"eks.amazonaws.com/compute-type":    "fargate",
		"eks.amazonaws.com/fargate-profile": "fp-default",
		"topology.kubernetes.io/region":     "eu-central-1",
		"topology.kubernetes.io/zone":       "eu-central-1b",
	}, "aws:///eu-central-1b/0123456789abcdef/fargate-ip-192-168-7-9.eu-central-1.compute.internal", corev1.NodeSystemInfo{
		Architecture: "amd64", OperatingSystem: "linux", KubeletVersion: "v1.33.0-eks-1", ContainerRuntimeVersion: "containerd://1.7.27",
	})
	f.failing("on-fargate", f.host()+"/app:1", fargate.Name, diagnosis.ReasonErrImagePull)
	f.failing("on-gone-node", f.host()+"/app:1", "ip-10-9-9-9."+f.ns, diagnosis.ReasonErrImagePull)

	c := f.collector(time.Now(), kube.Options{})
	got := must[*diagnosis.Facts](t)(c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "on-fargate"}))
	want := &diagnosis.NodeFacts{
		Name:             fargate.Name,
		Arch:             "amd64",
		OS:               "linux",
		ProviderID:       "aws:///eu-central-1b/0123456789abcdef/fargate-ip-192-168-7-9.eu-central-1.compute.internal",
		Zone:             "eu-central-1b",
		Region:           "eu-central-1",
		Fargate:          true,
		FargateProfile:   "fp-default",
		ContainerRuntime: "containerd://1.7.27",
		KubeletVersion:   "v1.33.0-eks-1",
		DiskPressure:     new(false),
		DiskPressureMsg:  "kubelet has no disk pressure",
	}
	if diff := cmp.Diff(want, got.Node); diff != "" {
		t.Errorf("Fargate node mismatch (-want +got):\n%s", diff)
	}

	got = must[*diagnosis.Facts](t)(c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "on-gone-node"}))
	if diff := cmp.Diff(&diagnosis.NodeFacts{Name: "ip-10-9-9-9." + f.ns}, got.Node); diff != "" {
		t.Errorf("gone node mismatch (-want +got):\n%s", diff)
	}
	wantSkip := []diagnosis.Skip{{Check: "node", Reason: "node ip-10-9-9-9." + f.ns + " not found"}}
	if diff := cmp.Diff(wantSkip, got.Skipped); diff != "" {
		t.Errorf("Skipped mismatch (-want +got):\n%s", diff)
	}
}

// TestCollectReadSecretsOff: without ReadSecrets no secret is read and the facts say how
// to turn it on.
func TestCollectReadSecretsOff(t *testing.T) {
	f := setup(t)
	f.secret(dockerConfigJSON(f.ns, "regcred", "s3cret", f.host()))
	spec := specOf(f.host() + "/app:1")
	spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	f.createPod(kubetest.PodFor(f.ns, "web", spec, nil), "")

	client, log := loggedClient(t)
	c := kube.NewCollector(client, kube.Options{Context: contextName})
	got := must[*diagnosis.Facts](t)(c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "web"}))
	if len(got.PullSecrets) != 1 || got.PullSecrets[0].Status != diagnosis.SecretUnchecked ||
		!strings.Contains(got.PullSecrets[0].Detail, "ReadSecrets") || !strings.Contains(got.PullSecrets[0].Detail, "get secrets in namespace "+f.ns) {
		t.Errorf("PullSecrets = %+v, want one unchecked secret whose detail says how to enable reading it", got.PullSecrets)
	}
	wantSkip := []diagnosis.Skip{{Check: "pull-secrets", Reason: "reading pull secrets is off (regcred not checked)", Needs: "get secrets in namespace " + f.ns}}
	if diff := cmp.Diff(wantSkip, got.Skipped); diff != "" {
		t.Errorf("Skipped mismatch (-want +got):\n%s", diff)
	}
	for _, r := range log.all() {
		if strings.Contains(r, "/secrets") {
			t.Errorf("request %q read a secret with ReadSecrets off", r)
		}
	}
}
