package diagnosis

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestCheckNotFound(t *testing.T) {
	digestImage := "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api@" + tDigest
	const ptc = "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27"
	const east = "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.8.2"
	const public = "public.ecr.aws/aws-containers/retail-store-sample-ui:0.4.0"
	lastRan := func(f *Facts) {
		st := statusOf(f, KindRegular, "api")
		st.Image = tPrevImage
		st.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}
	}
	runCheckCases(t, checkNotFound, []checkCase{
		{
			// containerd's HEAD 404 (DOMAIN §3.3, C04/C05): repository and tag look the same.
			name:  "ECR not found",
			facts: newFacts(pullFailed("api", notFoundErr(ecrImage))),
			cause: CauseTagNotFound, conf: Possible,
			says: []string{"the tag (or digest) 1.8.2 or the repository 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api does not exist"},
			fixes: []string{
				"aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.2",
				"aws ecr get-lifecycle-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api",
				"aws ecr update-image-storage-class --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-id imageTag=1.8.2 --target-storage-class STANDARD",
				"kubectl -n payments get replicasets -l app=payments-api",
			},
			notes:   []string{"only the registry's API tells them apart"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "v1.32 waiting message, events expired",
			facts: newFacts(backOff132("api", notFoundErr(ecrImage))),
			cause: CauseTagNotFound, conf: Possible,
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "ECR body: repository unknown (CRI-O)",
			facts: newFacts(pullFailed("api", "initializing source docker://"+ecrImage+": reading manifest 1.8.2 in 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api: name unknown: The repository with name 'payments/api' does not exist in the registry with id '111122223333'")),
			cause: CauseRepositoryNotFound, conf: Confirmed,
			says:    []string{"The repository payments/api does not exist in 111122223333.dkr.ecr.us-west-2.amazonaws.com"},
			restart: true,
		},
		{
			name:  "ECR body: manifest unknown (CRI-O)",
			facts: newFacts(pullFailed("api", "initializing source docker://"+ecrImage+": reading manifest 1.8.2 in 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api: manifest unknown: Requested image not found")),
			cause: CauseTagNotFound, conf: Confirmed,
			restart: true,
		},
		{
			name:  "pinned digest",
			facts: newFacts(withImage("api", digestImage), pullFailed("api", notFoundErr(digestImage))),
			cause: CauseTagNotFound, conf: Possible,
			fixes:    []string{"--image-ids imageDigest=" + tDigest},
			notFixes: []string{"update-image-storage-class", "imageTag="},
			notes:    []string{"pinned by digest"},
			alts:     []Cause{CauseRepositoryNotFound},
			restart:  true,
		},
		{
			name:  "pull-through cache repository",
			facts: newFacts(withImage("api", ptc), pullFailed("api", notFoundErr(ptc))),
			cause: CauseTagNotFound, conf: Possible,
			notes:   []string{"pull-through cache repository (prefix docker-hub)", "ecr:BatchImportUpstreamImage"},
			alts:    []Cause{CauseRepositoryNotFound, CausePullThroughCache},
			restart: true,
		},
		{
			name:  "image in another region than the node",
			facts: newFacts(withImage("api", east), pullFailed("api", notFoundErr(east))),
			cause: CauseTagNotFound, conf: Possible,
			says:    []string{"the image is in region us-east-1, the node in us-west-2"},
			fixes:   []string{"--region us-east-1 --registry-id 111122223333"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "new tag, the old one ran",
			facts: newFacts(pullFailed("api", notFoundErr(ecrImage)), lastRan),
			cause: CauseTagNotFound, conf: Possible,
			fixes:   []string{"kubectl -n payments set image deployment/payments-api api=" + tPrevImage},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:      "init container",
			facts:     newFacts(pullFailed("migrate", notFoundErr(tMigrate))),
			container: "migrate",
			cause:     CauseTagNotFound, conf: Possible,
			fixes:   []string{"--repository-name payments/migrate --image-ids imageTag=1.8.2", "IMAGES:.spec.template.spec.initContainers[*].image"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			// eks-workshop public_image.md@bb1b300.
			name:  "ECR Public",
			facts: newFacts(withImage("api", public), pullFailed("api", notFoundErr(public))),
			cause: CauseTagNotFound, conf: Possible,
			notFixes: []string{"aws ecr describe-images"},
			alts:     []Cause{CauseRepositoryNotFound},
			restart:  true,
		},
		{
			name:  "Docker Hub 404: the repository exists, the tag does not",
			facts: newFacts(withImage("api", "nginx:1.99"), pullFailed("api", notFoundErr("docker.io/library/nginx:1.99"))),
			cause: CauseTagNotFound, conf: Likely,
			says:    []string{"Docker Hub has the repository library/nginx but no tag 1.99"},
			restart: true,
		},
		{
			// api:1.8.2 is docker.io/library/api:1.8.2, and docker.io/library holds only
			// Docker's public official images: insufficient_scope there means no such
			// repository; the image was meant to carry its registry host (DOMAIN C06, §8).
			name:  "short name resolves to a Docker Hub official image that does not exist",
			facts: newFacts(withImage("api", "api:1.8.2"), pullFailed("api", insufficientScopeErr("docker.io/library/api:1.8.2"))),
			cause: CauseRepositoryNotFound, conf: Likely,
			says:  []string{`"api:1.8.2"`, "docker.io/library/api:1.8.2", "registry host"},
			fixes: []string{`kubectl -n payments get deployment/payments-api -o 'jsonpath={.spec.template.spec.containers[?(@.name=="api")].image}'`},
		},
		{
			name:  "layer blob gone",
			facts: newFacts(withImage("api", "acme/app:2"), pullFailed("api", `failed to pull and unpack image "docker.io/acme/app:2": failed to copy: httpReadSeeker: failed open: content at https://registry-1.docker.io/v2/acme/app/blobs/sha256:9f8e not found: not found`)),
			cause: CauseTagNotFound, conf: Possible,
			restart: true,
		},
		{
			name:  "StatefulSet: no Deployment revisions",
			facts: newFacts(ownedBy("StatefulSet", "payments-api"), pullFailed("api", notFoundErr(ecrImage))),
			cause: CauseTagNotFound, conf: Possible,
			notFixes: []string{"replicasets"},
			alts:     []Cause{CauseRepositoryNotFound},
			restart:  true,
		},
		{name: "private Docker Hub repository belongs to pull-secret", facts: newFacts(withImage("api", "acme/private-api:2.0"), pullFailed("api", insufficientScopeErr("docker.io/acme/private-api:2.0"))), wantNil: true},
		{name: "platform mismatch also ends in not found", facts: newFacts(pullFailed("api", "rpc error: code = NotFound desc = failed to pull and unpack image \""+ecrImage+"\": no match for platform in manifest: not found")), wantNil: true},
		{name: "403", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))), wantNil: true},
	})
}

// TestCheckNotFoundECREvidence: the ECR API tells apart what containerd's bare `not found`
// cannot (DOMAIN C04, C05, C15): a missing repository, a pull-through cache that could not
// create it, an archived tag, an expired tag, and an image pushed since the failure.
func TestCheckNotFoundECREvidence(t *testing.T) {
	const ptc = "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27"
	const ptcNoLibrary = "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/nginx:1.27"
	digestImage := "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api@" + tDigest
	hubRule := &PullThroughCacheRule{Prefix: "docker-hub", UpstreamURL: "registry-1.docker.io",
		CredentialARN: "arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf"}
	notFound := func(image string, ev ECRImageEvidence, mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){withImage("api", image), pullFailed("api", notFoundErr(image)), withECR(image, ev)}, mods...)...)
	}
	expireRule := &LifecycleRule{Priority: 1, Description: "keep the last 10 release images", TagStatus: "tagged", TagPrefixes: []string{"1."},
		CountType: "imageCountMoreThan", CountNumber: 10, Action: "expire"}
	runCheckCases(t, checkNotFound, []checkCase{
		{
			name:  "repository does not exist",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: No, ImageExists: No}),
			cause: CauseRepositoryNotFound, conf: Confirmed,
			says: []string{"ECR (account 111122223333, region us-west-2) has no repository payments/api",
				"ecr:DescribeRepositories (account 111122223333, region us-west-2): RepositoryNotFoundException for payments/api"},
			firstFix: "aws ecr create-repository --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-tag-mutability IMMUTABLE",
			fixes: []string{
				"aws ecr get-login-password --region us-west-2 | docker login --username AWS --password-stdin 111122223333.dkr.ecr.us-west-2.amazonaws.com",
				"docker push " + ecrImage,
			},
			notFixes: []string{"aws ecr describe-images"},
			restart:  true,
		},
		{
			name: "pull-through cache repository never created: the role may not create or import",
			facts: notFound(ptc, ECRImageEvidence{RepositoryExists: No, PullThroughCache: hubRule},
				nodeRole(allowed("ecr:BatchImportUpstreamImage", "implicitDeny", "ecr:CreateRepository", "implicitDeny"))),
			cause: CausePullThroughCache, conf: Confirmed,
			says: []string{
				"docker-hub/library/nginx is a pull-through cache repository (rule docker-hub -> registry-1.docker.io) that was never created",
				"could not import library/nginx",
				"The pulling role may not call ecr:CreateRepository or ecr:BatchImportUpstreamImage",
				"iam:SimulatePrincipalPolicy for " + tRoleName + ": ecr:CreateRepository, ecr:BatchImportUpstreamImage denied on arn:aws:ecr:us-west-2:111122223333:repository/docker-hub/library/nginx",
			},
			firstFix: "aws iam put-role-policy --role-name " + tRoleName + " --policy-name ecr-pull-through-cache-docker-hub",
			fixes:    []string{`"Action":["ecr:BatchImportUpstreamImage","ecr:CreateRepository"],"Resource":"arn:aws:ecr:us-west-2:111122223333:repository/docker-hub/*"`},
			notFixes: []string{"aws ecr create-repository"},
			restart:  true,
		},
		{
			name:  "pull-through cache repository never created: only CreateRepository denied",
			facts: notFound(ptc, ECRImageEvidence{RepositoryExists: No, PullThroughCache: hubRule}, nodeRole(allowed())),
			cause: CausePullThroughCache, conf: Confirmed,
			says:     []string{"The pulling role may not call ecr:CreateRepository."},
			firstFix: "aws iam put-role-policy --role-name " + tRoleName,
			restart:  true,
		},
		{
			// The role may create and import: the official image lacks library/ in its path.
			name: "pull-through cache: official image without library/",
			facts: notFound(ptcNoLibrary, ECRImageEvidence{RepositoryExists: No, PullThroughCache: hubRule},
				nodeRole(allowed("ecr:CreateRepository", "allowed"))),
			cause: CausePullThroughCache, conf: Likely,
			says:     []string{"pull-through cache rule docker-hub -> registry-1.docker.io", "Docker Hub official images need the library/ path"},
			notFixes: []string{"put-role-policy", "create-repository"},
			restart:  true,
		},
		{
			name:  "pull-through cache, the pulling role unknown",
			facts: notFound(ptc, ECRImageEvidence{RepositoryExists: No, PullThroughCache: hubRule}),
			cause: CausePullThroughCache, conf: Likely,
			notFixes: []string{"put-role-policy"},
			restart:  true,
		},
		{
			// Archived images stay listed but 404 (DOMAIN C05.3): restore first.
			name:  "tag archived",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, ImageStatus: "ARCHIVED", PushedAt: ago(400 * 24 * time.Hour)}),
			cause: CauseTagNotFound, conf: Confirmed,
			says:     []string{ecrImage + " is archived in ECR", "ecr:DescribeImages (account 111122223333, region us-west-2): 1.8.2 has imageStatus ARCHIVED"},
			firstFix: "aws ecr update-image-storage-class --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-id imageTag=1.8.2 --target-storage-class STANDARD",
			fixes:    []string{"--image-ids imageTag=1.8.2 --query 'imageDetails[0].imageStatus' --output text"},
			restart:  true,
		},
		{
			name:  "digest archived",
			facts: notFound(digestImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, ImageStatus: "ARCHIVED"}),
			cause: CauseTagNotFound, conf: Confirmed,
			firstFix: "--image-id imageDigest=" + tDigest + " --target-storage-class STANDARD",
			notFixes: []string{"imageTag="},
			notes:    []string{"pinned by digest"},
			restart:  true,
		},
		{
			// Restoring again does not help an image already being restored.
			name:  "tag being restored from the archive",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, ImageStatus: "ACTIVATING"}),
			cause: CauseTagNotFound, conf: Confirmed,
			says:     []string{"being restored from ECR's archive (imageStatus ACTIVATING)"},
			firstFix: "aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.2 --query 'imageDetails[0].imageStatus'",
			notFixes: []string{"update-image-storage-class"},
			restart:  true,
		},
		{
			name: "tag gone, expired by a lifecycle rule; other tags exist",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: No,
				RecentTags: []string{"1.8.1", "1.8.0", "1.7.9"}, ExpiringRule: expireRule}),
			cause: CauseTagNotFound, conf: Confirmed,
			says: []string{
				"The ECR repository payments/api exists, but has no image 1.8.2",
				"ecr:DescribeImages (account 111122223333, region us-west-2): ImageNotFoundException for 1.8.2 in payments/api",
				"tags that do exist in payments/api: 1.8.1, 1.8.0, 1.7.9",
				`lifecycle rule 1 ("keep the last 10 release images") expires tagged images matching 1. by imageCountMoreThan 10: an image like this one may have been deleted by it`,
			},
			fixes:    []string{"kubectl -n payments set image deployment/payments-api api=111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.1", "(1.8.1 is the highest)"},
			notFixes: []string{"aws ecr describe-images", "create-repository"},
			notes:    []string{"sinceImagePulled", "aws ecr start-lifecycle-policy-preview"},
			restart:  true,
		},
		{
			name: "tag gone, rule counts days",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: No, ExpiringRule: &LifecycleRule{Priority: 3, Description: "drop old builds",
				TagStatus: "any", CountType: "sinceImagePushed", CountNumber: 30, CountUnit: "days", Action: "expire"}}),
			cause: CauseTagNotFound, conf: Confirmed,
			says:     []string{`lifecycle rule 3 ("drop old builds") expires any images by sinceImagePushed 30 days`},
			notFixes: []string{"set image"},
			restart:  true,
		},
		{
			// A transition rule archives instead of deleting; it does not explain a missing tag.
			name: "tag gone, the matching rule only transitions",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: No, ExpiringRule: &LifecycleRule{Priority: 2, TagStatus: "tagged",
				CountType: "sinceImagePulled", CountNumber: 90, CountUnit: "days", Action: "transition"}}),
			cause: CauseTagNotFound, conf: Confirmed,
			says:    []string{"ImageNotFoundException for 1.8.2"},
			restart: true,
		},
		{
			name:  "pinned digest deleted",
			facts: notFound(digestImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: No, RecentTags: []string{"1.8.2"}}),
			cause: CauseTagNotFound, conf: Confirmed,
			says:    []string{"no longer has the image " + tDigest + " that the pod is pinned to"},
			fixes:   []string{"api=111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"},
			notes:   []string{"untagged"},
			restart: true,
		},
		{
			name:  "tag gone from a pull-through cache repository",
			facts: notFound(ptc, ECRImageEvidence{RepositoryExists: Yes, ImageExists: No, PullThroughCache: hubRule}),
			cause: CauseTagNotFound, conf: Confirmed,
			alts:    []Cause{CausePullThroughCache},
			restart: true,
		},
		{
			// The kubelet saw not found; the API finds the image now (CI or replication lag).
			name:  "image exists now",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, ImageStatus: "ACTIVE", PushedAt: ago(3 * time.Minute)}),
			cause: CauseTagNotFound, conf: Possible,
			says: []string{"ECR has " + ecrImage + " now", "A new pull should succeed",
				"conflict: ecr:DescribeImages (account 111122223333, region us-west-2) finds 1.8.2 (status ACTIVE, pushed 2026-08-22T09:57:00Z) while the kubelet reports not found"},
			restart: true,
		},
		{
			// No push time: the evidence must not claim year 1.
			name:  "image exists now, push time unknown",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes}),
			cause: CauseTagNotFound, conf: Possible,
			says:    []string{"conflict: ecr:DescribeImages (account 111122223333, region us-west-2) finds 1.8.2 while the kubelet reports not found"},
			restart: true,
		},
		{
			// DescribeImages failed but the repository is there: the tag is the problem, and
			// the commands that tell a missing tag from an archived one stay.
			name:  "repository exists, image lookup skipped",
			facts: notFound(ecrImage, ECRImageEvidence{RepositoryExists: Yes}),
			cause: CauseTagNotFound, conf: Likely,
			says: []string{"The ECR repository payments/api exists, but the registry answered `not found`",
				"ecr:DescribeRepositories (account 111122223333, region us-west-2): the repository payments/api exists"},
			fixes:   []string{"aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.2", "update-image-storage-class"},
			restart: true,
		},
		{
			// The adapters answered nothing: the verdict is the one without evidence.
			name:  "ECR evidence all unknown",
			facts: notFound(ecrImage, ECRImageEvidence{}),
			cause: CauseTagNotFound, conf: Possible,
			fixes:   []string{"aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.2"},
			notes:   []string{"only the registry's API tells them apart"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "cloud evidence without ECR evidence for the image",
			facts: newFacts(pullFailed("api", notFoundErr(ecrImage)), nodeRole(allowed()), withNetwork(tNAT, nil)),
			cause: CauseTagNotFound, conf: Possible,
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			// Evidence is keyed by the spec's image string: another image's evidence does not apply.
			name:  "evidence for another image",
			facts: newFacts(pullFailed("api", notFoundErr(ecrImage)), withECR(tMigrate, ECRImageEvidence{RepositoryExists: No})),
			cause: CauseTagNotFound, conf: Possible,
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
	})
}
