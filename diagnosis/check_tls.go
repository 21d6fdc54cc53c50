package diagnosis

import (
	"fmt"
	"strings"
)

// checkTLS: the node does not trust the registry's certificate (private CA, TLS-intercepting
// proxy, expired or mismatched certificate).
func checkTLS(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigTLS {
		return nil
	}
	x := cmdContext{f, c}
	host := c.Signal.Host
	if host == "" {
		host = c.Image.RegistryHost()
	}
	lower := strings.ToLower(c.Signal.Text)
	v := &Verdict{Cause: CauseTLSCertificate, Confidence: Confirmed,
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the nodes trust the certificate, a new pod pulls at once instead of waiting out the back-off"}}
	switch {
	case strings.Contains(lower, "certificate has expired") || strings.Contains(lower, "not yet valid"):
		v.Summary = fmt.Sprintf("The TLS certificate of %s has expired (or is not yet valid): renew it on the registry.", host)
		v.Fixes = append(v.Fixes, Fix{Title: "See the certificate's validity", Commands: []string{
			fmt.Sprintf("openssl s_client -connect %s -servername %s </dev/null 2>/dev/null | openssl x509 -noout -dates -subject", hostPort(host), hostOnly(host))}})
		return v
	case strings.Contains(lower, "certificate is valid for"):
		v.Summary = fmt.Sprintf("The TLS certificate of %s does not name that host: the image uses a host name the certificate does not cover.", host)
	default:
		v.Summary = fmt.Sprintf("%s does not trust the TLS certificate of %s (a private CA or a TLS-intercepting proxy).", capitalize(x.nodeLabel()), host)
	}
	ca := "/etc/containerd/certs.d/" + host + "/ca.crt"
	v.Fixes = append(v.Fixes,
		Fix{Title: "See who issued the certificate the nodes receive", Commands: []string{
			fmt.Sprintf("openssl s_client -connect %s -servername %s -showcerts </dev/null 2>/dev/null | openssl x509 -noout -issuer -subject", hostPort(host), hostOnly(host))}},
		Fix{Title: "Trust the CA for this registry in containerd on every node (in the launch template user data), then replace the nodes", Commands: []string{
			fmt.Sprintf("sudo mkdir -p /etc/containerd/certs.d/%s", host),
			fmt.Sprintf("sudo cp registry-ca.crt %s", ca),
			fmt.Sprintf(`printf 'server = "https://%s"\n[host."https://%s"]\n  ca = "%s"\n' | sudo tee /etc/containerd/certs.d/%s/hosts.toml`, host, host, ca, host),
		}})
	v.Notes = append(v.Notes, "skip_verify in hosts.toml also silences the error, but it removes the protection TLS gives; trust the CA instead.")
	return v
}

func hostOnly(host string) string {
	if i := strings.LastIndex(host, ":"); i > 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}

func hostPort(host string) string {
	if hostOnly(host) == host {
		return host + ":443"
	}
	return host
}
