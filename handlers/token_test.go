package handlers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
)

var testKey = SigningKey("0123456789abcdef0123456789abcdef-test-signing-key")

func testOffer() offer {
	return offer{
		Cluster:   "prod-eks",
		Namespace: "payments",
		Kind:      "Deployment",
		Name:      "payments-api",
		Pod:       apiPod,
		PodUID:    "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
		Cause:     diagnosis.CauseRegistryCredentials,
		ID:        "b5Vx3kQ9mN2pL7rT",
		Expires:   testNow.Add(15 * time.Minute),
	}
}

func TestTokenRoundTrip(t *testing.T) {
	now := testNow
	s := tokenSigner{key: testKey, cluster: "prod-eks", now: func() time.Time { return now }}
	o := testOffer()
	token, err := s.sign(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q is not unpadded base64url", token)
	}
	got, err := s.verify(token)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("verify(sign(o)) mismatch (-want +got):\n%s", diff)
	}
}

func TestTokenVerify(t *testing.T) {
	s := tokenSigner{key: testKey, cluster: "prod-eks", now: func() time.Time { return testNow }}
	good, err := s.sign(testOffer())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := func(change func(*offer), signer tokenSigner) string {
		o := testOffer()
		change(&o)
		tok, err := signer.sign(o)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	at := func(d time.Duration) tokenSigner {
		return tokenSigner{key: testKey, cluster: "prod-eks", now: func() time.Time { return testNow.Add(d) }}
	}
	tests := []struct {
		name   string
		token  string
		signer tokenSigner
		want   error
	}{
		{"valid", good, s, nil},
		{"valid a second before expiry", good, at(15*time.Minute - time.Second), nil},
		{"expired at expiry", good, at(15 * time.Minute), ErrTokenExpired},
		{"expired later", good, at(24 * time.Hour), ErrTokenExpired},
		{"other cluster", good, tokenSigner{key: testKey, cluster: "staging-eks", now: s.now}, ErrTokenInvalid},
		{"other key", good, tokenSigner{key: SigningKey(strings.Repeat("x", 32)), cluster: "prod-eks", now: s.now}, ErrTokenInvalid},
		{"no key", good, tokenSigner{cluster: "prod-eks", now: s.now}, ErrTokenInvalid},
		{"payload byte altered", flip(5), s, ErrTokenInvalid},
		{"last payload byte altered", flip(len(raw) - 33), s, ErrTokenInvalid},
		{"MAC altered", flip(len(raw) - 1), s, ErrTokenInvalid},
		{"truncated", good[:len(good)-4], s, ErrTokenInvalid},
		{"extended", good + "AAAA", s, ErrTokenInvalid},
		{"padded", good + "=", s, ErrTokenInvalid},
		{"line break inside", good[:20] + "\r\n" + good[20:], s, ErrTokenInvalid},
		{"standard base64", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", s, ErrTokenInvalid},
		{"empty", "", s, ErrTokenInvalid},
		{"not base64", "payments/payments-api", s, ErrTokenInvalid},
		{"too long", strings.Repeat("A", 2001), s, ErrTokenInvalid},
		{"expiry moved by the holder", func() string {
			// Re-encode with a later expiry but the old MAC.
			o := testOffer()
			o.Expires = o.Expires.Add(time.Hour)
			other, _ := s.sign(o)
			b, _ := base64.RawURLEncoding.DecodeString(other)
			b = append(b[:len(b)-32], raw[len(raw)-32:]...)
			return base64.RawURLEncoding.EncodeToString(b)
		}(), s, ErrTokenInvalid},
		{"other workload, same key and cluster", signed(func(o *offer) { o.Name = "billing-api" }, s), s, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.signer.verify(tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTokenExpiredKeepsOffer(t *testing.T) {
	s := tokenSigner{key: testKey, cluster: "prod-eks", now: func() time.Time { return testNow.Add(time.Hour) }}
	tok, err := s.sign(testOffer())
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.verify(tok)
	if !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("verify = %v, want ErrTokenExpired", err)
	}
	if o.Namespace != "payments" || o.Pod != apiPod {
		t.Errorf("expired token gave offer %+v; want its (authentic) contents for the answer", o)
	}
}

func TestTokenFitsButtonValue(t *testing.T) {
	s := tokenSigner{key: testKey, cluster: strings.Repeat("c", 100), now: func() time.Time { return testNow }}
	o := testOffer()
	o.Namespace = strings.Repeat("n", 63)
	o.Name = strings.Repeat("w", 253)
	o.Pod = strings.Repeat("p", 253)
	o.Kind = "StatefulSet"
	o.Cause = diagnosis.CauseEndpointPolicyDenied
	tok, err := s.sign(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > maxButtonValue {
		t.Errorf("longest token is %d characters, more than %d", len(tok), maxButtonValue)
	}
	if _, err := s.verify(tok); err != nil {
		t.Errorf("verify longest token: %v", err)
	}
}

func TestSignRefusesShortKey(t *testing.T) {
	s := tokenSigner{key: []byte("short"), cluster: "prod-eks", now: func() time.Time { return testNow }}
	if _, err := s.sign(testOffer()); err == nil {
		t.Error("sign with a 5-byte key succeeded")
	}
}

func TestSigningKeyRedacts(t *testing.T) {
	key := SigningKey("super-secret-signing-key-material-0123456789")
	cfg := Config{Cluster: "prod-eks", TokenKey: key}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "key", key)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg, "key", key)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v":    fmt.Sprintf("%v", cfg),
		"%+v":   fmt.Sprintf("%+v", cfg),
		"%#v":   fmt.Sprintf("%#v", cfg),
		"%s":    fmt.Sprintf("%s", key),
		"%x":    fmt.Sprintf("%x", key),
		"%q":    fmt.Sprintf("%q", key),
		"json":  string(js),
		"slog":  logged.String(),
		"error": fmt.Errorf("config %v", cfg).Error(),
	} {
		if strings.Contains(out, "super-secret") || strings.Contains(out, fmt.Sprintf("%x", []byte(key))[:20]) {
			t.Errorf("%s leaks the key: %s", name, out)
		}
	}
}

func FuzzVerify(f *testing.F) {
	s := tokenSigner{key: testKey, cluster: "prod-eks", now: func() time.Time { return testNow }}
	good, err := s.sign(testOffer())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, good[:40], "", "AQ", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("_", 100)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		o, err := s.verify(token)
		switch {
		case err == nil:
			// Only a token signed with the key verifies: re-signing must give the same bytes.
			again, serr := s.sign(o)
			if serr != nil || again != token {
				t.Fatalf("verify(%q) accepted a token that sign does not produce (%q, %v)", token, again, serr)
			}
		case !errors.Is(err, ErrTokenInvalid) && !errors.Is(err, ErrTokenExpired):
			t.Fatalf("verify(%q) = %v: not a token error", token, err)
		}
	})
}
