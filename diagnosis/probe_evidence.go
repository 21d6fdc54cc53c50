package diagnosis

import "fmt"

// probeEvidence weighs the registry probe (the bot's own request for the manifest) against a
// verdict. The probe runs from the bot, not from the node, and, for ECR, with the bot's own
// token: it proves what the registry holds, not what the node may do, so it settles existence
// questions and adds context to the rest.
func probeEvidence(f *Facts, c *Container, v *Verdict) {
	p := f.Probe(c)
	if p == nil || c.Image.IsECR() && p.Status == 0 {
		// For ECR the API is the authority; a probe that got no answer says more about the
		// bot's own network than about the node's.
		return
	}
	who := "the bot's anonymous request"
	switch p.Auth {
	case "ecr-token":
		who = "the bot's request with an ECR token of its own (its AWS role, or the registry account's role)"
	case "pull-secret":
		who = "the bot's request with the pod's pull secret"
	}
	status := ""
	if p.Status != 0 {
		status = fmt.Sprintf(" answered %d", p.Status)
		if p.ErrorCode != "" {
			status += " " + p.ErrorCode
		}
	}
	switch v.Cause {
	case CauseTagNotFound, CauseRepositoryNotFound:
		switch {
		case p.ErrorCode == "MANIFEST_UNKNOWN" && !c.Image.IsECR():
			v.Cause, v.Confidence, v.Alternatives = CauseTagNotFound, Confirmed, nil
			v.Notes = removeString(v.Notes, noteNotFoundAmbiguous)
			v.Summary = fmt.Sprintf("%s has the repository %s but no image %s.", c.Image.Domain, c.Image.Path, c.Image.Reference())
		case p.ErrorCode == "NAME_UNKNOWN" && !c.Image.IsECR():
			v.Cause, v.Alternatives = CauseRepositoryNotFound, nil
			v.Notes = removeString(v.Notes, noteNotFoundAmbiguous)
			v.Confidence = Likely
			if p.Auth != "anonymous" {
				v.Confidence = Confirmed
			}
			v.Summary = fmt.Sprintf("%s has no repository %s.", c.Image.Domain, c.Image.Path)
		case p.Exists == Yes:
			digest := ""
			if p.Digest != "" {
				digest = " (digest " + p.Digest + ")"
			}
			v.Evidence = append(v.Evidence, fmt.Sprintf("conflict: %s finds %s now%s; it was probably pushed after the node's last attempt", who, c.Image.Full, digest))
			return
		}
		if status != "" {
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s for %s%s", who, c.Image.Full, status))
		}
	case CauseRateLimited:
		if p.RateLimit != "" || p.RateRemaining != "" {
			v.Evidence = append(v.Evidence, fmt.Sprintf("Docker Hub's counters for the bot's own address: ratelimit-limit %s, ratelimit-remaining %s (the nodes' NAT address has its own)", orNone(p.RateLimit), orNone(p.RateRemaining)))
		}
		if p.RetryAfter != "" {
			v.Evidence = append(v.Evidence, "the registry asks to retry after "+p.RetryAfter+" seconds")
		}
	case CauseTLSCertificate:
		if p.TLSError != "" {
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s fails the same way (%s): the registry's certificate is not trusted by public roots either, so every node needs the CA", who, p.TLSError))
		} else if p.Status != 0 {
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s verifies the certificate (it%s): the nodes' trust store lacks the CA, or a proxy intercepts the nodes' traffic", who, status))
		}
	case CausePullSecret, CauseAccessDenied:
		switch {
		case p.Status == 401 && p.Auth == "anonymous":
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s got 401: %s requires credentials for %s", who, c.Image.Domain, c.Image.Path))
		case p.Exists == Yes && p.Auth == "anonymous":
			v.Evidence = append(v.Evidence, fmt.Sprintf("conflict: %s can read %s without credentials: the image is public, so look at what the node presents (a bad pull secret is still sent and can be refused)", who, c.Image.Full))
		}
	case CauseRegistryUnreachable:
		switch {
		case p.DNSError != "":
			v.Evidence = append(v.Evidence, fmt.Sprintf("the bot cannot resolve %s either (%s)", c.Image.RegistryHost(), p.DNSError))
		case p.ConnError != "":
			v.Evidence = append(v.Evidence, fmt.Sprintf("the bot cannot connect to %s either (%s): the registry itself is down or unreachable", c.Image.RegistryHost(), p.ConnError))
		case p.Status >= 200 && p.Status < 500:
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s%s: the registry is up, so the problem is on the node's network path", who, status))
		}
	case CausePlatformMismatch:
		// imagePlatforms already reads the probe's platforms.
	}
}
