package cloud_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// noRepoPolicy is the verdict on a repository without a policy, for a known pulling role.
func noRepoPolicy() *diagnosis.RepositoryPolicyEvidence {
	return &diagnosis.RepositoryPolicyEvidence{Exists: false, Allows: diagnosis.No}
}

// The worked example end to end: every piece of evidence for the failing 1.8.2 pull, and
// exactly the read-only calls that gather it, each made once.
func TestWorkedExampleEvidence(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	f := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, f)

	want := &diagnosis.CloudEvidence{
		Images: map[string]*diagnosis.ImageEvidence{tMissingTag: {ECR: &diagnosis.ECRImageEvidence{
			RepositoryExists: diagnosis.Yes, EncryptionType: "AES256", ImageExists: diagnosis.No,
			RecentTags: []string{"1.8.1-multiarch", "1.8.1", "1.8.0"},
			ExpiringRule: &diagnosis.LifecycleRule{Priority: 2, Description: "keep the last 20 release images", TagStatus: "tagged",
				TagPrefixes: []string{"1."}, CountType: "imageCountMoreThan", CountNumber: 20, Action: "expire"},
			Policy: noRepoPolicy(),
		}}},
		Principal:     exampleNodePrincipal(),
		Network:       exampleNetwork(),
		CallerAccount: tAccount,
	}
	if diff := cmp.Diff(want, f.Cloud); diff != "" {
		t.Errorf("cloud evidence (-want +got):\n%s", diff)
	}
	if len(f.Skipped) > 0 {
		t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
	}
	wantCalls := map[string]int{
		"ecr:DescribeRepositories": 1, "ecr:DescribeImages": 1, "ecr:ListImages": 1, "ecr:GetLifecyclePolicy": 1,
		"ecr:GetRepositoryPolicy": 1, "ecr:DescribePullThroughCacheRules": 1, "sts:GetCallerIdentity": 1,
		"ec2:DescribeInstances": 1, "iam:GetInstanceProfile": 1, "iam:ListAttachedRolePolicies": 1, "iam:SimulatePrincipalPolicy": 1,
		"ec2:DescribeRouteTables": 1, "ec2:DescribeVpcEndpoints": 1, "ec2:DescribeSubnets": 1, "ec2:DescribeSecurityGroups": 1,
		"ec2:DescribeVpcAttribute": 2, // enableDnsSupport and enableDnsHostnames, one call each
	}
	if diff := cmp.Diff(wantCalls, counts(e.srv)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestECRRepositoryMissing(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	f := podFacts(tPod, exampleNode(t), failing("api", tNoRepo, notFoundMsg(tNoRepo)))
	e.enrich(t, f)

	want := &diagnosis.ECRImageEvidence{RepositoryExists: diagnosis.No, ImageExists: diagnosis.No}
	if diff := cmp.Diff(want, ecrOf(t, f, tNoRepo)); diff != "" {
		t.Errorf("ECR evidence (-want +got):\n%s", diff)
	}
	if len(f.Skipped) > 0 {
		t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
	}
	// Nothing else is read about a repository that does not exist.
	c := counts(e.srv)
	for _, op := range []string{"ecr:ListImages", "ecr:GetLifecyclePolicy", "ecr:BatchGetImage", "kms:DescribeKey"} {
		if c[op] != 0 {
			t.Errorf("%s called %d times for a missing repository, want 0", op, c[op])
		}
	}
}

// A missing tag: the tags that exist, highest version first (at most 8, archived ones left
// out since they cannot be pulled), and the lifecycle rule that selects the tag.
func TestECRTagMissing(t *testing.T) {
	e := newEnv(t, func(sc *awsfake.Scenario) {
		r := sc.Repository(awsfake.ExampleRepository)
		for _, tag := range []string{"1.9.0", "1.10.0", "1.10.1", "1.2.0", "1.8.10", "0.9.0"} {
			r.Images = append(r.Images, awsfake.SingleArchImage("payments-api-"+tag, "amd64", 48_000_000, awsfake.ExampleNow.Add(-72*time.Hour), tag))
		}
	}, cloud.Options{})
	f := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, f)

	got := ecrOf(t, f, tMissingTag)
	if got.RepositoryExists != diagnosis.Yes || got.ImageExists != diagnosis.No {
		t.Errorf("repository exists %v, image exists %v; want yes, no", got.RepositoryExists, got.ImageExists)
	}
	wantTags := []string{"1.10.1", "1.10.0", "1.9.0", "1.8.10", "1.8.1-multiarch", "1.8.1", "1.8.0", "1.2.0"}
	if diff := cmp.Diff(wantTags, got.RecentTags); diff != "" {
		t.Errorf("recent tags (-want +got):\n%s", diff)
	}
	wantRule := &diagnosis.LifecycleRule{Priority: 2, Description: "keep the last 20 release images", TagStatus: "tagged",
		TagPrefixes: []string{"1."}, CountType: "imageCountMoreThan", CountNumber: 20, Action: "expire"}
	if diff := cmp.Diff(wantRule, got.ExpiringRule); diff != "" {
		t.Errorf("expiring rule (-want +got):\n%s", diff)
	}
}

func TestECRLifecycleRuleByReference(t *testing.T) {
	digest := "sha256:4feaecf0df9a7319becc808f8c78d3498dcab3fde3dc0270ad6486c0cc001216"
	tests := []struct {
		name, image string
		policy      string // "" keeps the worked example's policy
		want        *diagnosis.LifecycleRule
	}{
		{
			name:  "digest pinned: the untagged rule (its tag moved on)",
			image: tRegistry + "/payments/api@" + digest,
			want: &diagnosis.LifecycleRule{Priority: 1, Description: "expire untagged images after 14 days", TagStatus: "untagged",
				CountType: "sinceImagePushed", CountNumber: 14, CountUnit: "days", Action: "expire"},
		},
		{
			name:  "a tag outside every prefix: the any rule",
			image: tRegistry + "/payments/api:2.0.0",
			want: &diagnosis.LifecycleRule{Priority: 3, Description: "archive images not pulled for 90 days", TagStatus: "any",
				CountType: "sinceImagePulled", CountNumber: 90, CountUnit: "days", Action: "transition"},
		},
		{
			name:   "no rule selects the tag",
			image:  tMissingTag,
			policy: `{"rules":[{"rulePriority":1,"description":"old builds","selection":{"tagStatus":"tagged","tagPatternList":["build-*"],"countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`,
		},
		{
			name:   "no lifecycle policy",
			image:  tMissingTag,
			policy: "none",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(sc *awsfake.Scenario) {
				switch tc.policy {
				case "":
				case "none":
					sc.Repository(awsfake.ExampleRepository).LifecyclePolicy = ""
				default:
					sc.Repository(awsfake.ExampleRepository).LifecyclePolicy = tc.policy
				}
			}, cloud.Options{})
			f := podFacts(tPod, exampleNode(t), failing("api", tc.image, notFoundMsg(tc.image)))
			e.enrich(t, f)
			got := ecrOf(t, f, tc.image)
			if got.ImageExists != diagnosis.No {
				t.Fatalf("image exists %v, want no", got.ImageExists)
			}
			if diff := cmp.Diff(tc.want, got.ExpiringRule); diff != "" {
				t.Errorf("expiring rule (-want +got):\n%s", diff)
			}
			if len(f.Skipped) > 0 {
				t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
			}
		})
	}
}

// An archived tag exists (DescribeImages lists it with imageStatus ARCHIVED) but cannot be pulled.
func TestECRArchivedTag(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	f := podFacts(tPod, exampleNode(t), failing("api", tArchived, notFoundMsg(tArchived)))
	e.enrich(t, f)

	im := image(t, awsfake.ExampleRepository, awsfake.ExampleArchivedTag)
	want := &diagnosis.ECRImageEvidence{
		RepositoryExists: diagnosis.Yes, EncryptionType: "AES256",
		ImageExists: diagnosis.Yes, ImageStatus: "ARCHIVED", ImageDigest: im.Digest, ImageTags: []string{awsfake.ExampleArchivedTag},
		PushedAt: im.PushedAt, LastPulledAt: im.LastPulledAt, SizeBytes: im.SizeInBytes, MediaType: awsfake.MediaTypeOCIManifest,
		Policy: noRepoPolicy(),
	}
	if diff := cmp.Diff(want, ecrOf(t, f, tArchived)); diff != "" {
		t.Errorf("ECR evidence (-want +got):\n%s", diff)
	}
	if len(f.Skipped) > 0 {
		t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
	}
}

// The platforms of an image index, without its attestation manifests; none for a single manifest.
func TestECRPlatforms(t *testing.T) {
	pushed := awsfake.ExampleNow.Add(-5 * 24 * time.Hour)
	list := &awsfake.Image{
		Tags: []string{"1.8.1-list"}, PushedAt: pushed, SizeInBytes: 40_000_000, ManifestMediaType: awsfake.MediaTypeDockerList,
		Manifest: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[` +
			`{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":528,"platform":{"architecture":"amd64","os":"linux"}},` +
			`{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":528,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}`,
	}
	var index *awsfake.Image
	e := newEnv(t, func(sc *awsfake.Scenario) {
		r := sc.Repository(awsfake.ExampleRepository)
		var children []*awsfake.Image
		var kept []*awsfake.Image
		for _, im := range r.Images {
			switch {
			case im.ManifestMediaType == awsfake.MediaTypeOCIIndex:
				continue // rebuilt below with an attestation manifest
			case len(im.Tags) == 0:
				children = append(children, im)
			}
			kept = append(kept, im)
		}
		// buildx adds an attestation manifest with platform unknown/unknown.
		att := awsfake.SingleArchImage("payments-api-1.8.1-multiarch-attestation", "unknown", 1_200, pushed)
		att.Platform = awsfake.Platform{OS: "unknown", Architecture: "unknown"}
		index = awsfake.IndexImage(pushed, append(children, att), awsfake.ExampleMultiArchTag)
		index.LastPulledAt = awsfake.ExampleNow.Add(-2 * time.Hour)
		r.Images = append(kept, att, index, list)
	}, cloud.Options{})

	tests := []struct {
		image string
		want  []string
	}{
		{tMultiArch, []string{"linux/amd64", "linux/arm64/v8"}},
		{tRegistry + "/payments/api:1.8.1-list", []string{"linux/amd64", "linux/arm/v7"}},
		{tExisting, nil},
	}
	var all []*diagnosis.Facts
	for i, tc := range tests {
		all = append(all, podFacts(fmt.Sprintf("%s-%d", tPod, i), exampleNode(t), failing("api", tc.image, platformMsg(tc.image))))
	}
	e.enrich(t, all...)
	for i, tc := range tests {
		got := ecrOf(t, all[i], tc.image)
		if diff := cmp.Diff(tc.want, got.Platforms); diff != "" {
			t.Errorf("%s: platforms (-want +got):\n%s", tc.image, diff)
		}
		if got.ImageExists != diagnosis.Yes || got.ImageStatus != "ACTIVE" {
			t.Errorf("%s: image exists %v, status %q; want yes, ACTIVE", tc.image, got.ImageExists, got.ImageStatus)
		}
	}
	// The index itself, in full.
	want := &diagnosis.ECRImageEvidence{
		RepositoryExists: diagnosis.Yes, EncryptionType: "AES256",
		ImageExists: diagnosis.Yes, ImageStatus: "ACTIVE", ImageDigest: index.Digest, ImageTags: []string{awsfake.ExampleMultiArchTag},
		PushedAt: index.PushedAt, LastPulledAt: index.LastPulledAt, SizeBytes: index.SizeInBytes, MediaType: awsfake.MediaTypeOCIIndex,
		Platforms: []string{"linux/amd64", "linux/arm64/v8"}, Policy: noRepoPolicy(),
	}
	if diff := cmp.Diff(want, ecrOf(t, all[0], tMultiArch)); diff != "" {
		t.Errorf("index evidence (-want +got):\n%s", diff)
	}
	// Only the two indexes are read with BatchGetImage.
	if n := counts(e.srv)["ecr:BatchGetImage"]; n != 2 {
		t.Errorf("ecr:BatchGetImage called %d times, want 2 (one per index)", n)
	}
}

// The repository's KMS key: its state, and for an enabled key whether ECR's grant for the
// repository is still there (DOMAIN C11: a revoked grant breaks pulls while the key is Enabled).
func TestECRKMSKeyState(t *testing.T) {
	otherRepo := "arn:aws:ecr:us-west-2:111122223333:repository/payments/archive"
	grants := func(gs ...awsfake.KMSGrant) func(*awsfake.Scenario) {
		return func(sc *awsfake.Scenario) { sc.KMSKey(awsfake.ExampleKMSKeyID).Grants = gs }
	}
	tests := []struct {
		name       string
		setup      func(*awsfake.Scenario)
		state      string
		grant      diagnosis.Tri
		grantID    string
		grants     int
		listGrants int // kms:ListGrants calls
	}{
		{name: "enabled, ECR's grant in place", state: "Enabled", grant: diagnosis.Yes, grantID: awsfake.ExampleKMSGrantID, grants: 1, listGrants: 1},
		{name: "enabled, ECR's grant revoked", setup: grants(), state: "Enabled", grant: diagnosis.No, listGrants: 1},
		{
			// The key serves another repository too: its grant does not cover this one.
			name:  "enabled, only another repository's grant",
			setup: grants(awsfake.ECRGrant("2a00", tRegion, otherRepo, awsfake.ExampleNow)),
			state: "Enabled", grant: diagnosis.No, grants: 1, listGrants: 1,
		},
		{
			name: "enabled, a grant to ECR without Decrypt",
			setup: func(sc *awsfake.Scenario) {
				g := awsfake.ECRGrant("2b00", tRegion, tLedgerRepoARN, awsfake.ExampleNow)
				g.Operations = []string{"GenerateDataKey", "DescribeKey"}
				grants(g)(sc)
			},
			state: "Enabled", grant: diagnosis.No, grants: 1, listGrants: 1,
		},
		{
			name: "enabled, a grant for the repository to someone else",
			setup: func(sc *awsfake.Scenario) {
				g := awsfake.ECRGrant("2c00", tRegion, tLedgerRepoARN, awsfake.ExampleNow)
				g.GranteePrincipal = "arn:aws:iam::111122223333:role/ci-builder"
				grants(g)(sc)
			},
			state: "Enabled", grant: diagnosis.No, grants: 1, listGrants: 1,
		},
		{
			// 120 other grants before ECR's: the grants are read to the last page (100 a page).
			name: "enabled, ECR's grant on the second page",
			setup: func(sc *awsfake.Scenario) {
				k := sc.KMSKey(awsfake.ExampleKMSKeyID)
				var gs []awsfake.KMSGrant
				for i := range 120 {
					gs = append(gs, awsfake.ECRGrant(fmt.Sprintf("3%03d", i), tRegion, fmt.Sprintf("%s-%03d", otherRepo, i), awsfake.ExampleNow))
				}
				k.Grants = append(gs, k.Grants...)
			},
			state: "Enabled", grant: diagnosis.Yes, grantID: awsfake.ExampleKMSGrantID, grants: 121, listGrants: 2,
		},
		// A key that is not usable is the cause whatever its grants: they are not read.
		{name: "disabled", setup: func(sc *awsfake.Scenario) { sc.KMSKey(awsfake.ExampleKMSKeyID).State = "Disabled" }, state: "Disabled"},
		{
			name: "pending deletion",
			setup: func(sc *awsfake.Scenario) {
				k := sc.KMSKey(awsfake.ExampleKMSKeyID)
				k.State, k.DeletionDate = "PendingDeletion", awsfake.ExampleNow.Add(7*24*time.Hour)
			},
			state: "PendingDeletion",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.setup, cloud.Options{})
			f := podFacts(tPod, exampleNode(t), failing("ledger", tLedger, kmsMsg(tLedger)))
			e.enrich(t, f)

			got := ecrOf(t, f, tLedger)
			want := diagnosis.ECRImageEvidence{RepositoryExists: diagnosis.Yes, ImageExists: diagnosis.Yes, EncryptionType: "KMS", KMSKey: tKMSKeyARN,
				KMSKeyState: tc.state, KMSGrant: tc.grant, KMSGrantID: tc.grantID, KMSGrants: tc.grants}
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(diagnosis.ECRImageEvidence{},
				"ImageStatus", "ImageDigest", "ImageTags", "PushedAt", "LastPulledAt", "SizeBytes", "MediaType", "Policy")); diff != "" {
				t.Errorf("ECR evidence (-want +got):\n%s", diff)
			}
			if len(f.Skipped) > 0 {
				t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
			}
			if n := counts(e.srv)["kms:ListGrants"]; n != tc.listGrants {
				t.Errorf("kms:ListGrants called %d times, want %d", n, tc.listGrants)
			}
		})
	}
}

// A pull-through cache rule is reported for an image that is not there when the repository
// path starts with the rule's prefix and a slash.
func TestECRPullThroughCacheRule(t *testing.T) {
	dockerHub := &diagnosis.PullThroughCacheRule{Prefix: "docker-hub", UpstreamURL: "registry-1.docker.io",
		CredentialARN: "arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf"}
	ecrPublic := &diagnosis.PullThroughCacheRule{Prefix: "ecr-public", UpstreamURL: "public.ecr.aws"}
	tests := []struct {
		image      string
		repoExists diagnosis.Tri
		want       *diagnosis.PullThroughCacheRule
	}{
		{tPTC, diagnosis.No, dockerHub}, // first pull never created the repository
		{tRegistry + "/ecr-public/amazonlinux/amazonlinux:2023", diagnosis.No, ecrPublic}, // same, other rule
		{tRegistry + "/docker-hub/library/redis:7.4", diagnosis.Yes, nil},                 // cached already: the image is there
		{tRegistry + "/docker-hub/library/redis:7.5", diagnosis.Yes, dockerHub},           // cached repository, tag never imported
		{tRegistry + "/docker-hubx/app:1.0", diagnosis.No, nil},                           // a prefix is a path element, not a string prefix
		{tMissingTag, diagnosis.Yes, nil},                                                 // no rule
	}
	e := newEnv(t, func(sc *awsfake.Scenario) {
		sc.Repositories = append(sc.Repositories, &awsfake.Repository{Name: "docker-hub/library/redis", CreatedAt: awsfake.ExampleNow.Add(-30 * 24 * time.Hour),
			Images: []*awsfake.Image{awsfake.SingleArchImage("redis-7.4", "amd64", 40_000_000, awsfake.ExampleNow.Add(-30*24*time.Hour), "7.4")}})
	}, cloud.Options{})
	var all []*diagnosis.Facts
	for i, tc := range tests {
		all = append(all, podFacts(fmt.Sprintf("%s-%d", tPod, i), exampleNode(t), failing("app", tc.image, notFoundMsg(tc.image))))
	}
	e.enrich(t, all...)
	for i, tc := range tests {
		got := ecrOf(t, all[i], tc.image)
		if got.RepositoryExists != tc.repoExists {
			t.Errorf("%s: repository exists %v, want %v", tc.image, got.RepositoryExists, tc.repoExists)
		}
		if diff := cmp.Diff(tc.want, got.PullThroughCache); diff != "" {
			t.Errorf("%s: pull-through cache rule (-want +got):\n%s", tc.image, diff)
		}
		if len(all[i].Skipped) > 0 {
			t.Errorf("%s: skipped %+v, want nothing skipped", tc.image, all[i].Skipped)
		}
	}
	if n := counts(e.srv)["ecr:DescribePullThroughCacheRules"]; n != 1 {
		t.Errorf("ecr:DescribePullThroughCacheRules called %d times, want 1 (one per registry)", n)
	}
}

// pullFromNodes is a repository policy statement that allows the worked example's node role.
const pullFromNodes = `{"Sid":"AllowPullFromProdEksNodes","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}`

// ciOnly is the worked example's statement for another account.
const ciOnly = `{"Sid":"AllowPullFromCiAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}`

func policyOf(statements ...string) string {
	doc := `{"Version":"2012-10-17","Statement":[`
	for i, s := range statements {
		if i > 0 {
			doc += ","
		}
		doc += s
	}
	return doc + "]}"
}

// Repository policies are evaluated for the pulling role: cross-account pulls need an Allow,
// and an explicit Deny wins everywhere (DOMAIN C03).
func TestECRRepositoryPolicy(t *testing.T) {
	tests := []struct {
		name   string
		image  string
		policy string
		want   *diagnosis.RepositoryPolicyEvidence
	}{
		{
			name: "cross-account, no statement for the cluster account", image: tXAccount, policy: policyOf(ciOnly),
			want: &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.No},
		},
		{
			name: "cross-account, no policy", image: tXAccount, policy: "",
			want: &diagnosis.RepositoryPolicyEvidence{Exists: false, Allows: diagnosis.No},
		},
		{
			name: "cross-account, allows the node role", image: tXAccount, policy: policyOf(ciOnly, pullFromNodes),
			want: &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.Yes},
		},
		{
			name: "cross-account, allows the cluster account", image: tXAccount,
			policy: policyOf(`{"Sid":"ProdAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ecr:*"}`),
			want:   &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.Yes},
		},
		{
			name: "cross-account, allows the organisation", image: tXAccount,
			policy: policyOf(`{"Sid":"Org","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}`),
			want:   &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.Yes, Conditions: []string{"aws:PrincipalOrgID"}},
		},
		{
			name: "cross-account, allows other actions only", image: tXAccount,
			policy: policyOf(`{"Sid":"ListOnly","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["ecr:ListImages","ecr:DescribeImages"]}`),
			want:   &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.No},
		},
		{
			name: "cross-account, an explicit Deny beats the Allow", image: tXAccount,
			policy: policyOf(pullFromNodes, `{"Sid":"DenyProdEksNodes","Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`),
			want:   &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.No, DenyStatement: "DenyProdEksNodes"},
		},
		{
			name: "cross-account, a Deny for someone else", image: tXAccount,
			policy: policyOf(pullFromNodes, `{"Sid":"DenyCi","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::777788889999:root"},"Action":"ecr:*"}`),
			want:   &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.Yes},
		},
		{
			name: "own account, an explicit Deny without a Sid", image: tMissingTag,
			policy: policyOf(`{"Effect":"Allow","Principal":"*","Action":"ecr:*"}`, `{"Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage"}`),
			want:   &diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.No, DenyStatement: "statement 2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(sc *awsfake.Scenario) {
				repo := diagnosis.ParseImage(tc.image).Path
				sc.Repository(repo).Policy = tc.policy
			}, cloud.Options{})
			f := podFacts(tPod, exampleNode(t), failing("base", tc.image, forbiddenMsg(tc.image)))
			e.enrich(t, f)

			if diff := cmp.Diff(tc.want, ecrOf(t, f, tc.image).Policy); diff != "" {
				t.Errorf("repository policy verdict (-want +got):\n%s", diff)
			}
			if f.Cloud.CallerAccount != tAccount {
				t.Errorf("caller account %q, want %s", f.Cloud.CallerAccount, tAccount)
			}
			// IAM's side of a cross-account pull: the managed policy allows any repository.
			if diff := cmp.Diff(pullOnlyDecisions(), f.Cloud.Principal.Decisions); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if len(f.Skipped) > 0 {
				t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
			}
		})
	}
}

// Pods with nothing AWS-related get no cloud evidence and cause no calls; a non-ECR image on
// an EC2 node still gets the node's principal and network (the path to the registry).
func TestPlanScope(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	offAWS := &diagnosis.NodeFacts{Name: "kind-worker", Arch: "amd64", OS: "linux"}
	notFailing := podFacts("healthy", exampleNode(t), ctr{name: "api", image: tExisting})
	dockerOffAWS := podFacts("docker-off-aws", offAWS, failing("web", tDockerHub, notFoundMsg(tDockerHub)))
	e.enrich(t, notFailing, dockerOffAWS)
	if notFailing.Cloud != nil || dockerOffAWS.Cloud != nil || len(notFailing.Skipped)+len(dockerOffAWS.Skipped) > 0 {
		t.Errorf("cloud evidence %+v / %+v, skipped %+v / %+v; want none", notFailing.Cloud, dockerOffAWS.Cloud, notFailing.Skipped, dockerOffAWS.Skipped)
	}
	if calls := e.srv.Calls(); len(calls) > 0 {
		t.Errorf("calls %+v, want none", calls)
	}

	dockerOnEC2 := podFacts("docker-on-ec2", exampleNode(t), failing("web", tDockerHub, notFoundMsg(tDockerHub)))
	e.enrich(t, dockerOnEC2)
	want := &diagnosis.CloudEvidence{
		Images:        map[string]*diagnosis.ImageEvidence{},
		Principal:     exampleNodePrincipal(),
		Network:       exampleNetwork(),
		CallerAccount: tAccount,
	}
	want.Principal.Decisions = nil // no ECR repository to simulate on
	if diff := cmp.Diff(want, dockerOnEC2.Cloud); diff != "" {
		t.Errorf("cloud evidence (-want +got):\n%s", diff)
	}
	for _, a := range e.srv.Actions() {
		if strings.HasPrefix(a, "ecr:") || a == "iam:SimulatePrincipalPolicy" {
			t.Errorf("called %s for a pod without ECR images", a)
		}
	}
}

// Init containers fail like the others, and each image gets its own evidence.
func TestInitAndRegularContainers(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	migrate := tRegistry + "/payments/migrate:1.8.2"
	f := podFacts(tPod, exampleNode(t),
		ctr{name: "migrate", image: migrate, message: notFoundMsg(migrate), init: true},
		failing("api", tMissingTag, notFoundMsg(tMissingTag)),
		ctr{name: "sidecar", image: tExisting}, // running: not looked up
	)
	e.enrich(t, f)
	if got := sortedKeys(f.Cloud.Images); !cmp.Equal(got, []string{tMissingTag, migrate}) {
		t.Errorf("evidence for %v, want %v", got, []string{tMissingTag, migrate})
	}
	if ev := ecrOf(t, f, migrate); ev.RepositoryExists != diagnosis.No {
		t.Errorf("%s: repository exists %v, want no", migrate, ev.RepositoryExists)
	}
	if ev := ecrOf(t, f, tMissingTag); ev.ImageExists != diagnosis.No || ev.RepositoryExists != diagnosis.Yes {
		t.Errorf("%s: repository %v, image %v; want yes, no", tMissingTag, ev.RepositoryExists, ev.ImageExists)
	}
}

// Evidence another adapter wrote first (the registry probe) is kept: the probe of the same
// image is merged into its ECR evidence, other images and earlier skips stay.
func TestMergesEarlierEvidence(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	f := podFacts(tPod, exampleNode(t),
		failing("api", tMissingTag, notFoundMsg(tMissingTag)),
		failing("web", tDockerHub, notFoundMsg(tDockerHub)))
	apiProbe := &diagnosis.RegistryProbe{Auth: "ecr-token", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: diagnosis.No}
	webProbe := &diagnosis.RegistryProbe{Auth: "anonymous", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: diagnosis.No}
	earlier := diagnosis.Skip{Check: "registry-probe", Reason: "registry.example.com did not answer", Needs: "network access from the bot to registry.example.com"}
	f.Cloud = &diagnosis.CloudEvidence{Images: map[string]*diagnosis.ImageEvidence{tMissingTag: {Probe: apiProbe}, tDockerHub: {Probe: webProbe}}}
	f.Skipped = []diagnosis.Skip{earlier}
	e.enrich(t, f)

	if got := f.Cloud.Images[tMissingTag]; got.Probe != apiProbe || got.ECR == nil || got.ECR.ImageExists != diagnosis.No {
		t.Errorf("%s: evidence %+v, want the probe and the ECR evidence", tMissingTag, got)
	}
	if got := f.Cloud.Images[tDockerHub]; got == nil || got.Probe != webProbe || got.ECR != nil {
		t.Errorf("%s: evidence %+v, want the probe only", tDockerHub, got)
	}
	if diff := cmp.Diff([]diagnosis.Skip{earlier}, f.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}
