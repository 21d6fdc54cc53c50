package registryfake

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// selfSigned makes the registry's certificate: self-signed (it is its own CA), for
// 127.0.0.1, ::1, localhost and hosts, valid from 2000 to 2100 so that tests with any clock
// accept it.
func selfSigned(hosts []string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// A subject of its own: a client that trusts another fake registry must not take
		// that one's certificate for this one's issuer.
		Subject:               pkix.Name{Organization: []string{"registryfake"}, CommonName: "registryfake " + serial.Text(16)},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              append([]string{"localhost"}, hostNames(hosts)...),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, nil
}

// hostNames drops ports from hosts.
func hostNames(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if name, _, err := net.SplitHostPort(h); err == nil {
			h = name
		}
		out = append(out, h)
	}
	return out
}

func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// serves reports whether the registry answers for host (without port).
func (r *Registry) serves(host string) bool {
	for _, h := range hostNames(r.opts.Hosts) {
		if h == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(h, "*"); ok && strings.HasSuffix(host, suffix) && !strings.Contains(strings.TrimSuffix(host, suffix), ".") {
			return true
		}
	}
	return false
}

// Transport returns a transport for clients of the registries: it dials a registry's
// listener for every host the registry serves (any port), trusts the certificates of the
// registries that are not Untrusted, dials loopback addresses as they are, and fails every
// other host as an unknown name (a *net.DNSError), so that no request leaves the process.
func Transport(regs ...*Registry) *http.Transport {
	pool := x509.NewCertPool()
	for _, r := range regs {
		if r.opts.Untrusted {
			continue
		}
		if c, err := x509.ParseCertificate(r.cert); err == nil {
			pool.AddCert(c)
		}
	}
	var d net.Dialer
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 8,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			for _, r := range regs {
				if r.serves(host) {
					return d.DialContext(ctx, network, r.Host())
				}
			}
			if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
				return d.DialContext(ctx, network, addr)
			}
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		},
	}
}
