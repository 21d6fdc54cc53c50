package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "defaults", env: nil, want: Defaults()},
		{name: "all set", env: map[string]string{"PULLCHECK_CLUSTER": "prod-eks", "PULLCHECK_READ_SECRETS": "false", "PULLCHECK_TIMEOUT": "2m", "PULLCHECK_SCAN_NAMESPACES": "payments, web"},
			want: Config{Cluster: "prod-eks", ReadSecrets: false, AWS: true, Probe: true, Timeout: 2 * time.Minute, ScanNamespaces: []string{"payments", "web"}}},
		{name: "aws off", env: map[string]string{"PULLCHECK_AWS": "false"}, want: Config{ReadSecrets: true, AWS: false, Probe: true, Timeout: 60 * time.Second}},
		{name: "probe secrets", env: map[string]string{"PULLCHECK_PROBE": "true", "PULLCHECK_PROBE_SECRET_NAMESPACES": "payments"}, want: Config{ReadSecrets: true, AWS: true, Probe: true, ProbeSecretNamespaces: []string{"payments"}, Timeout: 60 * time.Second}},
		{name: "every problem at once", env: map[string]string{"PULLCHECK_READ_SECRETS": "maybe", "PULLCHECK_TIMEOUT": "soon", "PULLCHECK_SCAN_NAMESPACES": "Bad_NS"},
			wantErr: []string{"PULLCHECK_READ_SECRETS", "PULLCHECK_TIMEOUT", `"Bad_NS"`}},
		{name: "negative timeout", env: map[string]string{"PULLCHECK_TIMEOUT": "-5s"}, wantErr: []string{"timeout must be positive"}},
		{name: "registry roles", env: map[string]string{"PULLCHECK_AWS_REGISTRY_ROLES": " 222233334444=arn:aws:iam::222233334444:role/pullcheck-registry-read, 333344445555=arn:aws-cn:iam::333344445555:role/ops/pullcheck-read ,"},
			want: Config{ReadSecrets: true, AWS: true, Probe: true, Timeout: 60 * time.Second, RegistryRoles: map[string]string{
				"222233334444": "arn:aws:iam::222233334444:role/pullcheck-registry-read",
				"333344445555": "arn:aws-cn:iam::333344445555:role/ops/pullcheck-read",
			}}},
		{name: "registry roles empty", env: map[string]string{"PULLCHECK_AWS_REGISTRY_ROLES": ""}, want: Defaults()},
		{name: "every bad registry role at once", env: map[string]string{"PULLCHECK_AWS_REGISTRY_ROLES": "2222=arn:aws:iam::2222:role/r,444455556666=arn:aws:iam::111122223333:role/r,555566667777=arn:aws:iam::555566667777:user/bob,666677778888,777788889999=arn:aws-eu:iam::777788889999:role/r"},
			wantErr: []string{`"2222" must be a 12-digit`, "is in account 111122223333, not in the registry account 444455556666", `"arn:aws:iam::555566667777:user/bob" for account 555566667777 must be an IAM role ARN`, `"666677778888": want ACCOUNT_ID=ROLE_ARN`, `"arn:aws-eu:iam::777788889999:role/r"`}},
		{name: "two roles for one account", env: map[string]string{"PULLCHECK_AWS_REGISTRY_ROLES": "222233334444=arn:aws:iam::222233334444:role/a,222233334444=arn:aws:iam::222233334444:role/b"},
			wantErr: []string{"account 222233334444 has two roles"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(env(tc.env))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load() error = nil, want errors mentioning %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load() error = %q, want it to mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "xoxb-1234-very-secret"
	s := Secret(value)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "token", s, "struct", struct{ Token Secret }{s})
	js, err := json.Marshal(struct{ Token Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%#v": fmt.Sprintf("%#v", s),
		"%+v struct": fmt.Sprintf("%+v", struct{ Token Secret }{s}), "json": string(js), "slog": logs.String(),
	} {
		if strings.Contains(out, value) {
			t.Errorf("%s output %q contains the secret", name, out)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
}
