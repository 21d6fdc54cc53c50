package diagnosis

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conversionCase is one case of a conversion's table: in converts to want.
type conversionCase[In, Out any] struct {
	name string
	in   In
	want Out
}

// testConversion runs each case as a subtest of t.
func testConversion[In, Out any](t *testing.T, name string, convert func(In) Out, cases []conversionCase[In, Out]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, convert(c.in)); diff != "" {
				t.Errorf("%s() (-want +got):\n%s", name, diff)
			}
		})
	}
}

func TestParseProviderID(t *testing.T) {
	tests := []struct {
		id, instance, zone string
	}{
		{"aws:///us-west-2a/i-0abc123def4567890", "i-0abc123def4567890", "us-west-2a"},
		{"aws:///us-west-2b/0123abcd/fargate-ip-10-0-1-2.us-west-2.compute.internal", "", "us-west-2b"},
		{"aws:///us-west-2-lax-1a/i-0123456789abcdef0", "i-0123456789abcdef0", "us-west-2-lax-1a"},
		{"aws:///eusc-de-east-1a/i-0123456789abcdef0", "i-0123456789abcdef0", "eusc-de-east-1a"},
		{"aws:///i-0abc", "i-0abc", ""},
		{"aws:///not-a-zone/i-0abc", "i-0abc", ""},
		{"aws://", "", ""},
		{"aws:////", "", ""},
		{"gce://project/us-central1-a/node-1", "", ""},
		{"kind://docker/kind/kind-worker", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		instance, zone := ParseProviderID(tt.id)
		if instance != tt.instance || zone != tt.zone {
			t.Errorf("ParseProviderID(%q) = %q, %q; want %q, %q", tt.id, instance, zone, tt.instance, tt.zone)
		}
	}
}

func TestRegionOfZone(t *testing.T) {
	tests := map[string]string{
		"us-west-2a":              "us-west-2",
		"us-gov-west-1b":          "us-gov-west-1",
		"cn-north-1a":             "cn-north-1",
		"us-west-2-lax-1a":        "us-west-2",
		"us-east-1-wl1-bos-wlz-1": "us-east-1",
		"ap-southeast-4c":         "ap-southeast-4",
		"us-isob-east-1a":         "us-isob-east-1",
		// A form the pattern does not know: the zone minus its letter, as it ends in a digit.
		"eusc-de-east-1a": "eusc-de-east-1",
		// Not AWS zones: no region rather than a wrong one.
		"us-central1-a": "",
		"zone-a":        "",
		"a":             "",
		"":              "",
	}
	for zone, want := range tests {
		if got := RegionOfZone(zone); got != want {
			t.Errorf("RegionOfZone(%q) = %q, want %q", zone, got, want)
		}
	}
}

func TestNodeFactsFrom(t *testing.T) {
	node := func(name, providerID string, labels map[string]string, info corev1.NodeSystemInfo, conds ...corev1.NodeCondition) *corev1.Node {
		n := &corev1.Node{}
		n.Name, n.Labels, n.Spec.ProviderID = name, labels, providerID
		n.Status.NodeInfo, n.Status.Conditions = info, conds
		return n
	}
	amd64 := corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux", ContainerRuntimeVersion: "containerd://2.1.4", KubeletVersion: "v1.37.1-eks-4f5e6a7"}
	testConversion(t, "NodeFactsFrom", NodeFactsFrom, []conversionCase[*corev1.Node, *NodeFacts]{
		{
			name: "managed node group",
			in: node("ip-10-0-12-34.us-west-2.compute.internal", "aws:///us-west-2a/i-0abc1234def567890", map[string]string{
				"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "m6i.xlarge",
				"eks.amazonaws.com/nodegroup": "ng-general", "topology.kubernetes.io/zone": "us-west-2a", "topology.kubernetes.io/region": "us-west-2",
			}, amd64, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Message: "kubelet has no disk pressure"}),
			want: &NodeFacts{Name: "ip-10-0-12-34.us-west-2.compute.internal", Arch: "amd64", OS: "linux",
				ProviderID: "aws:///us-west-2a/i-0abc1234def567890", InstanceID: "i-0abc1234def567890", Zone: "us-west-2a", Region: "us-west-2",
				InstanceType: "m6i.xlarge", NodeGroup: "ng-general", ContainerRuntime: "containerd://2.1.4", KubeletVersion: "v1.37.1-eks-4f5e6a7",
				DiskPressure: new(false), DiskPressureMsg: "kubelet has no disk pressure"},
		},
		{
			name: "Karpenter Graviton node under disk pressure, region from the zone",
			in: node("ip-10-0-45-67.us-west-2.compute.internal", "aws:///us-west-2b/i-0fedcba9876543210", map[string]string{
				"kubernetes.io/arch": "arm64", "beta.kubernetes.io/instance-type": "m7g.large", "karpenter.sh/nodepool": "graviton-general",
			}, corev1.NodeSystemInfo{Architecture: "arm64", OperatingSystem: "linux"},
				corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Message: "kubelet has disk pressure"}),
			want: &NodeFacts{Name: "ip-10-0-45-67.us-west-2.compute.internal", Arch: "arm64", OS: "linux",
				ProviderID: "aws:///us-west-2b/i-0fedcba9876543210", InstanceID: "i-0fedcba9876543210", Zone: "us-west-2b", Region: "us-west-2",
				InstanceType: "m7g.large", KarpenterPool: "graviton-general", DiskPressure: new(true), DiskPressureMsg: "kubelet has disk pressure"},
		},
		{
			name: "Fargate node",
			in: node("fargate-ip-10-0-7-21.us-west-2.compute.internal", "aws:///us-west-2c/0c1d2e3f4a-5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e/fargate-ip-10-0-7-21.us-west-2.compute.internal", map[string]string{
				"eks.amazonaws.com/compute-type": "fargate", "eks.amazonaws.com/fargate-profile": "fp-payments", "topology.kubernetes.io/zone": "us-west-2c",
			}, amd64),
			want: &NodeFacts{Name: "fargate-ip-10-0-7-21.us-west-2.compute.internal", Arch: "amd64", OS: "linux",
				ProviderID: "aws:///us-west-2c/0c1d2e3f4a-5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e/fargate-ip-10-0-7-21.us-west-2.compute.internal",
				Zone:       "us-west-2c", Region: "us-west-2", Fargate: true, FargateProfile: "fp-payments",
				ContainerRuntime: "containerd://2.1.4", KubeletVersion: "v1.37.1-eks-4f5e6a7"},
		},
		{
			name: "Fargate told by the node name only",
			in:   node("fargate-ip-10-0-7-22.us-west-2.compute.internal", "", nil, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "fargate-ip-10-0-7-22.us-west-2.compute.internal", Fargate: true},
		},
		{
			name: "Fargate told by the profile label only",
			in:   node("ip-10-0-7-23.us-west-2.compute.internal", "", map[string]string{"eks.amazonaws.com/fargate-profile": "fp-payments"}, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "ip-10-0-7-23.us-west-2.compute.internal", Fargate: true, FargateProfile: "fp-payments"},
		},
		{
			name: "Fargate told by the compute type only",
			in:   node("ip-10-0-7-24.us-west-2.compute.internal", "", map[string]string{"eks.amazonaws.com/compute-type": "fargate"}, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "ip-10-0-7-24.us-west-2.compute.internal", Fargate: true},
		},
		{
			name: "fallbacks: node info, beta instance type, zone label; disk pressure unknown",
			in: node("fargate-ip-10-0-1-2.ec2.internal", "", map[string]string{
				"beta.kubernetes.io/instance-type": "t3.large", "topology.kubernetes.io/zone": "us-east-1c", "karpenter.sh/nodepool": "default",
			}, corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux"},
				corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionUnknown, Message: "Kubelet stopped posting node status."}),
			want: &NodeFacts{Name: "fargate-ip-10-0-1-2.ec2.internal", Arch: "amd64", OS: "linux", Zone: "us-east-1c", Region: "us-east-1",
				InstanceType: "t3.large", Fargate: true, KarpenterPool: "default", DiskPressureMsg: "Kubelet stopped posting node status."},
		},
		{
			name: "local zone: region from the label",
			in:   node("n", "aws:///us-west-2-lax-1a/i-0123456789abcdef0", map[string]string{"topology.kubernetes.io/region": "us-west-2"}, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "n", ProviderID: "aws:///us-west-2-lax-1a/i-0123456789abcdef0", InstanceID: "i-0123456789abcdef0",
				Zone: "us-west-2-lax-1a", Region: "us-west-2"},
		},
		{
			name: "local zone without a region label",
			in:   node("n", "aws:///us-west-2-lax-1a/i-0123456789abcdef0", nil, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "n", ProviderID: "aws:///us-west-2-lax-1a/i-0123456789abcdef0", InstanceID: "i-0123456789abcdef0",
				Zone: "us-west-2-lax-1a", Region: "us-west-2"},
		},
		{
			name: "the provider ID's zone wins over the label",
			in:   node("n", "aws:///us-east-1a/i-0123456789abcdef0", map[string]string{"topology.kubernetes.io/zone": "us-east-1b"}, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "n", ProviderID: "aws:///us-east-1a/i-0123456789abcdef0", InstanceID: "i-0123456789abcdef0",
				Zone: "us-east-1a", Region: "us-east-1"},
		},
		{
			name: "GovCloud zone from the legacy labels",
			in:   node("n", "", map[string]string{"failure-domain.beta.kubernetes.io/zone": "us-gov-west-1b", "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux"}, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "n", Arch: "amd64", OS: "linux", Zone: "us-gov-west-1b", Region: "us-gov-west-1"},
		},
		{
			name: "legacy region label",
			in:   node("n", "", map[string]string{"failure-domain.beta.kubernetes.io/zone": "us-west-2-lax-1a", "failure-domain.beta.kubernetes.io/region": "us-west-2"}, corev1.NodeSystemInfo{}),
			want: &NodeFacts{Name: "n", Zone: "us-west-2-lax-1a", Region: "us-west-2"},
		},
		{
			name: "current labels win over legacy ones and node info",
			in: node("n", "", map[string]string{"kubernetes.io/arch": "arm64", "beta.kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "beta.kubernetes.io/os": "windows"},
				corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "windows"}),
			want: &NodeFacts{Name: "n", Arch: "arm64", OS: "linux"},
		},
		{
			name: "not an AWS node; disk pressure unknown",
			in: node("kind-worker", "kind://docker/kind/kind-worker", map[string]string{"topology.kubernetes.io/zone": "zone-a"}, corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux"},
				corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionUnknown, Message: "Kubelet stopped posting node status."}),
			want: &NodeFacts{Name: "kind-worker", Arch: "amd64", OS: "linux", ProviderID: "kind://docker/kind/kind-worker", Zone: "zone-a",
				DiskPressureMsg: "Kubelet stopped posting node status."},
		},
		{name: "nil", in: nil, want: nil},
	})
}

func TestNodeFactsFromPod(t *testing.T) {
	pod := func(node, scheduler string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: labels}, Spec: corev1.PodSpec{NodeName: node, SchedulerName: scheduler}}
	}
	testConversion(t, "NodeFactsFromPod", NodeFactsFromPod, []conversionCase[*corev1.Pod, *NodeFacts]{
		{"EC2 node", pod("ip-10-0-12-34.us-west-2.compute.internal", "default-scheduler", map[string]string{"app": "api"}),
			&NodeFacts{Name: "ip-10-0-12-34.us-west-2.compute.internal"}},
		{"Fargate node name", pod("fargate-ip-10-0-7-21.us-west-2.compute.internal", "", nil),
			&NodeFacts{Name: "fargate-ip-10-0-7-21.us-west-2.compute.internal", Fargate: true}},
		{"fargate-profile label on the pod", pod("ip-10-0-7-21.us-west-2.compute.internal", "", map[string]string{"eks.amazonaws.com/fargate-profile": "fp-payments"}),
			&NodeFacts{Name: "ip-10-0-7-21.us-west-2.compute.internal", Fargate: true, FargateProfile: "fp-payments"}},
		{"Fargate scheduler", pod("ip-10-0-7-21.us-west-2.compute.internal", "fargate-scheduler", nil),
			&NodeFacts{Name: "ip-10-0-7-21.us-west-2.compute.internal", Fargate: true}},
		{"unscheduled", pod("", "fargate-scheduler", nil), nil},
		{"nil", nil, nil},
	})
}

func TestServiceAccountFactsFrom(t *testing.T) {
	testConversion(t, "ServiceAccountFactsFrom", ServiceAccountFactsFrom, []conversionCase[*corev1.ServiceAccount, *ServiceAccountFacts]{
		{"pull secrets and role annotations", &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "payments-api", Annotations: map[string]string{
				"eks.amazonaws.com/role-arn":     "arn:aws:iam::111122223333:role/payments-api-irsa",
				"eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::111122223333:role/payments-ecr-pull",
			}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}, {Name: ""}, {Name: "sa-only"}},
		}, &ServiceAccountFacts{Name: "payments-api", Found: true, ImagePullSecrets: []string{"regcred", "sa-only"},
			IRSARoleARN: "arn:aws:iam::111122223333:role/payments-api-irsa", ECRRoleARN: "arn:aws:iam::111122223333:role/payments-ecr-pull"}},
		{"bare", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, &ServiceAccountFacts{Name: "default", Found: true}},
		{"nil", nil, nil},
	})
}

func TestServiceAccountName(t *testing.T) {
	tests := []struct {
		spec corev1.PodSpec
		want string
	}{
		{corev1.PodSpec{ServiceAccountName: "api", DeprecatedServiceAccount: "old"}, "api"},
		{corev1.PodSpec{DeprecatedServiceAccount: "old"}, "old"},
		{corev1.PodSpec{}, "default"},
	}
	for _, tt := range tests {
		if got := ServiceAccountName(&corev1.Pod{Spec: tt.spec}); got != tt.want {
			t.Errorf("ServiceAccountName(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestPullSecretFrom(t *testing.T) {
	const password = "hunter2-Zq8x"
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + password))
	secret := func(typ corev1.SecretType, data map[string]string, stringData map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "payments"}, Type: typ, StringData: stringData}
		for k, v := range data {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = []byte(v)
		}
		return s
	}
	found := func(typ corev1.SecretType, detail string, hosts ...string) PullSecret {
		return PullSecret{Name: "s", From: "pod", Status: SecretFound, Type: typ, Hosts: hosts, Detail: detail}
	}
	const cfgJSON, cfg = corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   PullSecret
	}{
		{"dockerconfigjson", secret(cfgJSON, map[string]string{
			".dockerconfigjson": `{"auths":{"b.example.com":{"auth":"` + auth + `"},"a.example.com:5000":{"username":"robot","password":"` + password + `"}}}`,
			"extra":             password,
		}, nil), found(cfgJSON, "", "a.example.com:5000", "b.example.com")},
		{"keys as written", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"auths":{"https://index.docker.io/v1/":{}}}`}, nil),
			found(cfgJSON, "", "https://index.docker.io/v1/")},
		{"stringData wins over data", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"auths":{"old.example.com":{}}}`},
			map[string]string{".dockerconfigjson": `{"auths":{"ghcr.io":{"auth":"` + auth + `"}}}`}), found(cfgJSON, "", "ghcr.io")},
		{"no auths", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"credHelpers":{"x":"ecr-login"}}`}, nil),
			found(cfgJSON, ".dockerconfigjson has no auths entries")},
		{"empty auths", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"auths":{}}`}, nil),
			found(cfgJSON, ".dockerconfigjson has no auths entries")},
		{"missing key", secret(cfgJSON, map[string]string{"config.json": `{}`}, nil),
			found(cfgJSON, "has no .dockerconfigjson key")},
		{"no data at all", secret(cfgJSON, nil, nil), found(cfgJSON, "has no .dockerconfigjson key")},
		{"broken JSON", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"auths":{"h":{"password":"` + password}, nil),
			found(cfgJSON, ".dockerconfigjson is not valid JSON (at byte 39)")},
		{"not JSON", secret(cfgJSON, map[string]string{".dockerconfigjson": "password=" + password}, nil),
			found(cfgJSON, ".dockerconfigjson is not valid JSON (at byte 1)")},
		{"empty value", secret(cfgJSON, map[string]string{".dockerconfigjson": ""}, nil),
			found(cfgJSON, ".dockerconfigjson is not valid JSON (at byte 0)")},
		{"auths is a string", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"auths":"` + password + `"}`}, nil),
			found(cfgJSON, ".dockerconfigjson is not a docker config (auths is a JSON string)")},
		{"auths is a number", secret(cfgJSON, map[string]string{".dockerconfigjson": `{"auths":1234567890}`}, nil),
			found(cfgJSON, ".dockerconfigjson is not a docker config (auths is a JSON number)")},
		{"top level is an array", secret(cfgJSON, map[string]string{".dockerconfigjson": `["` + password + `"]`}, nil),
			found(cfgJSON, ".dockerconfigjson is not a docker config (the top level is a JSON array)")},
		{"dockercfg", secret(cfg, map[string]string{".dockercfg": `{"https://index.docker.io/v1/":{"auth":"` + auth + `"}}`}, nil),
			found(cfg, "", "https://index.docker.io/v1/")},
		{"dockercfg without entries", secret(cfg, map[string]string{".dockercfg": `{}`}, nil), found(cfg, ".dockercfg has no entries")},
		{"dockercfg missing key", secret(cfg, map[string]string{".dockerconfigjson": `{"auths":{"a.example.com":{}}}`}, nil),
			found(cfg, "has no .dockercfg key")},
		{"dockercfg not an object", secret(cfg, map[string]string{".dockercfg": `"` + password + `"`}, nil),
			found(cfg, ".dockercfg is not a docker config (the top level is a JSON string)")},
		{"opaque", secret(corev1.SecretTypeOpaque, map[string]string{"token": password, ".dockerconfigjson": `{"auths":{"a.example.com":{}}}`}, nil),
			found(corev1.SecretTypeOpaque, "type Opaque is not a docker config; the kubelet ignores it for pulls")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.secret.DeepCopy()
			got := PullSecretFrom(tt.secret, "pod")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PullSecretFrom() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.secret); diff != "" {
				t.Errorf("PullSecretFrom() changed the secret (-before +after):\n%s", diff)
			}
			dump := fmt.Sprintf("%#v", got)
			for _, s := range []string{password, auth, "robot"} {
				if strings.Contains(dump, s) {
					t.Errorf("PullSecretFrom() = %s: contains secret data %q", dump, s)
				}
			}
		})
	}
}

// TestPullSecretFromNeverQuotes: whatever the bytes of a docker config, Detail says why it
// does not parse without quoting any of them.
func TestPullSecretFromNeverQuotes(t *testing.T) {
	const secretText = "Zq8xPw9" // no two characters of it in a row are in any Detail
	for _, shape := range []string{
		`%s`, `"%s"`, `{"auths":%s}`, `{"auths":"%s"}`, `{"auths":{"h":%s}}`, `{"auths":[%s]}`,
		`{"auths":{"h":{"auth":"%s"}}`, `{"auths":1%s}`, `{"%s":1}`, `[%s]`, `{"auths":{%s}}`, `{"auths":{"h":"%s"`,
	} {
		for _, typ := range []corev1.SecretType{corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg} {
			key := PullSecretDataKey(typ)
			value := fmt.Sprintf(shape, secretText)
			got := PullSecretFrom(&corev1.Secret{Type: typ, Data: map[string][]byte{key: []byte(value)}}, "pod")
			for i := 0; i+2 <= len(secretText); i++ {
				if strings.Contains(got.Detail, secretText[i:i+2]) {
					t.Errorf("PullSecretFrom(%s %s) Detail = %q quotes the data", typ, value, got.Detail)
					break
				}
			}
		}
	}
}

func TestEventFromCore(t *testing.T) {
	t0 := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	testConversion(t, "EventFromCore", EventFromCore, []conversionCase[*corev1.Event, Event]{
		{"core/v1", &corev1.Event{
			InvolvedObject: corev1.ObjectReference{FieldPath: "spec.containers{app}"},
			Type:           "Warning", Reason: "Failed", Message: "m", Count: 4,
			FirstTimestamp: metav1.NewTime(t0), LastTimestamp: metav1.NewTime(t0.Add(time.Minute)),
		}, Event{Type: "Warning", Reason: "Failed", Message: "m", FieldPath: "spec.containers{app}", Count: 4, FirstSeen: t0, LastSeen: t0.Add(time.Minute), API: "v1"}},
		{"written through events.k8s.io/v1, with a series", &corev1.Event{
			Type: "Normal", Reason: "BackOff", Message: "m",
			EventTime: metav1.NewMicroTime(t0),
			Series:    &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Hour))},
		}, Event{Type: "Normal", Reason: "BackOff", Message: "m", Count: 7, FirstSeen: t0, LastSeen: t0.Add(time.Hour), API: "v1"}},
		{"written through events.k8s.io/v1, once", &corev1.Event{Type: "Normal", Reason: "Pulling", EventTime: metav1.NewMicroTime(t0)},
			Event{Type: "Normal", Reason: "Pulling", Count: 1, FirstSeen: t0, LastSeen: t0, API: "v1"}},
		{"a series observed before lastTimestamp does not move LastSeen back", &corev1.Event{
			Reason: "Failed", Count: 9, FirstTimestamp: metav1.NewTime(t0), LastTimestamp: metav1.NewTime(t0.Add(time.Hour)),
			Series: &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Minute))},
		}, Event{Reason: "Failed", Count: 9, FirstSeen: t0, LastSeen: t0.Add(time.Hour), API: "v1"}},
		{"eventTime later than lastTimestamp", &corev1.Event{
			Reason: "Pulled", FirstTimestamp: metav1.NewTime(t0), LastTimestamp: metav1.NewTime(t0), EventTime: metav1.NewMicroTime(t0.Add(time.Second)),
		}, Event{Reason: "Pulled", Count: 1, FirstSeen: t0, LastSeen: t0.Add(time.Second), API: "v1"}},
		{"no times at all", &corev1.Event{Reason: "Pulling"}, Event{Reason: "Pulling", Count: 1, API: "v1"}},
	})
}

func TestEventFromEventsV1(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	testConversion(t, "EventFromEventsV1", EventFromEventsV1, []conversionCase[*eventsv1.Event, Event]{
		{"deprecated fields, as kubectl shows a core/v1 event", &eventsv1.Event{
			Regarding: corev1.ObjectReference{FieldPath: "spec.containers{api}"},
			Type:      "Normal", Reason: "BackOff", Note: "Back-off pulling image", DeprecatedCount: 44,
			DeprecatedFirstTimestamp: metav1.NewTime(t0), DeprecatedLastTimestamp: metav1.NewTime(t0.Add(11 * time.Minute)),
		}, Event{Type: "Normal", Reason: "BackOff", Message: "Back-off pulling image", FieldPath: "spec.containers{api}", Count: 44,
			FirstSeen: t0, LastSeen: t0.Add(11 * time.Minute), API: "events.k8s.io/v1"}},
		{"eventTime and a series", &eventsv1.Event{
			Regarding: corev1.ObjectReference{FieldPath: "spec.initContainers{migrate}"},
			Type:      "Warning", Reason: "Failed", Note: "Error: ImagePullBackOff", EventTime: metav1.NewMicroTime(t0),
			Series: &eventsv1.EventSeries{Count: 12, LastObservedTime: metav1.NewMicroTime(t0.Add(10 * time.Minute))},
		}, Event{Type: "Warning", Reason: "Failed", Message: "Error: ImagePullBackOff", FieldPath: "spec.initContainers{migrate}", Count: 12,
			FirstSeen: t0, LastSeen: t0.Add(10 * time.Minute), API: "events.k8s.io/v1"}},
		{"eventTime only, as the scheduler writes it", &eventsv1.Event{Type: "Normal", Reason: "Scheduled", Note: "Successfully assigned", EventTime: metav1.NewMicroTime(t0)},
			Event{Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned", Count: 1, FirstSeen: t0, LastSeen: t0, API: "events.k8s.io/v1"}},
	})
}

func TestSortEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(reason string, first, last time.Duration) Event {
		return Event{Reason: reason, FirstSeen: t0.Add(first), LastSeen: t0.Add(last)}
	}
	events := []Event{at("c", 0, 3), at("b2", 1, 2), at("a", 0, 1), at("b1", 0, 2), at("b3", 1, 2)}
	SortEvents(events)
	var got []string
	for _, e := range events {
		got = append(got, e.Reason)
	}
	if diff := cmp.Diff([]string{"a", "b1", "b2", "b3", "c"}, got); diff != "" {
		t.Errorf("SortEvents() order (-want +got):\n%s", diff)
	}
}

func TestWorkloadFrom(t *testing.T) {
	owner := func(apiVersion, kind, name string, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, Controller: &controller}
	}
	rs := func(name string) metav1.OwnerReference { return owner("apps/v1", "ReplicaSet", name, true) }
	hash := map[string]string{"pod-template-hash": "6f7d9c8b5"}
	tests := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   Workload
	}{
		{"ReplicaSet of a Deployment", hash, []metav1.OwnerReference{rs("payments-api-6f7d9c8b5")}, Workload{Kind: "Deployment", Name: "payments-api"}},
		{"extensions ReplicaSet", hash, []metav1.OwnerReference{owner("extensions/v1beta1", "ReplicaSet", "payments-api-6f7d9c8b5", true)},
			Workload{Kind: "Deployment", Name: "payments-api"}},
		{"ReplicaSet without apiVersion (a hand-written file)", hash, []metav1.OwnerReference{owner("", "ReplicaSet", "payments-api-6f7d9c8b5", true)},
			Workload{Kind: "Deployment", Name: "payments-api"}},
		{"ReplicaSet of another API group", hash, []metav1.OwnerReference{owner("example.com/v1", "ReplicaSet", "payments-api-6f7d9c8b5", true)},
			Workload{Kind: "ReplicaSet", Name: "payments-api-6f7d9c8b5"}},
		{"ReplicaSet without pod-template-hash", nil, []metav1.OwnerReference{rs("payments-api-6f7d9c8b5")}, Workload{Kind: "ReplicaSet", Name: "payments-api-6f7d9c8b5"}},
		{"hash that is not the ReplicaSet's suffix", map[string]string{"pod-template-hash": "abc"},
			[]metav1.OwnerReference{rs("payments-api-6f7d9c8b5")}, Workload{Kind: "ReplicaSet", Name: "payments-api-6f7d9c8b5"}},
		{"ReplicaSet named only by the hash", hash, []metav1.OwnerReference{rs("-6f7d9c8b5")}, Workload{Kind: "ReplicaSet", Name: "-6f7d9c8b5"}},
		{"StatefulSet", map[string]string{"controller-revision-hash": "payments-db-7b9c"},
			[]metav1.OwnerReference{owner("apps/v1", "StatefulSet", "payments-db", true)}, Workload{Kind: "StatefulSet", Name: "payments-db"}},
		{"Job", nil, []metav1.OwnerReference{owner("batch/v1", "Job", "payments-migrate-29410560", true)}, Workload{Kind: "Job", Name: "payments-migrate-29410560"}},
		{"the controller among several owners", nil,
			[]metav1.OwnerReference{owner("v1", "ConfigMap", "x", false), owner("apps/v1", "DaemonSet", "node-agent", true)}, Workload{Kind: "DaemonSet", Name: "node-agent"}},
		{"no controller", nil, []metav1.OwnerReference{owner("v1", "ConfigMap", "x", false), {Kind: "Secret", Name: "y"}}, Workload{Kind: "Pod", Name: "p"}},
		{"no owner", nil, nil, Workload{Kind: "Pod", Name: "p"}},
		// found by FuzzLoad (diagnosis/podfile/testdata/fuzz/FuzzLoad/owner-reference-without-name)
		{"controller without a name", hash, []metav1.OwnerReference{rs("")}, Workload{Kind: "Pod", Name: "p"}},
		{"controller without a kind, then a valid one", nil,
			[]metav1.OwnerReference{owner("apps/v1", "", "x", true), owner("apps/v1", "StatefulSet", "db", true)}, Workload{Kind: "StatefulSet", Name: "db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: tt.labels, OwnerReferences: tt.owners}}
			if diff := cmp.Diff(&tt.want, WorkloadFrom(pod)); diff != "" {
				t.Errorf("WorkloadFrom() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPullSecretDataKey(t *testing.T) {
	for typ, want := range map[corev1.SecretType]string{
		corev1.SecretTypeDockerConfigJson: ".dockerconfigjson",
		corev1.SecretTypeDockercfg:        ".dockercfg",
		corev1.SecretTypeOpaque:           "",
		"":                                "",
	} {
		if got := PullSecretDataKey(typ); got != want {
			t.Errorf("PullSecretDataKey(%q) = %q, want %q", typ, got, want)
		}
	}
}
