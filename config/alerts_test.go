package config

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func TestLoadSlackAlerts(t *testing.T) {
	files := map[string]string{
		"/etc/pullcheck/alerts.yaml": `
alerts:
  schedules: ["*/5 * * * *", "@hourly"]
  timeZone: Europe/Berlin
  watch: false
  fireDelay: 3m
  routes:
    - channel: "#payments-alerts"
      namespaces: ["payments", "payments-*"]
    - channel: C0SEARCH
      selector: team=search
  defaultChannel: "#platform-alerts"
`,
		"/etc/pullcheck/minimal.yaml": "alerts:\n  defaultChannel: \"#platform-alerts\"\n",
		"/etc/pullcheck/bad.yaml": `
alerts:
  timeZone: Mars/Olympus
  fireDelay: -1m
  stateConfigMap: Not_Valid
`,
		serviceAccountNamespace: "pullcheck\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
	}
	base := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	t.Run("full section", func(t *testing.T) {
		s, err := LoadSlack(env(with("PULLCHECK_SLACK_CONFIG", "/etc/pullcheck/alerts.yaml", "POD_NAMESPACE", "ops", "POD_NAME", "pullcheck-abc")), read)
		if err != nil {
			t.Fatal(err)
		}
		a := s.Rules.Alerts
		if a == nil {
			t.Fatal("alerts section not read")
		}
		if len(a.Schedules) != 2 || a.WatchOn() || time.Duration(a.FireDelay) != 3*time.Minute ||
			time.Duration(a.RepeatInterval) != DefaultRepeatInterval || time.Duration(a.ResolveGrace) != DefaultResolveGrace ||
			a.StateConfigMap != DefaultStateConfigMap || a.LeaseName != DefaultLeaseName {
			t.Errorf("alerts = %+v", *a)
		}
		if loc, err := a.Location(); err != nil || loc.String() != "Europe/Berlin" {
			t.Errorf("Location() = %v, %v", loc, err)
		}
		if got := strings.Join(a.Channels(), ","); got != "#payments-alerts,C0SEARCH,#platform-alerts" {
			t.Errorf("Channels() = %s", got)
		}
		if s.Namespace != "ops" || s.Identity != "pullcheck-abc" || s.HealthListen != ":9090" {
			t.Errorf("namespace %q identity %q health %q", s.Namespace, s.Identity, s.HealthListen)
		}
	})
	t.Run("defaults and the service account namespace", func(t *testing.T) {
		s, err := LoadSlack(env(with("PULLCHECK_SLACK_CONFIG", "/etc/pullcheck/minimal.yaml")), read)
		if err != nil {
			t.Fatal(err)
		}
		a := s.Rules.Alerts
		if a.Schedules[0] != DefaultAlertSchedule || !a.WatchOn() || time.Duration(a.FireDelay) != DefaultFireDelay {
			t.Errorf("alerts = %+v", *a)
		}
		if s.Namespace != "pullcheck" {
			t.Errorf("namespace = %q, want the service account's", s.Namespace)
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		_, err := LoadSlack(env(with("PULLCHECK_SLACK_CONFIG", "/etc/pullcheck/bad.yaml", "POD_NAMESPACE", "Bad_NS")), read)
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"no route and no defaultChannel", "Mars/Olympus", "fireDelay is -1m0s", "stateConfigMap \"Not_Valid\"", "POD_NAMESPACE=\"Bad_NS\""} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("no namespace anywhere", func(t *testing.T) {
		noSA := func(p string) ([]byte, error) {
			if p == serviceAccountNamespace {
				return nil, fs.ErrNotExist
			}
			return read(p)
		}
		_, err := LoadSlack(env(with("PULLCHECK_SLACK_CONFIG", "/etc/pullcheck/minimal.yaml")), noSA)
		if err == nil || !strings.Contains(err.Error(), "POD_NAMESPACE") {
			t.Errorf("err = %v, want one naming POD_NAMESPACE", err)
		}
	})
}
