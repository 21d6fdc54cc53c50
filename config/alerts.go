package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Alert defaults, as documented in the README.
const (
	DefaultAlertSchedule  = "*/10 * * * *"
	DefaultFireDelay      = 2 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
	DefaultResolveGrace   = 5 * time.Minute
	DefaultStateConfigMap = "pullcheck-incidents"
	DefaultLeaseName      = "pullcheck-leader"
)

// Alerts configures the channel alerts: the `alerts:` section of the PULLCHECK_SLACK_CONFIG
// file. Without the section there are no alerts.
type Alerts struct {
	// Schedules are cron specs for the scans (five fields: minute hour day-of-month month
	// day-of-week, or @hourly, @every 10m…), in TimeZone (an IANA name; default UTC).
	// Default: every 10 minutes.
	Schedules []string `json:"schedules"`
	TimeZone  string   `json:"timeZone"`
	// Watch raises incidents within seconds of a pod failing, between scans (default true).
	Watch *bool `json:"watch"`
	// FireDelay: a failure must last this long to alert, so a pull that succeeds on its own
	// retry never does (default 2m).
	FireDelay Duration `json:"fireDelay"`
	// RepeatInterval: one reminder in the thread after this long still failing (default 4h).
	RepeatInterval Duration `json:"repeatInterval"`
	// ResolveGrace: no failing pod for this long resolves the alert (default 5m).
	ResolveGrace Duration `json:"resolveGrace"`
	// Routes send the alerts of namespaces to channels: the first that matches wins.
	Routes []AlertRoute `json:"routes"`
	// DefaultChannel gets the alerts of namespaces no route matches (none: no alert).
	DefaultChannel string `json:"defaultChannel"`
	// StateConfigMap and LeaseName are the ConfigMap that keeps the incidents and the Lease
	// of the leader election, both in the bot's own namespace.
	StateConfigMap string `json:"stateConfigMap"`
	LeaseName      string `json:"leaseName"`
}

// AlertRoute sends the alerts of some namespaces to one channel: namespaces by name or glob
// ("payments-*"), and/or a label selector on the namespace ("team=payments").
type AlertRoute struct {
	Channel    string   `json:"channel"`
	Namespaces []string `json:"namespaces,omitempty"`
	Selector   string   `json:"selector,omitempty"`
}

// Location returns the schedules' time zone.
func (a Alerts) Location() (*time.Location, error) {
	if a.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("alerts.timeZone %q is not a time zone name such as Europe/Berlin or UTC", a.TimeZone)
	}
	return loc, nil
}

// WatchOn says whether the pod watch runs.
func (a Alerts) WatchOn() bool { return a.Watch == nil || *a.Watch }

// Channels lists the channels the routes name, the default last, without duplicates.
func (a Alerts) Channels() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range append(routeChannels(a.Routes), a.DefaultChannel) {
		if c = strings.TrimSpace(c); c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func routeChannels(routes []AlertRoute) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.Channel
	}
	return out
}

// withDefaults fills in the defaults.
func (a Alerts) withDefaults() Alerts {
	if len(a.Schedules) == 0 {
		a.Schedules = []string{DefaultAlertSchedule}
	}
	if a.FireDelay == 0 {
		a.FireDelay = Duration(DefaultFireDelay)
	}
	if a.RepeatInterval == 0 {
		a.RepeatInterval = Duration(DefaultRepeatInterval)
	}
	if a.ResolveGrace == 0 {
		a.ResolveGrace = Duration(DefaultResolveGrace)
	}
	if a.StateConfigMap == "" {
		a.StateConfigMap = DefaultStateConfigMap
	}
	if a.LeaseName == "" {
		a.LeaseName = DefaultLeaseName
	}
	return a
}

// validate reports what the config package can check; the cron specs, globs and selectors
// are checked by the packages that use them, and the channels against Slack, at start-up.
func (a Alerts) validate() error {
	var errs []error
	if len(a.Routes) == 0 && strings.TrimSpace(a.DefaultChannel) == "" {
		errs = append(errs, errors.New("alerts: no route and no defaultChannel: add routes (channel + namespaces or selector) or a defaultChannel"))
	}
	if _, err := a.Location(); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"fireDelay", a.FireDelay}, {"repeatInterval", a.RepeatInterval}, {"resolveGrace", a.ResolveGrace}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("alerts.%s is %s: it must be positive", d.name, time.Duration(d.v)))
		}
	}
	for _, n := range []struct{ key, v string }{{"stateConfigMap", a.StateConfigMap}, {"leaseName", a.LeaseName}} {
		if problems := validation.IsDNS1123Subdomain(n.v); len(problems) > 0 {
			errs = append(errs, fmt.Errorf("alerts.%s %q is not a valid object name: %s", n.key, n.v, strings.Join(problems, "; ")))
		}
	}
	return errors.Join(errs...)
}
