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
	// ScanNamespaces limits scans to these namespaces; empty means all (PULLCHECK_SCAN_NAMESPACES,
	// comma-separated).
	ScanNamespaces []string
}

// Defaults returns the settings used when nothing is configured.
func Defaults() Config {
	return Config{ReadSecrets: true, Timeout: 60 * time.Second}
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
	if v, ok := lookupEnv("PULLCHECK_TIMEOUT"); ok && strings.TrimSpace(v) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("PULLCHECK_TIMEOUT=%q: want a duration such as 60s or 2m", v))
		}
		c.Timeout = d
	}
	if v, ok := lookupEnv("PULLCHECK_SCAN_NAMESPACES"); ok {
		for _, ns := range strings.Split(v, ",") {
			if ns = strings.TrimSpace(ns); ns != "" {
				c.ScanNamespaces = append(c.ScanNamespaces, ns)
			}
		}
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
	return errors.Join(errs...)
}
