package diagnosis

import (
	"fmt"
	"strings"
)

// checkPullSecret: a non-ECR private registry wants credentials that the pod does not present:
// imagePullSecrets missing, of the wrong type, for another host, or not referenced.
func checkPullSecret(f *Facts, c *Container) *Verdict {
	if c.Image.IsECR() || c.Image.Err != nil || missingOfficialImage(c) {
		return nil
	}
	authFailure := false
	switch c.Signal.Kind {
	case SigNoCredentials, SigInsufficientScope, SigUnauthorized:
		authFailure = true
	case SigForbidden:
		authFailure = secretCovering(f, c.Image) == "" // a 403 with credentials presented is access-denied
	}
	missing := missingSecrets(f, c)
	if !authFailure && len(missing) == 0 {
		return nil
	}
	x := cmdContext{f, c}
	host := c.Image.Domain
	v := &Verdict{Cause: CausePullSecret, Confidence: Likely,
		RestartHelps: RestartAdvice{Helps: true,
			Reason: "once the secret exists and is referenced, a new pod presents it; the service account's pull secrets are copied into pods only when they are created"}}
	secretName := "regcred"
	var wrongType, wrongTypeNames, wrongHost, unchecked []string
	podSecrets := 0
	saOnly := "" // a service-account secret for this host that the pod does not carry
	for _, s := range f.PullSecrets {
		if !presented(s) {
			if s.Status == SecretFound && saOnly == "" && coversHost(s, c.Image) {
				saOnly = s.Name
			}
			continue
		}
		podSecrets++
		switch s.Status {
		case SecretFound:
			if s.Type != "kubernetes.io/dockerconfigjson" && s.Type != "kubernetes.io/dockercfg" {
				wrongType = append(wrongType, fmt.Sprintf("%s (type %s)", s.Name, s.Type))
				wrongTypeNames = append(wrongTypeNames, s.Name)
			} else if !coversHost(s, c.Image) {
				wrongHost = append(wrongHost, fmt.Sprintf("%s (has credentials for %s)", s.Name, strings.Join(s.Hosts, ", ")))
			}
		case SecretForbidden, SecretUnchecked, SecretError:
			unchecked = append(unchecked, fmt.Sprintf("%s: %s", s.Name, s.Detail))
		}
	}
	covered := secretCovering(f, c.Image)
	recreate := false // the named secret exists but is unusable: replace it
	switch {
	case len(missing) > 0:
		v.Confidence = Confirmed
		secretName = missing[0]
		v.Summary = fmt.Sprintf("The pod references the pull secret %s, which does not exist in namespace %s, so %s is pulled without credentials.", strings.Join(missing, ", "), f.Pod.Namespace, c.Image.Raw)
		v.Evidence = append(v.Evidence, fmt.Sprintf("imagePullSecrets not found in namespace %s: %s", f.Pod.Namespace, strings.Join(missing, ", ")))
	case saOnly != "" && covered == "":
		v.Summary = fmt.Sprintf("The service account %s lists %s, which has credentials for %s, but the pod does not carry it: the kubelet presents only the pod's own imagePullSecrets, and a service account's are copied into a pod when it is created, only if the pod lists none.", saName(f), saOnly, host)
		v.Evidence = append(v.Evidence, fmt.Sprintf("pull secret %s of service account %s has credentials for %s; the pod's imagePullSecrets do not include it", saOnly, saName(f), host))
		fix := Fix{Title: "Start a new pod: it gets the service account's pull secrets", Commands: []string{x.restart()}}
		if len(f.Pod.Spec.ImagePullSecrets) > 0 {
			// The pod lists its own secrets, so the service account's are never copied in.
			fix.Title = fmt.Sprintf("Reference %s from the workload too (the pod lists its own pull secrets, so the service account's are not copied in)", saOnly)
			if p := x.jsonPatch(fmt.Sprintf(`{"op":"add","path":"{{spec}}/imagePullSecrets/-","value":{"name":"%s"}}`, saOnly)); p != "" {
				fix.Commands = append([]string{p}, fix.Commands...)
			}
		}
		v.Fixes = append(v.Fixes, fix)
		return v
	case len(wrongType) > 0 && covered == "":
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The pull secret %s is not of type kubernetes.io/dockerconfigjson, so the kubelet cannot use it for %s.", wrongType[0], host)
		v.Evidence = append(v.Evidence, "pull secrets of the wrong type: "+strings.Join(wrongType, "; "))
		secretName, recreate = wrongTypeNames[0], true // referenced already: recreate it with the right type
	case len(wrongHost) > 0 && covered == "":
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("No pull secret of the pod has credentials for %s (the host must match, port included), so the image is pulled without credentials.", host)
		v.Evidence = append(v.Evidence, "pull secrets for other registries: "+strings.Join(wrongHost, "; "))
		secretName = newSecretName(f, host) // the existing ones serve other registries
	case covered != "":
		v.Summary = fmt.Sprintf("%s rejected the credentials in pull secret %s: the user name or token is wrong or expired, or lacks access to %s.", host, covered, c.Image.Path)
		v.Evidence = append(v.Evidence, fmt.Sprintf("pull secret %s has credentials for %s", covered, host))
		secretName = covered
	case podSecrets == 0:
		v.Summary = fmt.Sprintf("%s requires credentials for %s and the pod has no imagePullSecrets (nor does its service account %s).", host, c.Image.Path, saName(f))
		v.Evidence = append(v.Evidence, fmt.Sprintf("no imagePullSecrets on the pod or on service account %s", saName(f)))
		if c.Signal.Kind == SigInsufficientScope {
			v.Alternatives = append(v.Alternatives, CauseRepositoryNotFound)
			v.Notes = append(v.Notes, fmt.Sprintf("%s answers the same way for a private repository and for one that does not exist: check the name %s too.", registryLabel(c.Image), c.Image.Full))
		}
	default:
		v.Confidence = Possible
		v.Summary = fmt.Sprintf("%s refused %s for lack of credentials; the pod's pull secrets could not all be checked.", host, c.Image.Raw)
	}
	if len(unchecked) > 0 {
		v.Evidence = append(v.Evidence, "pull secrets not checked: "+strings.Join(unchecked, "; "))
	}
	for _, n := range c.SecretEventNames {
		v.Evidence = append(v.Evidence, fmt.Sprintf("event FailedToRetrieveImagePullSecret names %s", n))
	}
	server := host
	if c.Image.Registry == RegistryDockerHub {
		server = "https://index.docker.io/v1/"
	}
	fix := Fix{Title: fmt.Sprintf("Create the pull secret %s for %s and reference it from the workload", secretName, host), Commands: []string{
		x.kubectl("create", "secret", "docker-registry", secretName, "--docker-server="+server,
			"--docker-username=$REGISTRY_USER", "--docker-password=$REGISTRY_PASSWORD"),
	}}
	if covered != "" || len(missing) > 0 || recreate {
		fix.Title = fmt.Sprintf("Recreate the pull secret %s with working credentials for %s", secretName, host)
		if covered != "" || recreate {
			fix.Commands = append([]string{x.kubectl("delete", "secret", secretName)}, fix.Commands...)
		}
	} else if p := x.jsonPatch(fmt.Sprintf(`{"op":"add","path":"{{spec}}/imagePullSecrets","value":[{"name":"%s"}]}`, secretName)); p != "" {
		if len(f.Pod.Spec.ImagePullSecrets) > 0 {
			p = x.jsonPatch(fmt.Sprintf(`{"op":"add","path":"{{spec}}/imagePullSecrets/-","value":{"name":"%s"}}`, secretName))
		}
		fix.Commands = append(fix.Commands, p)
	}
	fix.Commands = append(fix.Commands, x.restart())
	v.Fixes = append(v.Fixes, fix)
	return v
}

// missingSecrets lists pull secrets the pod references that are known not to exist.
func missingSecrets(f *Facts, c *Container) []string {
	var out []string
	for _, s := range f.PullSecrets {
		if s.Status == SecretMissing && presented(s) {
			out = appendUnique(out, s.Name)
		}
	}
	for _, n := range c.SecretEventNames {
		known := false
		for _, s := range f.PullSecrets {
			if s.Name == n && s.Status == SecretFound {
				known = true
			}
		}
		if !known {
			out = appendUnique(out, n)
		}
	}
	return out
}

// newSecretName names a new pull secret for host: regcred, unless a referenced secret already
// has that name.
func newSecretName(f *Facts, host string) string {
	for _, s := range f.PullSecrets {
		if s.Name == "regcred" {
			return strings.NewReplacer(":", "-", "/", "-").Replace(strings.ToLower(host))
		}
	}
	return "regcred"
}

func coversHost(s PullSecret, img ImageRef) bool {
	for _, h := range s.Hosts {
		if img.HostMatches(h) {
			return true
		}
	}
	return false
}

func registryLabel(img ImageRef) string {
	if img.Registry == RegistryDockerHub {
		return "Docker Hub"
	}
	return img.Domain
}
