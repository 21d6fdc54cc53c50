package config

import "log/slog"

// Secret is a credential (a Slack token, a signing secret). It prints as [redacted] in every
// format and in slog, so that a logged or posted configuration never leaks it.
type Secret string

const redacted = "[redacted]"

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText hides the value from encoders (JSON, YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the value, for the one place that must send it (an API client).
func (s Secret) Reveal() string { return string(s) }
