package config

import (
	"errors"
	"fmt"
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
	return errors.Join(errs...)
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
