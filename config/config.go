package config

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Config holds the settings shared by pullcheck's commands.
type Config struct {
	// Cluster is the EKS cluster name, used to fill in eks commands (PULLCHECK_CLUSTER).
	Cluster string
	// ReadSecrets allows reading the type and registry host names of referenced pull
	// secrets, never their credentials (PULLCHECK_READ_SECRETS, default true).
	ReadSecrets bool
	// Timeout bounds one diagnose or scan against the cluster (PULLCHECK_TIMEOUT, default 60s).
	Timeout time.Duration
	// AWS enables the cloud evidence checks (PULLCHECK_AWS, default true). They use the
	// default AWS credential chain and are reported as skipped when it yields nothing.
	AWS bool
	// Probe enables the registry probe: the bot reads each failing image's manifest from its
	// registry (anonymously, ECR with the bot's own token) (PULLCHECK_PROBE, default true).
	Probe bool
	// ProbeSecretNamespaces are the namespaces whose pull secrets the probe may use
	// (PULLCHECK_PROBE_SECRET_NAMESPACES, comma-separated; default none).
	ProbeSecretNamespaces []string
	// ScanNamespaces limits scans to these namespaces; empty means all (PULLCHECK_SCAN_NAMESPACES,
	// comma-separated).
	ScanNamespaces []string
	// RegistryRoles maps a registry account ID to the ARN of a role in that account that the
	// bot assumes to read its ECR repositories and their KMS keys (PULLCHECK_AWS_REGISTRY_ROLES,
	// comma-separated ACCOUNT_ID=ROLE_ARN pairs; default none: the bot's own credentials).
	RegistryRoles map[string]string
}

// Defaults returns the settings used when nothing is configured.
func Defaults() Config {
	return Config{ReadSecrets: true, AWS: true, Probe: true, Timeout: 60 * time.Second}
}

// Load reads the settings through lookupEnv and validates them. The error joins every problem.
func Load(lookupEnv func(string) (string, bool)) (Config, error) {
	c := Defaults()
	var errs []error
	if v, ok := lookupEnv("PULLCHECK_CLUSTER"); ok {
		c.Cluster = strings.TrimSpace(v)
	}
	if v, ok := lookupEnv("PULLCHECK_READ_SECRETS"); ok && strings.TrimSpace(v) != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_READ_SECRETS=%q: want true or false", v))
		}
		c.ReadSecrets = b
	}
	if v, ok := lookupEnv("PULLCHECK_AWS"); ok && strings.TrimSpace(v) != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_AWS=%q: want true or false", v))
		}
		c.AWS = b
	}
	if v, ok := lookupEnv("PULLCHECK_PROBE"); ok && strings.TrimSpace(v) != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_PROBE=%q: want true or false", v))
		}
		c.Probe = b
	}
	if v, ok := lookupEnv("PULLCHECK_PROBE_SECRET_NAMESPACES"); ok {
		c.ProbeSecretNamespaces = splitList(v)
	}
	if v, ok := lookupEnv("PULLCHECK_TIMEOUT"); ok && strings.TrimSpace(v) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_TIMEOUT=%q: want a duration such as 60s or 2m", v))
		}
		c.Timeout = d
	}
	if v, ok := lookupEnv("PULLCHECK_SCAN_NAMESPACES"); ok {
		c.ScanNamespaces = splitList(v)
	}
	if v, ok := lookupEnv("PULLCHECK_AWS_REGISTRY_ROLES"); ok {
		roles, err := ParseRegistryRoles(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_AWS_REGISTRY_ROLES: %w", err))
		}
		c.RegistryRoles = roles
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout must be positive, got %s", c.Timeout))
	}
	if c.Cluster != "" && len(c.Cluster) > 100 {
		errs = append(errs, fmt.Errorf("cluster name %q is longer than EKS allows (100 characters)", c.Cluster))
	}
	for _, ns := range c.ScanNamespaces {
		if problems := validation.IsDNS1123Label(ns); len(problems) > 0 {
			errs = append(errs, fmt.Errorf("scan namespace %q is not a valid namespace name: %s", ns, strings.Join(problems, "; ")))
		}
	}
	for _, ns := range c.ProbeSecretNamespaces {
		if problems := validation.IsDNS1123Label(ns); len(problems) > 0 {
			errs = append(errs, fmt.Errorf("probe secret namespace %q is not a valid namespace name: %s", ns, strings.Join(problems, "; ")))
		}
	}
	for _, account := range slices.Sorted(maps.Keys(c.RegistryRoles)) {
		if err := validateRegistryRole(account, c.RegistryRoles[account]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ParseRegistryRoles parses and validates comma-separated ACCOUNT_ID=ROLE_ARN pairs
// ("222233334444=arn:aws:iam::222233334444:role/pullcheck-registry-read"): the account is 12
// digits and the ARN an IAM role of that account. The error joins every bad pair; the good
// pairs are returned either way.
func ParseRegistryRoles(v string) (map[string]string, error) {
	var errs []error
	roles := map[string]string{}
	for _, pair := range splitList(v) {
		account, arn, ok := strings.Cut(pair, "=")
		account, arn = strings.TrimSpace(account), strings.TrimSpace(arn)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%q: want ACCOUNT_ID=ROLE_ARN", pair))
		case roles[account] != "" && roles[account] != arn:
			errs = append(errs, fmt.Errorf("account %s has two roles: %s and %s", account, roles[account], arn))
		case validateRegistryRole(account, arn) != nil:
			errs = append(errs, validateRegistryRole(account, arn))
		default:
			roles[account] = arn
		}
	}
	if len(roles) == 0 {
		roles = nil
	}
	return roles, errors.Join(errs...)
}

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	// An IAM role ARN: arn:<partition>:iam::<account>:role/<path/><name>.
	roleARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
)

// validateRegistryRole checks that account is an AWS account ID and arn an IAM role of it.
func validateRegistryRole(account, arn string) error {
	if !accountRE.MatchString(account) {
		return fmt.Errorf("registry account %q must be a 12-digit AWS account ID", account)
	}
	m := roleARNRE.FindStringSubmatch(arn)
	switch {
	case m == nil:
		return fmt.Errorf("registry role %q for account %s must be an IAM role ARN such as arn:aws:iam::%s:role/pullcheck-registry-read", arn, account, account)
	case m[2] != account:
		return fmt.Errorf("registry role %s is in account %s, not in the registry account %s", arn, m[2], account)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
