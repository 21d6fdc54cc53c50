package kube_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// TestSecretDataNeverInFacts: whatever shape a pull secret has, no credential from it
// reaches the facts: only its type and registry host keys do.
func TestSecretDataNeverInFacts(t *testing.T) {
	f := setup(t)
	host := f.host()
	password := "pw-Zq8x-" + f.ns
	f.secret(dockerConfigJSON(f.ns, "regcred", password, host))
	f.secret(dockerCfg(f.ns, "legacy", password, "https://index.docker.io/v1/"))
	f.secret(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: f.ns},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte(password)},
	})
	// Valid JSON (the API server checks that much) of the wrong shape.
	f.secret(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "odd", Namespace: f.ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":"` + password + `"}`)},
	})
	f.serviceAccount("api", nil, "legacy")
	spec := specOf(host + "/app:1")
	spec.ServiceAccountName = "api"
	spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "opaque"}, {Name: "odd"}}
	pod := f.createPod(kubetest.PodFor(f.ns, "web", spec, nil), "")
	f.wait(pod, "app", diagnosis.ReasonErrImagePull, "boom")

	c := f.collector(later(pod), kube.Options{ReadSecrets: true})
	one, err := c.Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := c.CollectFailing(f.ctx, f.ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(scan) != 1 {
		t.Fatalf("CollectFailing() returned %d pods, want 1", len(scan))
	}

	// The positive control: what may be read is there.
	want := []diagnosis.PullSecret{
		{Name: "regcred", From: "pod", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson, Hosts: []string{host}},
		{Name: "opaque", From: "pod", Status: diagnosis.SecretFound, Type: corev1.SecretTypeOpaque, Detail: "type Opaque is not a docker config; the kubelet ignores it for pulls"},
		{Name: "odd", From: "pod", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson, Detail: ".dockerconfigjson is not a docker config (auths is a JSON string)"},
		{Name: "legacy", From: "serviceaccount", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockercfg, Hosts: []string{"https://index.docker.io/v1/"}},
	}
	if diff := cmp.Diff(want, one.PullSecrets); diff != "" {
		t.Errorf("PullSecrets (-want +got):\n%s", diff)
	}

	secrets := []string{
		password,
		base64.StdEncoding.EncodeToString([]byte("robot:" + password)),
		base64.StdEncoding.EncodeToString([]byte(password)),
		"robot",
	}
	for name, facts := range map[string]*diagnosis.Facts{"Collect": one, "CollectFailing": scan[0]} {
		js, err := json.Marshal(facts)
		if err != nil {
			t.Fatal(err)
		}
		// cmp.Diff against the zero value prints every field, following pointers.
		dump := string(js) + fmt.Sprintf("%+v %+v %+v %+v", facts.PullSecrets, facts.Skipped, facts.Events, facts.Related) +
			cmp.Diff(&diagnosis.Facts{}, facts, ignorePod)
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Errorf("%s: the facts contain secret data %q", name, s)
			}
		}
	}
}
