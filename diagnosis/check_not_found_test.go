package diagnosis

import (
	"testing"

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
