package handlers

import (
	"crypto/rand"
	"encoding/hex"
)

// UserError is an error whose Public text may be shown in Slack as it is. Err is the
// internal cause: it is logged, never shown (tailscale's vizerror).
type UserError struct {
	Public string
	Err    error
}

func (e UserError) Error() string {
	if e.Err == nil {
		return e.Public
	}
	return e.Public + ": " + e.Err.Error()
}

func (e UserError) Unwrap() error { return e.Err }

// newRef returns a short random reference that ties an "internal error (ref …)" message to
// its log line.
func newRef() string {
	var b [5]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
