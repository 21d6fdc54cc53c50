package diagnosis

import "testing"

func TestCheckTLS(t *testing.T) {
	tlsErr := func(image, x509 string) string {
		return resolveErr(image, `failed to do request: Head "`+headURL(image)+`": tls: failed to verify certificate: x509: `+x509)
	}
	const harbor = "harbor.internal/team/app:3.1"
	runCheckCases(t, checkTLS, []checkCase{
		{
			name:  "private CA on a registry with a port",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", tlsErr(tPrivate, "certificate signed by unknown authority"))),
			cause: CauseTLSCertificate, conf: Confirmed,
			says: []string{"Node " + tNode + " does not trust the TLS certificate of registry.example.com:5000"},
			fixes: []string{
				"openssl s_client -connect registry.example.com:5000 -servername registry.example.com -showcerts",
				"sudo mkdir -p /etc/containerd/certs.d/registry.example.com:5000",
				`server = "https://registry.example.com:5000"`,
				"sudo tee /etc/containerd/certs.d/registry.example.com:5000/hosts.toml",
			},
			notes:   []string{"skip_verify"},
			restart: true,
		},
		{
			name:  "expired certificate",
			facts: newFacts(withImage("api", harbor), pullFailed("api", tlsErr(harbor, "certificate has expired or is not yet valid: current time 2026-08-22T10:00:00Z is after 2026-08-01T00:00:00Z"))),
			cause: CauseTLSCertificate, conf: Confirmed,
			says:    []string{"harbor.internal has expired"},
			fixes:   []string{"openssl s_client -connect harbor.internal:443 -servername harbor.internal </dev/null"},
			restart: true,
		},
		{
			name:  "certificate for another name",
			facts: newFacts(withImage("api", harbor), pullFailed("api", tlsErr(harbor, "certificate is valid for registry.example.org, not harbor.internal"))),
			cause: CauseTLSCertificate, conf: Confirmed,
			says:    []string{"does not name that host"},
			restart: true,
		},
		{
			name:  "TLS-intercepting proxy in front of ECR",
			facts: newFacts(pullFailed("api", tlsErr(ecrImage, "certificate signed by unknown authority"))),
			cause: CauseTLSCertificate, conf: Confirmed,
			says:    []string{"111122223333.dkr.ecr.us-west-2.amazonaws.com"},
			restart: true,
		},
		{name: "timeout", facts: newFacts(pullFailed("api", timeoutErr(ecrImage, "52.94.1.10"))), wantNil: true},
	})
}
