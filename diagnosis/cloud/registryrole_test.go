package cloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// A central registry account that only its own role may read (awsfake.SeparateAccounts).
const (
	tRegAccount = "222233334444"
	tRegRole    = "arn:aws:iam::" + tRegAccount + ":role/pullcheck-registry-read"
	tRegHost    = tRegAccount + ".dkr.ecr.us-west-2.amazonaws.com"
	tRegBase    = tRegHost + "/platform/base:2024.06" // exists; the policy allows another account only
	tRegMissing = tRegHost + "/platform/base:2024.07" // no such tag: tags and lifecycle rules are read
	tRegIndex   = tRegHost + "/platform/multi:1.0"    // an image index: its platforms are read
	tRegKMS     = tRegHost + "/platform/secure:1.0"   // KMS-encrypted with a key of the registry account
	tRegKeyID   = "5678abcd-12ab-34cd-56ef-1234567890ab"
	tRegKeyARN  = "arn:aws:kms:us-west-2:" + tRegAccount + ":key/" + tRegKeyID
	tRegBaseARN = "arn:aws:ecr:us-west-2:" + tRegAccount + ":repository/platform/base"
)

func registryAccount(sc *awsfake.Scenario) {
	sc.SeparateAccounts = true
	now := awsfake.ExampleNow
	secureARN := "arn:aws:ecr:us-west-2:" + tRegAccount + ":repository/platform/secure"
	amd := awsfake.SingleArchImage("multi-amd64", "amd64", 1000, now)
	sc.KMSKeys = append(sc.KMSKeys, &awsfake.KMSKey{ID: tRegKeyID, Account: tRegAccount,
		Grants: []awsfake.KMSGrant{awsfake.ECRGrant("9f8e7d6c", "us-west-2", secureARN, now)}})
	sc.Repositories = append(sc.Repositories,
		&awsfake.Repository{RegistryID: tRegAccount, Name: "platform/base", Policy: policyOf(ciOnly),
			Images:          []*awsfake.Image{awsfake.SingleArchImage("base", "amd64", 1000, now, "2024.06")},
			LifecyclePolicy: `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["2024."],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`},
		&awsfake.Repository{RegistryID: tRegAccount, Name: "platform/multi", Images: []*awsfake.Image{awsfake.IndexImage(now, []*awsfake.Image{amd}, "1.0"), amd}},
		&awsfake.Repository{RegistryID: tRegAccount, Name: "platform/secure", EncryptionType: "KMS", KMSKey: tRegKeyARN,
			Images: []*awsfake.Image{awsfake.SingleArchImage("secure", "amd64", 1000, now, "1.0")}},
	)
}

func registryPod(t *testing.T) *diagnosis.Facts {
	return podFacts(tPod, exampleNode(t),
		failing("base", tRegBase, forbiddenMsg(tRegBase)), failing("missing", tRegMissing, notFoundMsg(tRegMissing)),
		failing("multi", tRegIndex, platformMsg(tRegIndex)), failing("secure", tRegKMS, kmsMsg(tRegKMS)))
}

// rolePolicyActions reads the actions that deploy/aws/registry-read-role-policy.json allows.
func rolePolicyActions(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "aws", "registry-read-role-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Effect string
			Action []string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("registry-read-role-policy.json: %v", err)
	}
	var out []string
	for _, st := range doc.Statement {
		if st.Effect == "Allow" {
			out = append(out, st.Action...)
		}
	}
	sort.Strings(out)
	return out
}

// With a role for the registry account, every ECR and KMS read of that account goes through
// it (assumed once), the evidence is complete, and what the role calls is exactly what
// deploy/aws/registry-read-role-policy.json grants.
func TestRegistryRole(t *testing.T) {
	e := newEnv(t, registryAccount, cloud.Options{RegistryRoles: map[string]string{tRegAccount: tRegRole}})
	f := registryPod(t)
	e.enrich(t, f)
	if len(f.Skipped) > 0 {
		t.Errorf("skips %+v, want none", f.Skipped)
	}
	base := ecrOf(t, f, tRegBase)
	if base.RepositoryExists != diagnosis.Yes || base.ImageExists != diagnosis.Yes {
		t.Errorf("%s: repository %s, image %s, want both yes", tRegBase, base.RepositoryExists, base.ImageExists)
	}
	if p := base.Policy; p == nil || !p.Exists || p.Allows != diagnosis.No {
		t.Errorf("%s: policy verdict %+v, want a policy that does not allow the node role", tRegBase, p)
	}
	if ev := ecrOf(t, f, tRegMissing); ev.ImageExists != diagnosis.No || ev.ExpiringRule == nil {
		t.Errorf("%s: image %s, expiring rule %+v, want a missing image and the rule", tRegMissing, ev.ImageExists, ev.ExpiringRule)
	}
	if ev := ecrOf(t, f, tRegIndex); !slices.Equal(ev.Platforms, []string{"linux/amd64"}) {
		t.Errorf("%s: platforms %v, want linux/amd64", tRegIndex, ev.Platforms)
	}
	if ev := ecrOf(t, f, tRegKMS); ev.KMSKeyState != "Enabled" || ev.KMSGrant != diagnosis.Yes {
		t.Errorf("%s: key %q, grant %s, want Enabled with ECR's grant", tRegKMS, ev.KMSKeyState, ev.KMSGrant)
	}

	// The registry probe's token is the role's too.
	if _, _, err := e.g.ECRToken(context.Background(), diagnosis.ParseImage(tRegBase)); err != nil {
		t.Errorf("ECRToken(%s): %v", tRegBase, err)
	}

	byRole := map[string]bool{}
	for _, c := range e.srv.Calls() {
		switch {
		case c.Role == tRegRole:
			byRole[c.Action()] = true
		case c.Role != "":
			t.Errorf("call %+v with an unexpected role", c)
		case c.Service == "ecr" || c.Service == "kms":
			t.Errorf("call %+v on the registry with the bot's own credentials", c)
		}
	}
	if diff := cmp.Diff(rolePolicyActions(t), sortedKeys(byRole)); diff != "" {
		t.Errorf("registry-read-role-policy.json (-) against the calls made under the role (+):\n%s", diff)
	}

	// The role's credentials are cached: a later scan assumes nothing again.
	e.clock.Advance(time.Hour)
	e.enrich(t, registryPod(t))
	if n := counts(e.srv)["sts:AssumeRole"]; n != 1 {
		t.Errorf("sts:AssumeRole called %d times, want once", n)
	}
}

// Without a role the reads are the bot's own (and refused by the registry account), as
// before; with a role that cannot be assumed, one skip names sts:AssumeRole and the trust
// policy, and no read of the registry is made.
func TestRegistryRoleSkips(t *testing.T) {
	tests := []struct {
		name  string
		roles map[string]string
		deny  bool
		want  map[string]string // check -> substring of Needs
		calls func(t *testing.T, c map[string]int)
	}{
		{
			name: "no role", want: map[string]string{
				"ecr-repository":         "ecr:DescribeRepositories on " + tRegBaseARN,
				"ecr-image":              "ecr:DescribeImages on " + tRegBaseARN,
				"ecr-repository-policy":  "ecr:GetRepositoryPolicy on " + tRegBaseARN,
				"ecr-pull-through-cache": "ecr:DescribePullThroughCacheRules",
			},
			calls: func(t *testing.T, c map[string]int) {
				if c["sts:AssumeRole"] != 0 {
					t.Errorf("sts:AssumeRole called without a role")
				}
			},
		},
		{
			name: "assume role denied", roles: map[string]string{tRegAccount: tRegRole}, deny: true,
			want: map[string]string{"ecr-registry-role": "sts:AssumeRole on " + tRegRole + " for the bot's role, and a trust policy"},
			calls: func(t *testing.T, c map[string]int) {
				for a, n := range c {
					if strings.HasPrefix(a, "ecr:") || strings.HasPrefix(a, "kms:") {
						t.Errorf("%s called %d times, want no registry read", a, n)
					}
				}
				if c["sts:AssumeRole"] != 1 {
					t.Errorf("sts:AssumeRole called %d times, want once per scan", c["sts:AssumeRole"])
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(sc *awsfake.Scenario) {
				registryAccount(sc)
				sc.Denied["sts:AssumeRole"] = tc.deny
			}, cloud.Options{RegistryRoles: tc.roles})
			f := podFacts(tPod, exampleNode(t), failing("base", tRegBase, forbiddenMsg(tRegBase)))
			e.enrich(t, f)
			got := map[string]string{}
			for _, s := range f.Skipped {
				got[s.Check] = s.Needs
			}
			for check, needs := range tc.want {
				if !strings.Contains(got[check], needs) {
					t.Errorf("skip %s needs %q, want it to name %q", check, got[check], needs)
				}
			}
			for check := range got {
				if _, ok := tc.want[check]; !ok {
					t.Errorf("unexpected skip %s: %s", check, got[check])
				}
			}
			tc.calls(t, counts(e.srv))
		})
	}
}

// ECRToken asks for the token with the registry role of the image's account when one is
// configured, and with the bot's own credentials otherwise; a role that cannot be assumed, or
// that may not get a token, is a *cloud.PermissionError naming what it needs.
func TestECRTokenRegistryRole(t *testing.T) {
	tests := []struct {
		name     string
		image    string
		roles    map[string]string
		setup    func(*awsfake.Scenario)
		fail     func(*awsfake.Server)
		wantRole string // role of the GetAuthorizationToken call ("" for the bot's own)
		wantAcct string // account it acts as
		needs    string // substring of the PermissionError's Needs; "" for a token
		noToken  bool   // no GetAuthorizationToken call at all
	}{
		{name: "role", image: tRegBase, roles: map[string]string{tRegAccount: tRegRole}, wantRole: tRegRole, wantAcct: tRegAccount},
		{name: "no role", image: tRegBase, wantAcct: awsfake.ExampleAccount},
		{name: "role of another account", image: tMissingTag, roles: map[string]string{tRegAccount: tRegRole}, wantAcct: awsfake.ExampleAccount},
		{
			name: "assume role denied", image: tRegBase, roles: map[string]string{tRegAccount: tRegRole},
			setup:   func(sc *awsfake.Scenario) { sc.Denied["sts:AssumeRole"] = true },
			needs:   "sts:AssumeRole on " + tRegRole + " for the bot's role, and a trust policy",
			noToken: true,
		},
		{
			name: "token refused under the role", image: tRegBase, roles: map[string]string{tRegAccount: tRegRole},
			fail:     func(s *awsfake.Server) { s.FailNext("ecr:GetAuthorizationToken", 10, awsfake.ServerError) },
			needs:    "ecr:GetAuthorizationToken for the registry role " + tRegRole,
			wantRole: tRegRole, wantAcct: tRegAccount,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(sc *awsfake.Scenario) {
				registryAccount(sc)
				if tc.setup != nil {
					tc.setup(sc)
				}
			}, cloud.Options{RegistryRoles: tc.roles})
			if tc.fail != nil {
				tc.fail(e.srv)
			}
			user, password, err := e.g.ECRToken(context.Background(), diagnosis.ParseImage(tc.image))
			if tc.needs == "" {
				if err != nil || user != "AWS" || password != awsfake.ECRPassword {
					t.Errorf("ECRToken() = %q, %q, %v; want AWS, %q, nil", user, password, err, awsfake.ECRPassword)
				}
			} else {
				var perm *cloud.PermissionError
				if !errors.As(err, &perm) || !strings.Contains(perm.Permission(), tc.needs) {
					t.Errorf("ECRToken() error %v, want a PermissionError naming %q", err, tc.needs)
				}
			}
			var tokens []awsfake.Call
			for _, c := range e.srv.Calls() {
				if c.Action() == "ecr:GetAuthorizationToken" {
					tokens = append(tokens, c)
				}
			}
			if tc.noToken {
				if len(tokens) > 0 {
					t.Errorf("GetAuthorizationToken calls %+v, want none", tokens)
				}
				return
			}
			if len(tokens) == 0 {
				t.Fatal("no GetAuthorizationToken call")
			}
			for _, c := range tokens {
				if c.Role != tc.wantRole || c.Account != tc.wantAcct {
					t.Errorf("GetAuthorizationToken as role %q account %s, want role %q account %s", c.Role, c.Account, tc.wantRole, tc.wantAcct)
				}
			}
		})
	}
}
