package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// The restart button's value is an opaque token:
//
//	base64url( payload || HMAC-SHA256(key, tokenDomain || payload) )
//	payload = version(1) | expiry (uvarint Unix seconds) | 8 length-prefixed strings:
//	          cluster, namespace, workload kind, workload name, pod, pod UID, cause, offer ID
//
// It is not encrypted: everything in it is on the message anyway. The MAC binds it to the
// key and the expiry ends it; a used offer is refused by the offer registry and, across
// processes, by the Restarter's exactly-once per offer ID.

var (
	// ErrTokenInvalid: the token was altered, is not a restart token, or is for another cluster.
	ErrTokenInvalid = errors.New("restart token is not valid")
	// ErrTokenExpired: the token is authentic and its offer has ended.
	ErrTokenExpired = errors.New("restart token has expired")
)

const (
	tokenVersion = 2 // 2: the channel the offer was posted in
	tokenDomain  = "pullcheck/restart-offer/v1\x00"
	// maxButtonValue is Slack's limit on a button's value.
	maxButtonValue = 2000
	// minKeyLen is the shortest signing key accepted: as long as the MAC.
	minKeyLen    = sha256.Size
	offerIDBytes = 12
)

// SigningKey is the secret that signs restart tokens. It prints as [redacted] in every
// format, in slog and in encoders, so that a logged Config never leaks it.
type SigningKey []byte

func (SigningKey) String() string                 { return "[redacted]" }
func (k SigningKey) GoString() string             { return k.String() }
func (k SigningKey) LogValue() slog.Value         { return slog.StringValue(k.String()) }
func (k SigningKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// offer is what a restart button promises: one restart of one workload, on behalf of one
// pod's diagnosis, until it expires.
type offer struct {
	Cluster   string
	Namespace string
	Kind      string // Deployment, StatefulSet, DaemonSet
	Name      string
	Pod       string
	PodUID    string
	Cause     diagnosis.Cause
	ID        string // random, unique per button
	// Channel is set on offers the bot posted on its own (channel alerts): a click there is
	// allowed even when no channel rule names it, since the alert routes chose it.
	Channel string
	Expires time.Time
}

func (o offer) workload() string { return o.Kind + "/" + o.Name }

// newOfferID returns a random offer ID (96 bits, base64url).
func newOfferID() string {
	var b [offerIDBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenSigner signs and verifies restart tokens for one cluster.
type tokenSigner struct {
	key     []byte
	cluster string
	now     func() time.Time
}

// sign encodes o and signs it. o.Cluster is set to the signer's cluster.
func (s tokenSigner) sign(o offer) (string, error) {
	if len(s.key) < minKeyLen {
		return "", fmt.Errorf("restart token key is %d bytes, want at least %d", len(s.key), minKeyLen)
	}
	o.Cluster = s.cluster
	if o.Expires.Unix() <= 0 {
		return "", fmt.Errorf("restart offer %s has no expiry", o.ID)
	}
	payload := []byte{tokenVersion}
	payload = binary.AppendUvarint(payload, uint64(o.Expires.Unix()))
	for _, f := range o.fields() {
		payload = binary.AppendUvarint(payload, uint64(len(*f)))
		payload = append(payload, *f...)
	}
	token := base64.RawURLEncoding.EncodeToString(append(payload, s.mac(payload)...))
	if len(token) > maxButtonValue {
		return "", fmt.Errorf("restart token for %s is %d characters, more than Slack's %d", o.workload(), len(token), maxButtonValue)
	}
	return token, nil
}

// verify checks a token's MAC in constant time, then its cluster and expiry. An expired
// token returns its offer with ErrTokenExpired; everything else that fails is ErrTokenInvalid.
func (s tokenSigner) verify(token string) (offer, error) {
	if len(s.key) < minKeyLen {
		return offer{}, fmt.Errorf("%w: no signing key configured", ErrTokenInvalid)
	}
	if len(token) > maxButtonValue {
		return offer{}, fmt.Errorf("%w: %d characters", ErrTokenInvalid, len(token))
	}
	// The decoder skips \r and \n; a token is exactly base64url, nothing else.
	if strings.IndexFunc(token, notBase64URL) >= 0 {
		return offer{}, fmt.Errorf("%w: not base64url", ErrTokenInvalid)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return offer{}, fmt.Errorf("%w: not base64url", ErrTokenInvalid)
	}
	if len(raw) < 1+sha256.Size {
		return offer{}, fmt.Errorf("%w: too short", ErrTokenInvalid)
	}
	payload, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(mac, s.mac(payload)) {
		return offer{}, fmt.Errorf("%w: signature mismatch", ErrTokenInvalid)
	}
	o, err := decodeOffer(payload)
	if err != nil {
		return offer{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if o.Cluster != s.cluster {
		return offer{}, fmt.Errorf("%w: signed for cluster %q, this is %q", ErrTokenInvalid, o.Cluster, s.cluster)
	}
	if !s.now().Before(o.Expires) {
		return o, fmt.Errorf("%w: offer %s ended at %s", ErrTokenExpired, o.ID, o.Expires.UTC().Format(time.RFC3339))
	}
	return o, nil
}

func notBase64URL(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

func (s tokenSigner) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(tokenDomain))
	h.Write(payload)
	return h.Sum(nil)
}

// fields lists the string fields in their encoding order.
func (o *offer) fields() []*string {
	cause := (*string)(&o.Cause)
	return []*string{&o.Cluster, &o.Namespace, &o.Kind, &o.Name, &o.Pod, &o.PodUID, cause, &o.ID, &o.Channel}
}

func decodeOffer(p []byte) (offer, error) {
	if len(p) == 0 || p[0] != tokenVersion {
		return offer{}, errors.New("unknown version")
	}
	p = p[1:]
	exp, n := binary.Uvarint(p)
	if n <= 0 || exp > 1<<40 {
		return offer{}, errors.New("bad expiry")
	}
	p = p[n:]
	o := offer{Expires: time.Unix(int64(exp), 0)}
	for _, f := range o.fields() {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return offer{}, errors.New("bad field")
		}
		*f = string(p[n : n+int(l)])
		p = p[n+int(l):]
	}
	if len(p) != 0 {
		return offer{}, errors.New("trailing bytes")
	}
	return o, nil
}
