package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// requestKind is what a /pullcheck command asks for.
type requestKind int

const (
	reqHelp requestKind = iota
	reqDiagnose
	reqScan
)

// request is a parsed /pullcheck command. Namespace and Pod are valid Kubernetes names.
type request struct {
	kind      requestKind
	namespace string
	pod       string // empty for a scan
}

func (r request) String() string {
	switch r.kind {
	case reqDiagnose:
		return r.namespace + "/" + r.pod
	case reqScan:
		return r.namespace
	}
	return "help"
}

// parseCommand reads the text of a /pullcheck command:
//
//	<namespace>/<pod>            diagnose one pod
//	<pod> -n <namespace>         the same (also --namespace, -n=<ns>, --namespace=<ns>, -n<ns>)
//	<namespace>  or  -n <ns>     scan the namespace
//	help, -h, --help, or nothing the usage
//
// Names are validated as Kubernetes validates them before anything else happens. Errors
// are UserErrors whose Public text says what is wrong in mrkdwn; the caller adds the usage.
func parseCommand(text string) (request, error) {
	// Slack escapes &, < and > in command text.
	text = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
	var args []string
	for _, a := range strings.Fields(text) { // any Unicode space, no-break spaces included
		if a = strings.Trim(a, "`\"'“”‘’"); a != "" {
			args = append(args, a)
		}
	}
	if len(args) == 0 {
		return request{kind: reqHelp}, nil
	}
	var (
		namespace string
		nsGiven   bool
		words     []string
	)
	setNamespace := func(flag, v string) error {
		if v == "" {
			return userErr("%s needs a namespace: %s.", code(flag), code("/pullcheck <pod> -n <namespace>"))
		}
		if nsGiven && v != namespace {
			return userErr("The namespace is given twice (%s and %s): give it once.", code(namespace), code(v))
		}
		namespace, nsGiven = v, true
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := normalizeDashes(args[i])
		switch {
		case isHelp(a):
			return request{kind: reqHelp}, nil
		case a == "-n" || a == "--namespace":
			v := ""
			if i+1 < len(args) {
				v = args[i+1]
				i++
			}
			if err := setNamespace(a, v); err != nil {
				return request{}, err
			}
		case strings.HasPrefix(a, "--namespace="):
			if err := setNamespace("--namespace", strings.TrimPrefix(a, "--namespace=")); err != nil {
				return request{}, err
			}
		case strings.HasPrefix(a, "-n="):
			if err := setNamespace("-n", strings.TrimPrefix(a, "-n=")); err != nil {
				return request{}, err
			}
		case strings.HasPrefix(a, "-n") && !strings.HasPrefix(a, "--"):
			if err := setNamespace("-n", strings.TrimPrefix(a, "-n")); err != nil {
				return request{}, err
			}
		case strings.HasPrefix(a, "-"):
			return request{}, userErr("Unknown option %s: the only option is %s.", code(a), code("-n <namespace>"))
		default:
			words = append(words, args[i])
		}
	}

	var r request
	switch len(words) {
	case 0:
		if !nsGiven {
			return request{kind: reqHelp}, nil
		}
		r = request{kind: reqScan, namespace: namespace}
	case 1:
		w := words[0]
		if ns, pod, ok := strings.Cut(w, "/"); ok {
			switch {
			case strings.Contains(pod, "/"):
				return request{}, userErr("%s has more than one %s: write %s.", code(w), code("/"), code("<namespace>/<pod>"))
			case ns == "":
				return request{}, userErr("%s has no namespace before the %s.", code(w), code("/"))
			case pod == "":
				return request{}, userErr("%s has no pod name after the %s.", code(w), code("/"))
			case nsGiven && ns != namespace:
				return request{}, userErr("The namespace is given twice (%s and %s): give it once.", code(ns), code(namespace))
			}
			r = request{kind: reqDiagnose, namespace: ns, pod: pod}
		} else if nsGiven {
			r = request{kind: reqDiagnose, namespace: namespace, pod: w}
		} else {
			r = request{kind: reqScan, namespace: w}
		}
	default:
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = code(w)
		}
		return request{}, userErr("Too many arguments (%s): give one pod or one namespace.", listAnd(quoted))
	}

	if err := checkName("namespace", r.namespace, validation.IsDNS1123Label); err != nil {
		return request{}, err
	}
	if r.kind == reqDiagnose {
		if err := checkName("pod", r.pod, validation.IsDNS1123Subdomain); err != nil {
			return request{}, err
		}
	}
	return r, nil
}

// checkName explains why name is not a valid Kubernetes name of the given kind, in words a
// Slack user can act on, or returns nil.
func checkName(kind, name string, validate func(string) []string) error {
	problems := validate(name)
	if len(problems) == 0 {
		return nil
	}
	shown := showName(name)
	switch {
	case strings.ContainsAny(name, "<>"):
		return userErr("Replace %s with the real %s name.", shown, kind)
	case len(validate(strings.ToLower(name))) == 0:
		return userErr("%s is not a valid %s name: Kubernetes names are lowercase. Did you mean %s?", shown, kind, code(strings.ToLower(name)))
	case kind == "namespace" && len(name) > validation.DNS1123LabelMaxLength:
		return userErr("%s is not a valid namespace name: it is longer than %d characters.", shown, validation.DNS1123LabelMaxLength)
	case len(name) > validation.DNS1123SubdomainMaxLength:
		return userErr("%s is not a valid %s name: it is longer than %d characters.", shown, kind, validation.DNS1123SubdomainMaxLength)
	}
	allowed := "lowercase letters, digits and '-', starting and ending with a letter or digit"
	if kind == "pod" {
		allowed = "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	}
	return userErr("%s is not a valid %s name: use %s.", shown, kind, allowed)
}

// showName renders a name the user typed so that invisible or look-alike characters show.
func showName(s string) string {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return code(strconv.QuoteToASCII(s))
		}
	}
	return code(s)
}

func userErr(format string, args ...any) error {
	return UserError{Public: fmt.Sprintf(format, args...)}
}

func isHelp(a string) bool {
	switch strings.ToLower(a) {
	case "help", "-h", "--help", "?":
		return true
	}
	return false
}

// normalizeDashes undoes the typographic substitution of "--" and "-" (macOS and mobile
// keyboards turn "--namespace" into "—namespace").
func normalizeDashes(a string) string {
	for _, p := range []struct{ from, to string }{{"—", "--"}, {"–", "-"}, {"−", "-"}} {
		if strings.HasPrefix(a, p.from) {
			a = p.to + strings.TrimPrefix(a, p.from)
			break
		}
	}
	switch {
	case a == "--n" || strings.HasPrefix(a, "--n="):
		a = a[1:]
	case a == "-namespace" || strings.HasPrefix(a, "-namespace="):
		a = "-" + a
	}
	return a
}
