package render

import "github.com/pullcheck/pullcheck/diagnosis"

// The fixtures are built by functions so that every test gets its own copy and can check
// that rendering does not modify it.

const apiImage = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"

// failingReport is a pod with two failing containers: an ECR tag that does not exist, and
// a Docker Hub image hitting the anonymous rate limit.
func failingReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "payments", Name: "payments-api-7d9f8b6c4-x2k9p"},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseTagNotFound,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "payments-api"},
		Node:     "ip-10-0-12-34.us-west-2.compute.internal",
		Source:   "context arn:aws:eks:us-west-2:111122223333:cluster/prod-eks",
		Findings: []diagnosis.Finding{
			{
				Container:     "api",
				ContainerKind: diagnosis.KindRegular,
				Image:         apiImage,
				Cause:         diagnosis.CauseTagNotFound,
				Confidence:    diagnosis.Confirmed,
				Summary: "The tag 1.8.2 does not exist in the ECR repository payments/api " +
					"(account 111122223333, us-west-2). The repository exists and holds other tags, " +
					"so the reference is right up to the tag: 1.8.2 was never pushed, was expired " +
					"by a lifecycle rule, or was deleted.",
				Evidence: []string{
					`Warning Failed (x14, last 1m ago): Failed to pull image "` + apiImage + `": ` +
						`rpc error: code = NotFound desc = failed to pull and unpack image "` + apiImage + `": ` +
						`failed to resolve reference "` + apiImage + `": ` + apiImage + `: not found`,
					"ECR DescribeImages for imageTag=1.8.2 returned ImageNotFoundException; " +
						"DescribeRepositories found payments/api.",
					"The lifecycle policy of payments/api expires tagged images beyond the newest 30 " +
						"(rule 1, countType imageCountMoreThan).",
				},
				Fixes: []diagnosis.Fix{
					{
						Title: "Point the deployment at a tag that exists (1.8.1 is the newest)",
						Commands: []string{
							"kubectl -n payments set image deployment/payments-api api=111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.1",
						},
					},
					{
						Title: "Re-tag the digest that 1.8.2 was built from, without a rebuild",
						Commands: []string{
							"MANIFEST=$(aws ecr batch-get-image --region us-west-2 --registry-id 111122223333 --repository-name payments/api \\\n" +
								"  --image-ids imageDigest=sha256:4feaecf0df9a7319becc808f8c78d3498dcab3fde3dc0270ad6486c0cc001216 \\\n" +
								"  --query 'images[0].imageManifest' --output text)",
							`aws ecr put-image --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-tag 1.8.2 --image-manifest "$MANIFEST"`,
						},
					},
					{
						Title: "Keep release tags out of the lifecycle rule, and preview the new policy before applying it",
						Commands: []string{
							"aws ecr start-lifecycle-policy-preview --region us-west-2 --registry-id 111122223333 --repository-name payments/api --lifecycle-policy-text file://lifecycle-policy.json",
						},
					},
				},
				Verify: "aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.2 --query 'imageDetails[0].[imageDigest,imageStatus]' --output text",
				RestartHelps: diagnosis.RestartAdvice{
					Helps:  true,
					Reason: "A new pod pulls at once instead of waiting out the kubelet's back-off, which grows to 5 minutes.",
				},
				Notes: []string{
					"An imagePullSecret would not help: the registry answered 404 Not Found, not 401, so the node role's credentials were accepted.",
					"NetworkPolicy does not apply: the node pulls images, not the pod.",
				},
				Check: "not-found",
			},
			{
				Container:     "statsd-exporter",
				ContainerKind: diagnosis.KindRegular,
				Image:         "prom/statsd-exporter:v0.27.2",
				Cause:         diagnosis.CauseRateLimited,
				Confidence:    diagnosis.Likely,
				Summary:       "Docker Hub refused the pull: the node's public IP has used up the anonymous pull limit.",
				Evidence: []string{
					`Warning Failed (x6): Failed to pull image "prom/statsd-exporter:v0.27.2": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/prom/statsd-exporter/manifests/sha256:9a1f3c7e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a: 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit`,
					"3 other pods on nodes behind the same NAT gateway fail on docker.io images.",
				},
				Fixes: []diagnosis.Fix{
					{
						Title: "Pull Docker Hub images through an ECR pull-through cache",
						Commands: []string{
							"aws ecr create-pull-through-cache-rule --region us-west-2 --ecr-repository-prefix docker-hub --upstream-registry-url registry-1.docker.io --credential-arn arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf",
							"kubectl -n payments set image deployment/payments-api statsd-exporter=111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/prom/statsd-exporter:v0.27.2",
						},
					},
				},
				Verify: "kubectl -n payments get events --field-selector involvedObject.name=payments-api-7d9f8b6c4-x2k9p,reason=Pulled",
				RestartHelps: diagnosis.RestartAdvice{
					Helps:  false,
					Reason: "A new pod pulls from the same IP address and hits the same limit until the window resets.",
				},
				Alternatives: []diagnosis.Cause{diagnosis.CauseRegistryUnreachable},
				Check:        "rate-limited",
			},
		},
	}
}

// initReport is a CronJob pod whose init container is denied a cross-account ECR pull,
// collected without permission to read secrets.
func initReport() diagnosis.Report {
	const img = "444455556666.dkr.ecr.us-west-2.amazonaws.com/platform/config-fetcher:3.2.0"
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "batch", Name: "nightly-report-29134560-7xk2q"},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseAccessDenied,
		Workload: &diagnosis.Workload{Kind: "CronJob", Name: "nightly-report"},
		Node:     "ip-10-0-40-7.us-west-2.compute.internal",
		Source:   "context prod-eks",
		Findings: []diagnosis.Finding{{
			Container:     "fetch-config",
			ContainerKind: diagnosis.KindInit,
			Image:         img,
			Cause:         diagnosis.CauseAccessDenied,
			Confidence:    diagnosis.Likely,
			Summary: "The node role arn:aws:iam::111122223333:role/eks-ng-general-node may not pull from " +
				"platform/config-fetcher in account 444455556666. A cross-account pull needs a repository " +
				"policy in 444455556666 that allows the node role.",
			Evidence: []string{
				`Warning Failed (x9): Failed to pull image "` + img + `": rpc error: code = Unknown desc = ` +
					`failed to pull and unpack image "` + img + `": failed to resolve reference "` + img + `": ` +
					`unexpected status from HEAD request to https://444455556666.dkr.ecr.us-west-2.amazonaws.com/v2/platform/config-fetcher/manifests/3.2.0: 403 Forbidden`,
				"The registry account 444455556666 is not the cluster's account 111122223333.",
			},
			Fixes: []diagnosis.Fix{{
				Title: "Allow the node role in the repository policy of platform/config-fetcher (run with credentials of account 444455556666)",
				Commands: []string{
					"aws ecr get-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/config-fetcher --query policyText --output text > current.json",
					`jq '.Statement += [{"Sid":"AllowEksNodePull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-node"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]' current.json > new.json`,
					"aws ecr set-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/config-fetcher --policy-text file://new.json",
				},
			}},
			Verify: `aws ecr get-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/config-fetcher --query policyText --output text | jq '.Statement[] | select(.Principal.AWS | tostring | contains("eks-ng-general-node"))'`,
			RestartHelps: diagnosis.RestartAdvice{
				Helps:  false,
				Reason: "The kubelet keeps retrying the init container's pull; the pod starts at the next attempt once the policy allows the node role.",
			},
			Notes: []string{
				"IRSA (eks.amazonaws.com/role-arn on service account nightly-report) does not affect image pulls: the kubelet pulls with the node role.",
			},
			Alternatives: []diagnosis.Cause{diagnosis.CauseEndpointPolicyDenied, diagnosis.CauseKMSDenied},
			Check:        "access-denied",
		}},
		Skipped: []diagnosis.Skip{
			{Check: "pull-secret", Reason: "reading secrets in namespace batch is forbidden", Needs: "get secrets in namespace batch"},
			{Check: "related-pods", Reason: "listing pods cluster-wide is forbidden; only namespace batch was counted", Needs: "list pods cluster-wide"},
			{Check: "node", Reason: "the node was deleted before it could be read"},
		},
	}
}

// sandboxReport is a pod whose sandbox (pause) image cannot be pulled: the node has no
// route to ECR.
func sandboxReport() diagnosis.Report {
	const img = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "data", Name: "ingest-worker-5f7d8c9b6-2lq8w"},
		Status:   diagnosis.StatusFailing,
		Cause:    diagnosis.CauseRegistryUnreachable,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "ingest-worker"},
		Node:     "ip-10-2-7-19.us-west-2.compute.internal",
		Source:   "file ./ingest-worker.yaml",
		Findings: []diagnosis.Finding{{
			Container:     "(sandbox)",
			ContainerKind: diagnosis.KindSandbox,
			Image:         img,
			Cause:         diagnosis.CauseRegistryUnreachable,
			Confidence:    diagnosis.Likely,
			Summary: "The node cannot reach ECR to pull the sandbox (pause) image, so no container of the pod " +
				"can start. The connection to the registry timed out: the node's subnet has neither a NAT " +
				"route nor VPC endpoints for ECR.",
			Evidence: []string{
				`Warning FailedCreatePodSandBox (x31): Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "` + img + `": failed to pull image "` + img + `": failed to pull and unpack image "` + img + `": failed to resolve reference "` + img + `": failed to do request: Head "https://602401143452.dkr.ecr.us-west-2.amazonaws.com/v2/eks/pause/manifests/3.10": dial tcp 52.94.228.178:443: i/o timeout`,
				"The node runs containerd://1.7.27; its sandbox image is not pre-cached.",
			},
			Fixes: []diagnosis.Fix{
				{
					Title: "Check that the VPC has interface endpoints for ecr.api and ecr.dkr and a gateway endpoint for S3",
					Commands: []string{
						"aws ec2 describe-vpc-endpoints --region us-west-2 --filters Name=vpc-id,Values=vpc-0a1b2c3d4e5f67890 --query 'VpcEndpoints[].[ServiceName,VpcEndpointType,State]' --output table",
					},
				},
				{
					Title: "Or check that the node's subnet routes 0.0.0.0/0 to a NAT gateway",
					Commands: []string{
						"aws ec2 describe-route-tables --region us-west-2 --filters Name=association.subnet-id,Values=subnet-0c1d2e3f4a5b6c7d8 --query 'RouteTables[].Routes[]' --output table",
					},
				},
			},
			Verify: "kubectl -n data get events --field-selector involvedObject.name=ingest-worker-5f7d8c9b6-2lq8w,reason=FailedCreatePodSandBox",
			RestartHelps: diagnosis.RestartAdvice{
				Helps:  false,
				Reason: "The sandbox image is pulled once per node: a new pod on the same node fails the same way. Cordon the node or fix its network path.",
			},
			Check: "registry-unreachable",
		}},
	}
}

// healthyReport is a pod without an image-pull problem; its lists are nil, as the engine
// leaves them.
func healthyReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "payments", Name: "web-6b8d9c7f5-q4w2e"},
		Status:   diagnosis.StatusHealthy,
		Cause:    diagnosis.CauseNone,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: "web"},
		Node:     "ip-10-0-12-34.us-west-2.compute.internal",
		Source:   "context prod-eks",
	}
}

// sparseReport has a finding whose lists are all nil.
func sparseReport() diagnosis.Report {
	return diagnosis.Report{
		Pod:    diagnosis.PodRef{Namespace: "default", Name: "debug"},
		Status: diagnosis.StatusFailing,
		Cause:  diagnosis.CauseUnknown,
		Findings: []diagnosis.Finding{{
			Container:     "debug",
			ContainerKind: diagnosis.KindEphemeral,
			Image:         "busybox",
			Cause:         diagnosis.CauseUnknown,
			Confidence:    diagnosis.Possible,
			Fixes:         []diagnosis.Fix{{Title: "Describe the pod"}},
		}},
	}
}

// fixtures are all the single-report fixtures by name.
func fixtures() []struct {
	name   string
	report diagnosis.Report
} {
	return []struct {
		name   string
		report diagnosis.Report
	}{
		{"failing", failingReport()},
		{"init_skipped", initReport()},
		{"sandbox", sandboxReport()},
		{"healthy", healthyReport()},
		{"sparse", sparseReport()},
	}
}

// replicaReport is another replica of the deployment of failingReport, failing on the
// same tag.
func replicaReport() diagnosis.Report {
	r := failingReport()
	r.Pod.Name = "payments-api-7d9f8b6c4-m5n6b"
	r.Node = "ip-10-0-77-201.us-west-2.compute.internal"
	r.Findings = r.Findings[:1]
	return r
}

func scanReports() []diagnosis.Report {
	return []diagnosis.Report{failingReport(), replicaReport(), healthyReport(), initReport(), sandboxReport()}
}
