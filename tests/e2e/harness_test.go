package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/diagnosis/registryprobe"
	"github.com/pullcheck/pullcheck/tests/awsfake"
	"github.com/pullcheck/pullcheck/tests/kubetest"
	"github.com/pullcheck/pullcheck/tests/registryfake"
)

// Registry hosts and the credentials the fake registries accept.
const (
	ecrHost      = awsfake.ExampleAccount + ".dkr.ecr." + awsfake.ExampleRegion + ".amazonaws.com"
	crossECRHost = awsfake.ExampleRegistryAcct + ".dkr.ecr." + awsfake.ExampleRegion + ".amazonaws.com"
	privateHost  = "registry.example.com:5000"
	privateUser  = "ci-robot"
	privatePass  = "example-Pa55word-do-not-print"
	harborHost   = "harbor.corp.example:8443"
)

// registries are the fake registries the probe reaches, one per kind of registry.
type registries struct {
	// ecr serves every ECR host of the region with Basic auth and the password inside the
	// tokens awsfake issues (the bot's own ECR token).
	ecr *registryfake.Registry
	// hub is Docker Hub (registry-1.docker.io), with the bearer-token flow.
	hub *registryfake.Registry
	// private is registry.example.com with the bearer-token flow and a robot account.
	private *registryfake.Registry
	// harbor's certificate comes from a private CA that neither the nodes nor the bot trust.
	harbor *registryfake.Registry
}

// startRegistries starts the registries and fills them with what the AWS scenario's
// repositories hold (the probe with the bot's ECR token sees what ECR's API says).
func startRegistries(tb testing.TB) *registries {
	tb.Helper()
	r := &registries{
		ecr: registryfake.New(tb, registryfake.Options{Auth: registryfake.AuthBasic, Username: "AWS", Password: awsfake.ECRPassword,
			Hosts: []string{"*.dkr.ecr." + awsfake.ExampleRegion + ".amazonaws.com"}}),
		hub:     registryfake.New(tb, registryfake.Options{Auth: registryfake.AuthBearer, Hosts: []string{"registry-1.docker.io"}}),
		private: registryfake.New(tb, registryfake.Options{Auth: registryfake.AuthBearer, Username: privateUser, Password: privatePass, Hosts: []string{"registry.example.com"}}),
		harbor:  registryfake.New(tb, registryfake.Options{Auth: registryfake.AuthNone, Untrusted: true, Hosts: []string{"harbor.corp.example"}}),
	}
	img := registryfake.RandomImage(tb)
	for _, tag := range []string{"payments/api:1.8.1", "payments/api:1.8.0", "payments/ledger:3.2.0", "platform/base:2024.06"} {
		r.ecr.Push(tb, tag, img)
	}
	r.ecr.Push(tb, "payments/api:"+awsfake.ExampleMultiArchTag, registryfake.Index(tb, types.OCIImageIndex,
		v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}))
	r.ecr.Push(tb, "payments/api:"+amd64OnlyTag, registryfake.Index(tb, types.OCIImageIndex, v1.Platform{OS: "linux", Architecture: "amd64"}))
	// ECR answers a pull-through cache pull whose upstream sign-in fails with a 403.
	r.ecr.Fail("docker-hub/", registryfake.ErrorResponse{Status: http.StatusForbidden, Code: "DENIED",
		Message: "The authentication to the upstream registry failed. Verify that the credentials provided in the pull through cache rule are correct, and try again."})
	for _, tag := range []string{"library/busybox:1.36", "library/python:3.12", "library/nginx:1.27", "acme/legacy-api:1.0"} {
		r.hub.Push(tb, tag, img)
	}
	r.hub.Fail("library/busybox", registryfake.ErrorResponse{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS",
		Message: "You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit", Header: registryfake.RateLimitHeader("21600")})
	r.private.Push(tb, "team/app:3.1", img)
	r.harbor.Push(tb, "platform/app:3.1", img)
	return r
}

// transport reaches every fake registry by its real host names (harbor's certificate stays
// untrusted).
func (r *registries) transport() *http.Transport {
	return registryfake.Transport(r.ecr, r.hub, r.private, r.harbor)
}

// amd64OnlyTag is an index in payments/api with a linux/amd64 entry only.
const amd64OnlyTag = "1.9.0"

// awsScenario is the worked example with the instances behind every EC2 node of the
// cluster and an amd64-only index, on the clock of the test.
func awsScenario(now time.Time) *awsfake.Scenario {
	sc := awsfake.WorkedExample()
	sc.Now = now
	base := sc.Instance(awsfake.ExampleInstanceID)
	for _, x := range extraInstances {
		in := *base
		in.ID, in.PrivateIP, in.Architecture, in.InstanceType, in.PrivateDNSName = x.id, x.ip, x.arch, x.instanceType, x.node
		in.SecurityGroupIDs = append([]string(nil), base.SecurityGroupIDs...)
		sc.Instances = append(sc.Instances, &in)
	}
	amd := awsfake.SingleArchImage("payments-api-1.9.0", "amd64", 49_120_003, now.Add(-2*24*time.Hour))
	index := awsfake.IndexImage(now.Add(-2*24*time.Hour), []*awsfake.Image{amd}, amd64OnlyTag)
	repo := sc.Repository(awsfake.ExampleRepository)
	repo.Images = append(repo.Images, index, amd)
	return sc
}

// clusterFacts sets the EKS cluster name on the collected facts, as the CLI does with
// --cluster.
type clusterFacts struct {
	collector diagnosis.Enriched
	cluster   string
}

func (cf clusterFacts) Collect(ctx context.Context, ref diagnosis.PodRef) (*diagnosis.Facts, error) {
	f, err := cf.collector.Collect(ctx, ref)
	if f != nil {
		f.Cluster = cf.cluster
	}
	return f, err
}

// wiring is the production wiring of `pullcheck diagnose --aws --probe` (cli.go collector):
// the kube collector, the AWS gatherer and the registry probe's enricher (which uses the
// gatherer for the bot's ECR token and the pod's pull secrets in the opted-in namespaces).
type wiring struct {
	collector clusterFacts
	gatherer  *cloud.Gatherer
	enricher  *registryprobe.Enricher
}

func newWiring(awsCfg aws.Config, rt http.RoundTripper, probeNamespaces []string, now func() time.Time, registryRoles map[string]string) wiring {
	kc := kube.NewCollector(cluster.Client, kube.Options{Context: kubetest.ContextName, Now: now, ReadSecrets: true})
	g := cloud.New(awsCfg, cloud.Options{Cluster: awsfake.ExampleCluster, Now: now, RegistryRoles: registryRoles})
	en := registryprobe.NewEnricher(registryprobe.New(registryprobe.Options{Transport: rt}), registryprobe.EnricherOptions{
		ECR:     g,
		Secrets: kube.NewSecretCredentials(cluster.Client, probeNamespaces),
	})
	return wiring{
		collector: clusterFacts{diagnosis.Enriched{Collector: kc, Enrichers: []diagnosis.Enricher{g, en}}, awsfake.ExampleCluster},
		gatherer:  g, enricher: en,
	}
}

// ---- what a kubelet writes ----

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func container(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent}
}

// failedToPull is containerd's resolve failure as the kubelet reports it.
func failedToPull(image, inner string) string {
	return fmt.Sprintf(`Failed to pull image %q: failed to pull and unpack image %q: failed to resolve reference %q: %s`, image, image, image, inner)
}

// notFound is containerd's HEAD 404 (the same for a missing repository and a missing tag).
func notFound(image string) string {
	return fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found`, image, image, image, image)
}

// headStatus is containerd's "unexpected status from HEAD request" for image's manifest.
func headStatus(image, status string) string {
	ref := diagnosis.ParseImage(image)
	return failedToPull(image, fmt.Sprintf("unexpected status from HEAD request to https://%s/v2/%s/manifests/%s: %s", ref.RegistryHost(), ref.Path, ref.Reference(), status))
}

// kubelet writes what the kubelet of the pod's node writes.
type kubelet struct {
	pod *corev1.Pod
	now time.Time
	// v1Events writes events through events.k8s.io/v1 instead of core/v1.
	v1Events bool
}

func (k kubelet) record(ctx context.Context, t testing.TB, e kubetest.Event) {
	t.Helper()
	var err error
	if k.v1Events {
		_, err = cluster.RecordEventV1(ctx, k.pod, e)
	} else {
		_, err = cluster.RecordEvent(ctx, k.pod, e)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (k kubelet) image(ctr string) string {
	for _, list := range [][]corev1.Container{k.pod.Spec.InitContainers, k.pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == ctr {
				return c.Image
			}
		}
	}
	return ""
}

// failPull writes a pull failing with msg for the last 9 minutes: Pulling, Failed with the
// runtime's error, "Error: ErrImagePull", BackOff, and the container waiting in
// ImagePullBackOff with the bare back-off message (a kubelet before 1.32).
func (k kubelet) failPull(ctx context.Context, t testing.TB, ctr, msg string) {
	t.Helper()
	image := k.image(ctr)
	first, last := k.now.Add(-9*time.Minute), k.now.Add(-2*time.Minute)
	for _, e := range []kubetest.Event{
		{Container: ctr, Reason: "Pulling", Message: fmt.Sprintf("Pulling image %q", image), First: first, Last: last, Count: 4},
		{Container: ctr, Type: corev1.EventTypeWarning, Reason: "Failed", Message: msg, First: first, Last: last, Count: 4},
		{Container: ctr, Type: corev1.EventTypeWarning, Reason: "Failed", Message: "Error: ErrImagePull", First: first, Last: last, Count: 4},
		{Container: ctr, Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", image), First: first.Add(time.Minute), Last: k.now.Add(-time.Minute), Count: 30},
	} {
		k.record(ctx, t, e)
	}
	k.waiting(ctx, t, ctr, diagnosis.ReasonImagePullBackOff, fmt.Sprintf("Back-off pulling image %q", image))
}

// failPullV132 writes what a kubelet 1.32 or later keeps once the events expired: the
// waiting message with the runtime's last error (inner, as cri-client returned it) after the
// back-off wrapper, and a BackOff event.
func (k kubelet) failPullV132(ctx context.Context, t testing.TB, ctr, inner string) {
	t.Helper()
	image := k.image(ctr)
	k.record(ctx, t, kubetest.Event{Container: ctr, Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", image), First: k.now.Add(-70 * time.Minute), Last: k.now.Add(-time.Minute), Count: 40})
	k.waiting(ctx, t, ctr, diagnosis.ReasonImagePullBackOff, fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", image, inner))
}

// warn records one Warning event for the container ("" for the pod) and the waiting state.
func (k kubelet) warn(ctx context.Context, t testing.TB, ctr, eventReason, waitingReason, msg string) {
	t.Helper()
	k.record(ctx, t, kubetest.Event{Container: ctr, Type: corev1.EventTypeWarning, Reason: eventReason, Message: msg, First: k.now.Add(-5 * time.Minute), Last: k.now.Add(-time.Minute), Count: 6})
	k.waiting(ctx, t, ctr, waitingReason, msg)
}

func (k kubelet) waiting(ctx context.Context, t testing.TB, ctr, reason, msg string) {
	t.Helper()
	must[*corev1.Pod](t)(cluster.SetContainerWaiting(ctx, k.pod, ctr, reason, msg))
}
