package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 11, 25, 10, 12, 0, 0, time.UTC)

const (
	apiPod   = "payments-api-7d9f8b6c4-x2k9p"
	apiImage = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"
)

// The reports are built by functions so that every test gets its own copy.

// credentialsReport: ECR gives the node no credential (likely); a restart helps once fixed.
func credentialsReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "payments", Name: apiPod},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseRegistryCredentials,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "payments-api"},
		Node:     "ip-10-0-12-34.us-west-2.compute.internal",
		Source:   "context prod-eks",
		Findings: []diagnosis.Finding{{
			Container:     "api",
			ContainerKind: diagnosis.KindRegular,
			Image:         apiImage,
			Cause:         diagnosis.CauseRegistryCredentials,
			Confidence:    diagnosis.Likely,
			Summary: "No ECR credential was presented for " + apiImage + ": the kubelet's credential provider got no token " +
				"for the IAM role of instance i-0abc1234def567890 (node ip-10-0-12-34.us-west-2.compute.internal) in us-west-2.",
			Evidence: []string{
				"status.containerStatuses[api].state.waiting.reason: ErrImagePull",
				`event Warning Failed (x7, last 2026-11-25T10:11:55Z, v1): "Failed to pull image "` + apiImage + `": authorization failed: no basic auth credentials"`,
				"the image is in ECR account 111122223333, region us-west-2: the IAM role of instance i-0abc1234def567890 pulls it",
			},
			Fixes: []diagnosis.Fix{
				{Title: "Give the node role ECR pull permissions (AmazonEC2ContainerRegistryPullOnly)", Commands: []string{
					`PROFILE=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890 --query 'Reservations[0].Instances[0].IamInstanceProfile.Arn' --output text)`,
					`NODE_ROLE=$(aws iam get-instance-profile --instance-profile-name "${PROFILE##*/}" --query 'InstanceProfile.Roles[0].RoleName' --output text)`,
					`aws iam attach-role-policy --role-name "$NODE_ROLE" --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly`,
				}},
				{Title: "Once fixed, start a new pod instead of waiting out the back-off (up to 5 minutes)", Commands: []string{
					"kubectl -n payments rollout restart deployment/payments-api",
				}},
			},
			Verify:       `aws iam simulate-principal-policy --policy-source-arn "$(aws iam get-role --role-name "$NODE_ROLE" --query Role.Arn --output text)" --action-names ecr:GetAuthorizationToken ecr:BatchGetImage`,
			RestartHelps: diagnosis.RestartAdvice{Helps: true, Reason: "IAM and network changes apply to the next pull; a new pod retries at once instead of waiting out the back-off"},
			Notes: []string{
				"The service account payments-api has the IRSA role arn:aws:iam::111122223333:role/payments-api-irsa, but that role has no effect on image pulls: the kubelet pulls with the node's IAM role.",
			},
			Alternatives: []diagnosis.Cause{diagnosis.CauseRegistryUnreachable, diagnosis.CauseAccessDenied},
			Check:        "registry-credentials",
		}},
		Skipped: []diagnosis.Skip{{Check: "secrets", Reason: "reading secrets is forbidden", Needs: "get secrets in namespace payments"}},
	}
}

// tagNotFoundReport: ECR confirms the tag does not exist; a restart helps only once it does.
func tagNotFoundReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "payments", Name: apiPod},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseTagNotFound,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "payments-api"},
		Node:     "ip-10-0-12-34.us-west-2.compute.internal",
		Findings: []diagnosis.Finding{{
			Container:     "api",
			ContainerKind: diagnosis.KindRegular,
			Image:         apiImage,
			Cause:         diagnosis.CauseTagNotFound,
			Confidence:    diagnosis.Confirmed,
			Summary:       "The ECR repository payments/api exists, but has no image 1.8.2.",
			Evidence: []string{
				`Warning Failed (x14): Failed to pull image "` + apiImage + `": ` + apiImage + `: not found`,
				"ecr:DescribeImages (account 111122223333, region us-west-2): ImageNotFoundException for 1.8.2 in payments/api",
				"tags that do exist in payments/api: 1.8.1, 1.8.0",
			},
			Fixes: []diagnosis.Fix{{Title: "Or deploy a tag that exists (1.8.1 is the highest)", Commands: []string{
				"kubectl -n payments set image deployment/payments-api api=111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.1",
			}}},
			Verify:       "aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.2",
			RestartHelps: diagnosis.RestartAdvice{Helps: true, Reason: "once the image exists under this reference (pushed, restored or re-tagged), a new pod pulls it; until then a restart fails the same way"},
			Check:        "not-found",
		}},
	}
}

// tagPushedReport is tagNotFoundReport after the tag was pushed: the conflict lowers the
// confidence to possible and a restart helps now.
func tagPushedReport() diagnosis.Report {
	r := tagNotFoundReport()
	f := &r.Findings[0]
	f.Confidence = diagnosis.Possible
	f.Summary = "ECR has " + apiImage + " now, but the node got `not found`: the image was most likely pushed after the last pull attempt."
	f.RestartHelps = diagnosis.RestartAdvice{Helps: true, Reason: "the image exists now, so a new pod pulls it at once instead of waiting out the back-off"}
	return r
}

// mixedReport: one container a restart helps, one it does not (Docker Hub's rate limit).
func mixedReport() diagnosis.Report {
	r := tagNotFoundReport()
	r.Findings = append(r.Findings, diagnosis.Finding{
		Container:     "statsd-exporter",
		ContainerKind: diagnosis.KindRegular,
		Image:         "prom/statsd-exporter:v0.27.2",
		Cause:         diagnosis.CauseRateLimited,
		Confidence:    diagnosis.Likely,
		Summary:       "Docker Hub refused the pull: the node's public IP has used up the anonymous pull limit.",
		Evidence:      []string{`Warning Failed (x6): 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. <https://www.docker.com/increase-rate-limit|more> <!here>`},
		RestartHelps:  diagnosis.RestartAdvice{Helps: false, Reason: "A new pod pulls from the same IP address and hits the same limit until the window resets."},
		Check:         "rate-limited",
	})
	return r
}

// cronJobReport: an init container of a CronJob pod; CronJobs are not restarted.
func cronJobReport() diagnosis.Report {
	const img = "444455556666.dkr.ecr.us-west-2.amazonaws.com/platform/config-fetcher:3.2.0"
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "batch", Name: "nightly-report-29134560-7xk2q"},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseKMSDenied,
		Workload: &diagnosis.Workload{Kind: "CronJob", Name: "nightly-report"},
		Findings: []diagnosis.Finding{{
			Container:     "fetch-config",
			ContainerKind: diagnosis.KindInit,
			Image:         img,
			Cause:         diagnosis.CauseKMSDenied,
			Confidence:    diagnosis.Likely,
			Summary:       "The KMS key of platform/config-fetcher is disabled.",
			Evidence:      []string{"kms:DescribeKey: key state Disabled"},
			Fixes:         []diagnosis.Fix{{Title: "Enable the key", Commands: []string{"aws kms enable-key --key-id 1234abcd-12ab-34cd-56ef-1234567890ab"}}},
			RestartHelps:  diagnosis.RestartAdvice{Helps: true, Reason: "once the key is usable again, a new pod pulls at once"},
			Check:         "kms-denied",
		}},
	}
}

func healthyReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "payments", Name: apiPod},
		Status:   diagnosis.StatusHealthy,
		Cause:    diagnosis.CauseNone,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "payments-api"},
	}
}

// sandboxReport: the pod's pause image cannot be pulled.
func sandboxReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "payments", Name: apiPod},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseRegistryUnreachable,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "payments-api"},
		Findings: []diagnosis.Finding{{
			Container:     "(sandbox)",
			ContainerKind: diagnosis.KindSandbox,
			Image:         "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
			Cause:         diagnosis.CauseRegistryUnreachable,
			Confidence:    diagnosis.Likely,
			Summary:       "The node cannot reach 602401143452.dkr.ecr.us-west-2.amazonaws.com: dial tcp 52.94.1.1:443: i/o timeout.",
			Evidence:      []string{`Warning FailedCreatePodSandBox: failed to get sandbox image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10": dial tcp 52.94.1.1:443: i/o timeout`},
			RestartHelps:  diagnosis.RestartAdvice{Helps: true, Reason: "once the network path works, a new pod pulls at once instead of waiting out the back-off (up to 5 minutes)"},
			Check:         "registry-unreachable",
		}},
	}
}

// longReport has more than a message can hold: many containers, long evidence, long
// commands, many skipped checks.
func longReport() diagnosis.Report {
	r := credentialsReport()
	r.Cause = diagnosis.CauseTagNotFound
	long := strings.Repeat("containerd says: failed to resolve reference & <retry> ", 12)
	var findings []diagnosis.Finding
	for i := range 7 {
		f := tagNotFoundReport().Findings[0]
		f.Container = fmt.Sprintf("worker-%d", i)
		f.Summary = strings.Repeat("The tag does not exist. ", 80)
		for j := range 6 {
			f.Evidence = append(f.Evidence, fmt.Sprintf("evidence %d: %s", j, long))
		}
		f.Fixes = append(f.Fixes,
			diagnosis.Fix{Title: "Re-tag the digest", Commands: []string{strings.Repeat("aws ecr put-image --image-tag 1.8.2 --image-manifest \"$MANIFEST\" ", 60)}},
			diagnosis.Fix{Title: "Inspect", Commands: []string{"kubectl -n payments get pods -o json | jq '.items[] | select(.status.phase != \"Running\")'"}},
		)
		f.Notes = []string{"NetworkPolicy does not apply: the node pulls images, not the pod."}
		findings = append(findings, f)
	}
	r.Findings = findings
	for i := range 12 {
		r.Skipped = append(r.Skipped, diagnosis.Skip{Check: fmt.Sprintf("check-%d", i), Reason: "AccessDenied", Needs: "ecr:DescribeImages on arn:aws:ecr:us-west-2:111122223333:repository/payments/api"})
	}
	return r
}

// scanReports are the failing pods of a namespace scan.
func scanReports(n int) []diagnosis.Report {
	var out []diagnosis.Report
	for i := range n {
		var r diagnosis.Report
		switch i % 3 {
		case 0:
			r = tagNotFoundReport()
		case 1:
			r = credentialsReport()
		default:
			r = mixedReport()
		}
		r.Pod.Name = fmt.Sprintf("payments-api-7d9f8b6c4-%05d", i)
		out = append(out, r)
	}
	return out
}

// Fakes of the engine and the Restarter: small structs with func fields.

type fakeDiagnoser struct {
	diagnose func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)
}

func (f fakeDiagnoser) Diagnose(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
	return f.diagnose(ctx, ref)
}

type fakeScanner struct {
	scan func(ctx context.Context, namespace string) ([]diagnosis.Report, error)
}

func (f fakeScanner) Scan(ctx context.Context, namespace string) ([]diagnosis.Report, error) {
	return f.scan(ctx, namespace)
}

// fakeRestarter counts Restart calls and keeps Restarter's contract: one restart per offer
// ID, later calls get the first result with Already=true.
type fakeRestarter struct {
	restart func(ctx context.Context, t RestartTarget) (RestartResult, error)
	follow  func(ctx context.Context, t RestartTarget, progress func(RolloutUpdate)) (RolloutUpdate, error)

	mu      sync.Mutex
	calls   []RestartTarget
	results map[string]RestartResult
}

func (f *fakeRestarter) Restart(ctx context.Context, t RestartTarget) (RestartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, t)
	if r, ok := f.results[t.OfferID]; ok {
		r.Already = true
		return r, nil
	}
	r := RestartResult{RestartedAt: testNow}
	if f.restart != nil {
		var err error
		if r, err = f.restart(ctx, t); err != nil {
			return RestartResult{}, err
		}
	}
	if f.results == nil {
		f.results = map[string]RestartResult{}
	}
	f.results[t.OfferID] = r
	return r, nil
}

func (f *fakeRestarter) Follow(ctx context.Context, t RestartTarget, progress func(RolloutUpdate)) (RolloutUpdate, error) {
	if f.follow == nil {
		return RolloutUpdate{Done: true, Desired: 3, Updated: 3, Ready: 3}, nil
	}
	return f.follow(ctx, t, progress)
}

func (f *fakeRestarter) restartCalls() []RestartTarget {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RestartTarget(nil), f.calls...)
}
