package diagnosis

import (
	"testing"
	"time"
)

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "''"},
		{"payments", "payments"},
		{"deployment/payments-api", "deployment/payments-api"},
		{"api=" + ecrImage, "api=" + ecrImage},
		{"app=payments-api,tier=web", "app=payments-api,tier=web"},
		{"--docker-server=https://index.docker.io/v1/", "--docker-server=https://index.docker.io/v1/"},
		{"a b", "'a b'"},
		{"it's", `'it'"'"'s'`},
		{`jsonpath={.spec.containers[?(@.name=="api")].image}`, `'jsonpath={.spec.containers[?(@.name=="api")].image}'`},
		{`[{"op":"remove","path":"/spec/template/spec/imagePullSecrets"}]`, `'[{"op":"remove","path":"/spec/template/spec/imagePullSecrets"}]'`},
		{"$(rm -rf /)", "'$(rm -rf /)'"},
		{"`id`", "'`id`'"},
		{"a;b", "'a;b'"},
		{"~", "'~'"},
		// A credential the user exports must expand, so it is double-quoted.
		{"--docker-password=$REGISTRY_PASSWORD", `"--docker-password=$REGISTRY_PASSWORD"`},
		{"$HOME/x", "'$HOME/x'"},
	} {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSelector(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"Deployment", map[string]string{"app": "payments-api", "pod-template-hash": "6f7d9c8b5"}, "app=payments-api"},
		{"sorted", map[string]string{"tier": "web", "app.kubernetes.io/name": "payments-api", "app": "payments-api"}, "app.kubernetes.io/name=payments-api,app=payments-api,tier=web"},
		{"StatefulSet", map[string]string{"app": "db", "controller-revision-hash": "db-7c9d", "statefulset.kubernetes.io/pod-name": "db-0", "apps.kubernetes.io/pod-index": "0"}, "app=db"},
		{"DaemonSet", map[string]string{"k8s-app": "agent", "controller-revision-hash": "7c9d", "pod-template-generation": "3"}, "k8s-app=agent"},
		{"Job", map[string]string{"batch.kubernetes.io/controller-uid": "1f0e", "batch.kubernetes.io/job-name": "migrate", "controller-uid": "1f0e", "job-name": "migrate"}, ""},
		{"no labels", nil, ""},
		{"node topology copied by the API server", map[string]string{"app": "payments-api", "topology.kubernetes.io/zone": "us-west-2a", "topology.kubernetes.io/region": "us-west-2"}, "app=payments-api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFacts(func(f *Facts) { f.Pod.Labels = tc.labels })
			if got := (cmdContext{f, &Container{Name: "api"}}).selector(); got != tc.want {
				t.Errorf("selector() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWorkloadCommands(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mod         func(*Facts)
		kind        ContainerKind
		restart     string
		restartable bool
		patch       string // jsonPatch of a replace on the container's imagePullPolicy
		merge       string // mergePatch of a nodeSelector
		setImage    string
		verify      string
	}{
		{
			name: "Deployment", mod: ownedBy("Deployment", tWorkload), kind: KindRegular,
			restart: "kubectl -n payments rollout restart deployment/payments-api", restartable: true,
			patch:    `kubectl -n payments patch deployment payments-api --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]'`,
			merge:    `kubectl -n payments patch deployment payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`,
			setImage: "kubectl -n payments set image deployment/payments-api api=" + ecrImage,
			verify:   "kubectl -n payments get pods -l app=payments-api -o wide",
		},
		{
			name: "Deployment init container", mod: ownedBy("Deployment", tWorkload), kind: KindInit,
			restart: "kubectl -n payments rollout restart deployment/payments-api", restartable: true,
			patch:    `kubectl -n payments patch deployment payments-api --type json -p '[{"op":"replace","path":"/spec/template/spec/initContainers/0/imagePullPolicy","value":"IfNotPresent"}]'`,
			merge:    `kubectl -n payments patch deployment payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`,
			setImage: "kubectl -n payments set image deployment/payments-api api=" + ecrImage,
			verify:   "kubectl -n payments get pods -l app=payments-api -o wide",
		},
		{
			name: "StatefulSet", mod: ownedBy("StatefulSet", "payments-api"), kind: KindRegular,
			restart: "kubectl -n payments rollout restart statefulset/payments-api", restartable: true,
			patch:    `kubectl -n payments patch statefulset payments-api --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]'`,
			merge:    `kubectl -n payments patch statefulset payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`,
			setImage: "kubectl -n payments set image statefulset/payments-api api=" + ecrImage,
			verify:   "kubectl -n payments get pods -l app=payments-api -o wide",
		},
		{
			name: "CronJob", mod: ownedBy("CronJob", "nightly-report"), kind: KindRegular,
			restart:  "kubectl -n payments delete pod " + tPod,
			patch:    `kubectl -n payments patch cronjob nightly-report --type json -p '[{"op":"replace","path":"/spec/jobTemplate/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]'`,
			merge:    `kubectl -n payments patch cronjob nightly-report --type merge -p '{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}}}'`,
			setImage: "kubectl -n payments set image cronjob/nightly-report api=" + ecrImage,
			verify:   "kubectl -n payments get pods -l app=payments-api -o wide",
		},
		{
			// A Job's pod template is immutable: no patch, no set image; the Job replaces a deleted pod.
			name: "Job", mod: ownedBy("Job", "payments-migrate"), kind: KindRegular,
			restart: "kubectl -n payments delete pod " + tPod,
			verify:  "kubectl -n payments get pods -l app=payments-api -o wide",
		},
		{
			// Nothing recreates a bare pod: it is re-created from its own spec.
			name: "bare pod", mod: ownedBy("Pod", tPod), kind: KindRegular,
			restart:  "kubectl -n payments get pod " + tPod + " -o json | jq 'del(.spec.nodeName, .spec.ephemeralContainers)' | kubectl replace --force -f -",
			setImage: "kubectl -n payments set image pod/" + tPod + " api=" + ecrImage,
			verify:   "kubectl -n payments get pod " + tPod + " -o wide",
		},
		{
			name: "no workload known", mod: func(f *Facts) { f.Workload = nil }, kind: KindRegular,
			restart:  "kubectl -n payments get pod " + tPod + " -o json | jq 'del(.spec.nodeName, .spec.ephemeralContainers)' | kubectl replace --force -f -",
			setImage: "kubectl -n payments set image pod/" + tPod + " api=" + ecrImage,
			verify:   "kubectl -n payments get pod " + tPod + " -o wide",
		},
		{
			// A debug container is not in any template.
			name: "ephemeral container", mod: ownedBy("Deployment", tWorkload), kind: KindEphemeral,
			restart: "kubectl -n payments rollout restart deployment/payments-api", restartable: true,
			patch:  `kubectl -n payments patch deployment payments-api --type json -p '[{"op":"replace","path":"/spec/template/spec/ephemeralContainers/0/imagePullPolicy","value":"IfNotPresent"}]'`,
			merge:  `kubectl -n payments patch deployment payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`,
			verify: "kubectl -n payments get pods -l app=payments-api -o wide",
		},
		{
			// The sandbox (pause) image is node configuration, not a container of the spec.
			name: "pod sandbox", mod: ownedBy("Deployment", tWorkload), kind: KindSandbox,
			restart: "kubectl -n payments rollout restart deployment/payments-api", restartable: true,
			patch:  `kubectl -n payments patch deployment payments-api --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]'`,
			merge:  `kubectl -n payments patch deployment payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`,
			verify: "kubectl -n payments get pods -l app=payments-api -o wide",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFacts(tc.mod)
			name := "api"
			if tc.kind == KindSandbox {
				name = sandboxName
			}
			x := cmdContext{f, &Container{Name: name, Kind: tc.kind, Image: ParseImage(ecrImage)}}
			if got := x.restart(); got != tc.restart {
				t.Errorf("restart() = %s, want %s", got, tc.restart)
			}
			if got := x.restartable(); got != tc.restartable {
				t.Errorf("restartable() = %v, want %v", got, tc.restartable)
			}
			if got := x.jsonPatch(`{"op":"replace","path":"{{spec}}/` + x.containerListField() + `/0/imagePullPolicy","value":"IfNotPresent"}`); got != tc.patch {
				t.Errorf("jsonPatch() = %s, want %s", got, tc.patch)
			}
			if got := x.mergePatch(`{"nodeSelector":{"kubernetes.io/arch":"amd64"}}`); got != tc.merge {
				t.Errorf("mergePatch() = %s, want %s", got, tc.merge)
			}
			if got := x.setImage(ecrImage); got != tc.setImage {
				t.Errorf("setImage() = %q, want %q", got, tc.setImage)
			}
			if got := x.verifyPods(); got != tc.verify {
				t.Errorf("verifyPods() = %s, want %s", got, tc.verify)
			}
		})
	}
}

func TestCommandHelpers(t *testing.T) {
	f := newFacts()
	x := cmdContext{f, &Container{Name: "api", Image: ParseImage(ecrImage)}}
	if got, want := x.events(), "kubectl -n payments get events --field-selector involvedObject.name="+tPod+" --sort-by .lastTimestamp"; got != want {
		t.Errorf("events() = %s, want %s", got, want)
	}
	if got, want := x.describe(), "kubectl -n payments describe pod "+tPod; got != want {
		t.Errorf("describe() = %s, want %s", got, want)
	}
	if got, want := x.nodeName(), tNode; got != want {
		t.Errorf("nodeName() = %s, want %s", got, want)
	}
	disc := x.nodeRoleDiscovery()
	if len(disc) != 2 || disc[0] != "PROFILE=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890 --query 'Reservations[0].Instances[0].IamInstanceProfile.Arn' --output text)" {
		t.Errorf("nodeRoleDiscovery() = %q", disc)
	}
	if got := (cmdContext{newFacts(onFargate), x.c}).nodeRoleDiscovery(); got != nil {
		t.Errorf("nodeRoleDiscovery() on Fargate = %q, want nil", got)
	}
	for _, tc := range []struct{ image, region, policy string }{
		{ecrImage, "us-west-2", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"},
		{"111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1", "us-east-1", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"},
		{"111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1", "cn-north-1", "arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"},
		{"151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause:3.5", "us-gov-east-1", "arn:aws-us-gov:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"},
		{"busybox:1.36", "us-west-2", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"}, // the node's region
	} {
		x := cmdContext{f, &Container{Name: "api", Image: ParseImage(tc.image)}}
		if got := x.region(); got != tc.region {
			t.Errorf("region() for %s = %s, want %s", tc.image, got, tc.region)
		}
		if got := x.policyARN("AmazonEC2ContainerRegistryPullOnly"); got != tc.policy {
			t.Errorf("policyARN() for %s = %s, want %s", tc.image, got, tc.policy)
		}
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	if q := quote(string(long)); len(q) > 620 || q[0] != '"' || q[len(q)-1] != '"' {
		t.Errorf("quote() of 1000 bytes = %d bytes, want both ends kept within 620", len(q))
	}
	if got := quote("short"); got != `"short"` {
		t.Errorf("quote(short) = %s", got)
	}
	_ = time.Second
}
