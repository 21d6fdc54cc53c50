package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Slack holds the settings of `pullcheck serve`.
type Slack struct {
	// Mode is "socket" (default: no ingress needed) or "http".
	Mode string
	// BotToken (xoxb-…) is SLACK_BOT_TOKEN; AppToken (xapp-…, Socket Mode) is SLACK_APP_TOKEN;
	// SigningSecret (HTTP mode) is SLACK_SIGNING_SECRET.
	BotToken, AppToken, SigningSecret Secret
	// Listen is the HTTP mode's address (PULLCHECK_LISTEN, default :8080).
	Listen string
	// RestartKey signs the approve-to-restart buttons (PULLCHECK_RESTART_KEY: at least 32
	// bytes, raw or base64).
	RestartKey Secret
	// Rules come from the file named by PULLCHECK_SLACK_CONFIG.
	Rules SlackRules
	// HealthListen is the address of /metrics, /healthz and /readyz
	// (PULLCHECK_HEALTH_LISTEN, default :9090).
	HealthListen string
	// Namespace is the bot's own namespace (POD_NAMESPACE, else the service account's
	// namespace file), where the alert state and the leader Lease live.
	Namespace string
	// APIURL overrides Slack's Web API URL (SLACK_API_URL), for a proxy or a local test
	// server; it must end in "/".
	APIURL string
	// Identity is this replica's name in the leader election (POD_NAME, else the host name).
	Identity string
}

// SlackRules say which channels may ask about which namespaces and who may approve restarts.
type SlackRules struct {
	Channels []struct {
		Channel    string   `json:"channel"`
		Namespaces []string `json:"namespaces"`
	} `json:"channels"`
	// DefaultNamespaces apply to channels no rule names (none: refuse them).
	DefaultNamespaces []string `json:"defaultNamespaces"`
	Approvers         []struct {
		Namespaces []string `json:"namespaces"`
		// Approvers are Slack user IDs (U…, W…) and user-group IDs (S…).
		Approvers []string `json:"approvers"`
	} `json:"approvers"`
	OfferTTL       Duration `json:"offerTTL"`
	RolloutTimeout Duration `json:"rolloutTimeout"`
	// Alerts turns on the channel alerts (nil: none).
	Alerts *Alerts `json:"alerts"`
}

// serviceAccountNamespace is where Kubernetes mounts the pod's namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Duration reads "15m" style durations from YAML.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 15m", s)
	}
	*d = Duration(v)
	return nil
}

// LoadSlack reads the serve settings through lookupEnv and readFile (os.ReadFile) and
// validates them; the error joins every problem, with what to change.
func LoadSlack(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (Slack, error) {
	get := func(k string) string { v, _ := lookupEnv(k); return strings.TrimSpace(v) }
	s := Slack{
		Mode:          strings.ToLower(get("PULLCHECK_SLACK_MODE")),
		BotToken:      Secret(get("SLACK_BOT_TOKEN")),
		AppToken:      Secret(get("SLACK_APP_TOKEN")),
		SigningSecret: Secret(get("SLACK_SIGNING_SECRET")),
		Listen:        get("PULLCHECK_LISTEN"),
		HealthListen:  get("PULLCHECK_HEALTH_LISTEN"),
		Namespace:     get("POD_NAMESPACE"),
		Identity:      get("POD_NAME"),
		APIURL:        get("SLACK_API_URL"),
	}
	if s.APIURL != "" && !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/"
	}
	if s.HealthListen == "" {
		s.HealthListen = ":9090"
	}
	if s.Mode == "" {
		s.Mode = "socket"
	}
	if s.Listen == "" {
		s.Listen = ":8080"
	}
	var errs []error
	switch s.Mode {
	case "socket":
		if !strings.HasPrefix(s.AppToken.Reveal(), "xapp-") {
			errs = append(errs, errors.New(`SLACK_APP_TOKEN must be set to the app-level token, which starts with "xapp-" (Socket Mode); or set PULLCHECK_SLACK_MODE=http`))
		}
	case "http":
		if s.SigningSecret == "" {
			errs = append(errs, errors.New("SLACK_SIGNING_SECRET must be set to the app's signing secret (HTTP mode verifies every request with it)"))
		}
	default:
		errs = append(errs, fmt.Errorf("PULLCHECK_SLACK_MODE=%q: want socket or http", s.Mode))
	}
	if !strings.HasPrefix(s.BotToken.Reveal(), "xoxb-") {
		errs = append(errs, errors.New(`SLACK_BOT_TOKEN must be set to the bot token, which starts with "xoxb-"`))
	}
	if raw := get("PULLCHECK_RESTART_KEY"); raw != "" {
		key := []byte(raw)
		if b, err := base64.StdEncoding.DecodeString(raw); err == nil && len(b) >= 32 {
			key = b
		}
		if len(key) < 32 {
			errs = append(errs, fmt.Errorf("PULLCHECK_RESTART_KEY has %d bytes: it needs at least 32 random bytes (e.g. openssl rand -base64 32)", len(key)))
		}
		s.RestartKey = Secret(key)
	}
	if path := get("PULLCHECK_SLACK_CONFIG"); path != "" {
		raw, err := readFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_SLACK_CONFIG: %w", err))
		} else if err := yaml.UnmarshalStrict(raw, &s.Rules); err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_SLACK_CONFIG %s: %w", path, err))
		}
	}
	if a := s.Rules.Alerts; a != nil {
		*a = a.withDefaults()
		if err := a.validate(); err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_SLACK_CONFIG: %w", err))
		}
		if s.Namespace == "" {
			if b, err := readFile(serviceAccountNamespace); err == nil {
				s.Namespace = strings.TrimSpace(string(b))
			}
		}
		if s.Namespace == "" {
			errs = append(errs, errors.New("alerts are configured, so the bot's namespace is needed (for its state ConfigMap and leader Lease): set POD_NAMESPACE (the Helm chart does)"))
		} else if problems := validation.IsDNS1123Label(s.Namespace); len(problems) > 0 {
			errs = append(errs, fmt.Errorf("POD_NAMESPACE=%q is not a namespace name: %s", s.Namespace, strings.Join(problems, "; ")))
		}
	}
	if len(s.Rules.Approvers) > 0 && s.RestartKey == "" {
		errs = append(errs, errors.New("approvers are configured, so PULLCHECK_RESTART_KEY must be set (at least 32 random bytes: openssl rand -base64 32)"))
	}
	return s, errors.Join(errs...)
}
