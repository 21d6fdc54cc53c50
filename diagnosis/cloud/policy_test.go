package cloud

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
)

const (
	tRole    = "arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"
	tAccount = "111122223333"
	tRepo    = "arn:aws:ecr:us-west-2:111122223333:repository/payments/api"
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name             string
		policy           string
		action, resource string // default ecr:BatchGetImage on tRepo
		want             decision
		wantErr          bool
	}{
		{name: "no policy"},
		{name: "blank policy", policy: " \n"},
		{name: "not JSON", policy: `{"Statement":`, wantErr: true},
		{
			name:   "a single statement object",
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "allow for the role by ARN",
			policy: `{"Statement":[{"Sid":"Nodes","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},"Action":["ecr:BatchGetImage"]}]}`,
			want:   decision{allowed: true, statement: "Nodes"},
		},
		{
			name:   "allow for a list of principals",
			policy: `{"Statement":[{"Sid":"Some","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::777788889999:root","arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"]},"Action":"ecr:BatchGetImage"}]}`,
			want:   decision{allowed: true, statement: "Some"},
		},
		{
			name:   "allow for the account root",
			policy: `{"Statement":[{"Sid":"Prod","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ecr:BatchGetImage"}]}`,
			want:   decision{allowed: true, statement: "Prod"},
		},
		{
			name:   "allow for the bare account ID",
			policy: `{"Statement":[{"Sid":"Prod","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"ecr:BatchGetImage"}]}`,
			want:   decision{allowed: true, statement: "Prod"},
		},
		{
			name:   "allow for AWS *",
			policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"ecr:BatchGetImage"}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "allow for another account",
			policy: `{"Statement":[{"Sid":"Ci","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:root"},"Action":"ecr:BatchGetImage"}]}`,
		},
		{
			name:   "an account whose ID ends like ours is another account",
			policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999111122223333:root"},"Action":"ecr:BatchGetImage"}]}`,
		},
		{
			name:   "allow for a service principal",
			policy: `{"Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"ecr:BatchGetImage"}]}`,
		},
		{
			name:   "no Principal (an endpoint policy) applies to everyone",
			policy: `{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "action wildcard, any case",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ECR:Batch*"}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "other actions only",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]}`,
		},
		{
			name:   "NotAction that leaves the action out of a Deny",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":"*","NotAction":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "NotAction that denies the action",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Sid":"ReadOnly","Effect":"Deny","Principal":"*","NotAction":"ecr:Describe*"}]}`,
			want:   decision{allowed: true, denied: true, statement: "ReadOnly"},
		},
		{
			name: "Deny wins over an earlier Allow and names its Sid",
			policy: `{"Statement":[{"Sid":"Everyone","Effect":"Allow","Principal":"*","Action":"ecr:*"},` +
				`{"Sid":"NoNodes","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},"Action":"ecr:BatchGetImage"}]}`,
			want: decision{allowed: true, denied: true, statement: "NoNodes"},
		},
		{
			name: "the first Deny is reported",
			policy: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage"},` +
				`{"Sid":"Second","Effect":"Deny","Principal":"*","Action":"ecr:*"}]}`,
			want: decision{denied: true, statement: "statement 1"},
		},
		{
			name:   "effect in lower case",
			policy: `{"Statement":[{"Effect":"deny","Principal":"*","Action":"ecr:BatchGetImage"}]}`,
			want:   decision{denied: true, statement: "statement 1"},
		},
		{
			name:   "resource prefix",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/*"}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "resource * in the middle spans slashes (IAM wildcards)",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:*:111122223333:repository/*"}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "resource ? matches one character",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/ap?"}]}`,
			want:   decision{allowed: true, statement: "statement 1"},
		},
		{
			name:   "another repository",
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-west-2:111122223333:repository/platform/*"}]}`,
		},
		{
			name:     "GetAuthorizationToken needs Resource *",
			policy:   `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"arn:aws:ecr:us-west-2:111122223333:repository/*"}]}`,
			action:   "ecr:GetAuthorizationToken",
			resource: "*",
		},
		{
			name:     "the layer bucket",
			policy:   `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"]}]}`,
			action:   "s3:GetObject",
			resource: "arn:aws:s3:::prod-us-west-2-starport-layer-bucket/layer",
			want:     decision{allowed: true, statement: "statement 1"},
		},
		{
			name: "condition keys of the matching statements, sorted and once each",
			policy: `{"Statement":[` +
				`{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0ecrdkr1234567890","aws:PrincipalOrgID":"o-a1b2c3d4e5"}}},` +
				`{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0ecrdkr1234567890"}}},` +
				`{"Effect":"Allow","Principal":"*","Action":"ecr:ListImages","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
			want: decision{allowed: true, statement: "statement 1", conditions: []string{"aws:PrincipalOrgID", "aws:SourceVpce"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			action, resource := tc.action, tc.resource
			if action == "" {
				action, resource = "ecr:BatchGetImage", tRepo
			}
			got, err := evaluate(tc.policy, tRole, tAccount, action, resource)
			if (err != nil) != tc.wantErr {
				t.Fatalf("evaluate() error %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(decision{})); diff != "" {
				t.Errorf("evaluate() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "arn:aws:ecr:us-west-2:111122223333:repository/payments/api", true},
		{"arn:aws:ecr:*:*:repository/*", "arn:aws:ecr:us-west-2:111122223333:repository/payments/api", true},
		{"arn:aws:ecr:*:*:repository/*/api", "arn:aws:ecr:us-west-2:111122223333:repository/payments/team/api", true},
		{"arn:aws:ecr:*:*:repository/*/api", "arn:aws:ecr:us-west-2:111122223333:repository/payments/apis", false},
		{"a*b*c", "aXXbYYbZZc", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "acb", false},
		{"ecr:???Image", "ecr:PutImage", true},
		{"ecr:???Image", "ecr:BatchGetImage", false},
		{"repository/[ab]", "repository/a", false}, // no character classes in IAM
		{"repository/[ab]", "repository/[ab]", true},
		{"**", "x", true},
	}
	for _, tc := range tests {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestNamesPrincipals(t *testing.T) {
	tests := []struct {
		policy string
		want   bool
	}{
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/x"},"Action":"*"}]}`, true},
		{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"*"}}`, true},
		{`not json`, false},
	}
	for _, tc := range tests {
		if got := namesPrincipals(tc.policy); got != tc.want {
			t.Errorf("namesPrincipals(%s) = %v, want %v", tc.policy, got, tc.want)
		}
	}
}

func TestRepositoryPolicyEvidence(t *testing.T) {
	base := "arn:aws:ecr:us-west-2:444455556666:repository/platform/base"
	tests := []struct {
		name, policy string
		want         *diagnosis.RepositoryPolicyEvidence
	}{
		{"none", "", &diagnosis.RepositoryPolicyEvidence{Allows: diagnosis.No}},
		{"allows", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ecr:BatchGetImage"}]}`,
			&diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.Yes}},
		{"denies", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"},{"Sid":"No","Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage"}]}`,
			&diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.No, DenyStatement: "No"}},
		{"silent", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:root"},"Action":"ecr:BatchGetImage"}]}`,
			&diagnosis.RepositoryPolicyEvidence{Exists: true, Allows: diagnosis.No}},
		{"unreadable", `{"Statement":[`, &diagnosis.RepositoryPolicyEvidence{Exists: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, repositoryPolicyEvidence(tc.policy, tRole, tAccount, base)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// exampleLifecycle is the worked example's lifecycle policy of payments/api.
const exampleLifecycle = `{"rules":[` +
	`{"rulePriority":1,"description":"expire untagged images after 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}},` +
	`{"rulePriority":2,"description":"keep the last 20 release images","selection":{"tagStatus":"tagged","tagPrefixList":["1."],"countType":"imageCountMoreThan","countNumber":20},"action":{"type":"expire"}},` +
	`{"rulePriority":3,"description":"archive images not pulled for 90 days","selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90},"action":{"type":"transition","targetStorageClass":"archive"}}]}`

func TestMatchLifecycleRule(t *testing.T) {
	untagged := &diagnosis.LifecycleRule{Priority: 1, Description: "expire untagged images after 14 days", TagStatus: "untagged",
		CountType: "sinceImagePushed", CountNumber: 14, CountUnit: "days", Action: "expire"}
	releases := &diagnosis.LifecycleRule{Priority: 2, Description: "keep the last 20 release images", TagStatus: "tagged",
		TagPrefixes: []string{"1."}, CountType: "imageCountMoreThan", CountNumber: 20, Action: "expire"}
	archive := &diagnosis.LifecycleRule{Priority: 3, Description: "archive images not pulled for 90 days", TagStatus: "any",
		CountType: "sinceImagePulled", CountNumber: 90, CountUnit: "days", Action: "transition"}
	const digest = "@sha256:4feaecf0df9a7319becc808f8c78d3498dcab3fde3dc0270ad6486c0cc001216"
	repo := "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api"
	tests := []struct {
		name, policy, image string
		want                *diagnosis.LifecycleRule
	}{
		{"tag with the release prefix", exampleLifecycle, repo + ":1.8.2", releases},
		{"tag outside every prefix", exampleLifecycle, repo + ":2.0.0", archive},
		{"implicit latest", exampleLifecycle, repo, archive},
		{"pinned by digest: untagged", exampleLifecycle, repo + digest, untagged},
		{"tag and digest: the digest is pulled", exampleLifecycle, repo + ":1.8.2" + digest, untagged},
		{
			"rules in any order apply by priority",
			`{"rules":[{"rulePriority":20,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100},"action":{"type":"expire"}},` +
				`{"rulePriority":10,"description":"rc","selection":{"tagStatus":"tagged","tagPatternList":["*-rc*"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`,
			repo + ":1.9.0-rc2",
			&diagnosis.LifecycleRule{Priority: 10, Description: "rc", TagStatus: "tagged", TagPrefixes: []string{"*-rc*"}, CountType: "imageCountMoreThan", CountNumber: 3, Action: "expire"},
		},
		{
			"pattern that does not match",
			`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["release-*"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`,
			repo + ":rel-1", nil,
		},
		{
			"a tagged rule does not select an image pinned by digest",
			`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["1."],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`,
			repo + digest, nil,
		},
		{"no rules", `{"rules":[]}`, repo + ":1.8.2", nil},
		{"not JSON", `{"rules":`, repo + ":1.8.2", nil},
		{"empty", ``, repo + ":1.8.2", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := matchLifecycleRule(tc.policy, diagnosis.ParseImage(tc.image))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("matchLifecycleRule(%s) (-want +got):\n%s", tc.image, diff)
			}
		})
	}
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"1.10.0", "1.9.0", 1},
		{"1.9.0", "1.10.0", -1},
		{"1.8.1", "1.8.1", 0},
		{"1.8.1", "1.8.1-multiarch", -1},
		{"1.8.10", "1.8.9", 1},
		{"v2", "v10", -1},
		{"2024.06", "2024.10", -1},
		{"2025.01", "2024.12", 1},
		{"1.2.3-rc1", "1.2.3-rc10", -1},
		{"007", "7", 0},
		{"1.01", "1.1", 0},
		{"abc", "abd", -1},
		{"", "", 0},
		{"", "1", -1},
		{"a", "1", 1}, // letters after digits, as in ASCII
		{"123456789012345678901234567890", "123456789012345678901234567891", -1}, // beyond int64
		{"99999999999999999999", "100000000000000000000", -1},
	}
	sign := func(n int) int { return min(max(n, -1), 1) }
	for _, tc := range tests {
		if got := sign(naturalCompare(tc.a, tc.b)); got != tc.want {
			t.Errorf("naturalCompare(%q, %q) has sign %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := sign(naturalCompare(tc.b, tc.a)); got != -tc.want {
			t.Errorf("naturalCompare(%q, %q) has sign %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
	}

	// Sorted highest first, as RecentTags are.
	tags := []string{"1.8.0", "1.10.1", "latest-x", "1.2.0", "1.10.0", "1.8.1-multiarch", "1.9.0", "0.9.0", "1.8.1", "1.8.10"}
	slices.SortFunc(tags, func(a, b string) int { return naturalCompare(b, a) })
	want := []string{"latest-x", "1.10.1", "1.10.0", "1.9.0", "1.8.10", "1.8.1-multiarch", "1.8.1", "1.8.0", "1.2.0", "0.9.0"}
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("sorted highest first (-want +got):\n%s", diff)
	}
}
