package config

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func TestLoadSlack(t *testing.T) {
	files := map[string]string{
		"/etc/pullcheck/slack.yaml": `
channels:
  - channel: "#payments-oncall"
    namespaces: ["payments", "payments-*"]
defaultNamespaces: []
approvers:
  - namespaces: ["payments*"]
    approvers: ["U012ABCDEF", "S0123ABC"]
offerTTL: 10m
rolloutTimeout: 5m
`,
		"/etc/pullcheck/bad.yaml": "channels: [{channel: x, namespaces: [a]}]\nunknownKey: 1\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
	}
	key := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, s Slack)
	}{
		{name: "socket mode with rules", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PULLCHECK_RESTART_KEY": key, "PULLCHECK_SLACK_CONFIG": "/etc/pullcheck/slack.yaml"},
			check: func(t *testing.T, s Slack) {
				if s.Mode != "socket" || len(s.Rules.Channels) != 1 || len(s.Rules.Approvers) != 1 || time.Duration(s.Rules.OfferTTL) != 10*time.Minute {
					t.Errorf("LoadSlack() = %+v", s)
				}
			}},
		{name: "http mode", env: map[string]string{"PULLCHECK_SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t", "PULLCHECK_LISTEN": ":9090"},
			check: func(t *testing.T, s Slack) {
				if s.Mode != "http" || s.Listen != ":9090" {
					t.Errorf("LoadSlack() = %+v", s)
				}
			}},
		{name: "every problem at once", env: map[string]string{"SLACK_BOT_TOKEN": "xoxp-user", "PULLCHECK_RESTART_KEY": "short", "PULLCHECK_SLACK_CONFIG": "/etc/pullcheck/bad.yaml"},
			wantErr: []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "PULLCHECK_RESTART_KEY has 5 bytes", "unknownKey"}},
		{name: "http without signing secret", env: map[string]string{"PULLCHECK_SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-1"}, wantErr: []string{"SLACK_SIGNING_SECRET"}},
		{name: "unknown mode", env: map[string]string{"PULLCHECK_SLACK_MODE": "rtm", "SLACK_BOT_TOKEN": "xoxb-1"}, wantErr: []string{"socket or http"}},
		{name: "approvers need a key", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PULLCHECK_SLACK_CONFIG": "/etc/pullcheck/slack.yaml"}, wantErr: []string{"PULLCHECK_RESTART_KEY must be set"}},
		{name: "missing rules file", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PULLCHECK_SLACK_CONFIG": "/nope.yaml"}, wantErr: []string{"/nope.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSlack(env(tc.env), read)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("LoadSlack() error = nil, want %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				for _, secret := range []string{"xoxp-user", "short", "s3cr3t"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q leaks a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadSlack() error = %v", err)
			}
			tc.check(t, s)
			if out := fmt.Sprintf("%+v", s); strings.Contains(out, "xoxb-1") || strings.Contains(out, "s3cr3t") || strings.Contains(out, key) {
				t.Errorf("%%+v of the settings leaks a secret: %s", out)
			}
		})
	}
}
