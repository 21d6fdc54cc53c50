package alerts

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Route sends the alerts of some namespaces to one channel.
//
// A route matches a namespace when its name matches one of Namespaces (exact names or
// path.Match globs such as "payments-*"), if any are given, and its labels match Selector (a
// Kubernetes label selector such as "team=payments,tier!=dev"), if one is given. A route must
// give at least one of the two.
type Route struct {
	Channel    string   `json:"channel"`
	Namespaces []string `json:"namespaces,omitempty"`
	Selector   string   `json:"selector,omitempty"`
}

// Routes picks the channel for a namespace: the first matching rule, else Default.
type Routes struct {
	Rules   []Route `json:"rules,omitempty"`
	Default string  `json:"default,omitempty"`
}

// ChannelFor returns the channel of the first rule that matches the namespace, else the
// default channel; false when there is neither. Rules with a bad glob or selector match
// nothing (Validate reports them).
func (r Routes) ChannelFor(namespace string, nsLabels map[string]string) (string, bool) {
	for _, rule := range r.Rules {
		if rule.matches(namespace, nsLabels) {
			return rule.Channel, true
		}
	}
	return r.Default, r.Default != ""
}

func (rule Route) matches(namespace string, nsLabels map[string]string) bool {
	if len(rule.Namespaces) == 0 && strings.TrimSpace(rule.Selector) == "" {
		return false
	}
	if len(rule.Namespaces) > 0 {
		found := false
		for _, p := range rule.Namespaces {
			if ok, err := path.Match(p, namespace); err == nil && ok {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if strings.TrimSpace(rule.Selector) != "" {
		sel, err := labels.Parse(rule.Selector)
		if err != nil || !sel.Matches(labels.Set(nsLabels)) {
			return false
		}
	}
	return true
}

// Validate reports every problem of the routes at once, each with what to change: a rule
// without a channel, without namespaces and selector, with a bad glob or a bad selector, and
// two rules that can both match one namespace name (the later one would never get it). Rules
// with a selector are left out of the overlap check: which namespaces carry which labels is
// known only in the cluster.
func (r Routes) Validate() error {
	var errs []error
	bad := func(i int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("alert route %d: %s", i+1, fmt.Sprintf(format, args...)))
	}
	for i, rule := range r.Rules {
		if strings.TrimSpace(rule.Channel) == "" {
			bad(i, "channel is empty: set it to a channel name such as \"#payments-alerts\" or a channel ID such as C0123ABCD")
		}
		if len(rule.Namespaces) == 0 && strings.TrimSpace(rule.Selector) == "" {
			bad(i, "has neither namespaces nor a selector, so it matches nothing: add namespaces (names or globs such as \"payments-*\") or a selector (such as \"team=payments\"), or use the default channel for every other namespace")
		}
		for _, p := range rule.Namespaces {
			if strings.TrimSpace(p) == "" {
				bad(i, "a namespace is empty: remove it or write a name or a glob such as \"payments-*\"")
				continue
			}
			if _, err := path.Match(p, ""); err != nil {
				bad(i, "namespace glob %q is malformed (%v): use * for any run of characters, ? for one and [a-z] for a class, and close every [", p, err)
			}
		}
		if s := strings.TrimSpace(rule.Selector); s != "" {
			if _, err := labels.Parse(s); err != nil {
				bad(i, "selector %q is not a label selector (%v): write it as kubectl -l takes it, e.g. \"team=payments,tier!=dev\" or \"env in (prod,staging)\"", rule.Selector, err)
			}
		}
	}
	for i, a := range r.Rules {
		if strings.TrimSpace(a.Selector) != "" {
			continue
		}
		for j := i + 1; j < len(r.Rules); j++ {
			b := r.Rules[j]
			if strings.TrimSpace(b.Selector) != "" {
				continue
			}
			if pa, pb, name, ok := overlap(a.Namespaces, b.Namespaces); ok {
				errs = append(errs, fmt.Errorf("alert routes %d (%s) and %d (%s) overlap: %q and %q both match namespace %q, which would always go to route %d; "+
					"make the names or globs disjoint, or merge the routes if they share a channel",
					i+1, channelName(a.Channel), j+1, channelName(b.Channel), pa, pb, name, i+1))
			}
		}
	}
	return errors.Join(errs...)
}

func channelName(c string) string {
	if strings.TrimSpace(c) == "" {
		return "no channel"
	}
	return strconv.Quote(c)
}

// overlap finds a pattern of as and one of bs that match a common namespace name, and that name.
func overlap(as, bs []string) (pa, pb, name string, ok bool) {
	for _, a := range as {
		ta, err := parseGlob(a)
		if err != nil {
			continue
		}
		for _, b := range bs {
			tb, err := parseGlob(b)
			if err != nil {
				continue
			}
			if name, ok := intersect(ta, tb); ok {
				return a, b, name, true
			}
		}
	}
	return "", "", "", false
}

type globKind int

const (
	globLiteral globKind = iota
	globAny              // ?
	globStar             // *
	globClass            // [...]
)

type globToken struct {
	kind globKind
	lit  rune
	// class is the [...] text, matched with path.Match against one character.
	class string
}

func (t globToken) accepts(c rune) bool {
	switch t.kind {
	case globLiteral:
		return c == t.lit
	case globAny, globStar:
		return c != '/'
	default:
		ok, err := path.Match(t.class, string(c))
		return err == nil && ok
	}
}

// parseGlob splits a path.Match pattern into tokens.
func parseGlob(p string) ([]globToken, error) {
	if _, err := path.Match(p, ""); err != nil {
		return nil, err
	}
	rs := []rune(p)
	var out []globToken
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '*':
			if len(out) == 0 || out[len(out)-1].kind != globStar {
				out = append(out, globToken{kind: globStar})
			}
		case '?':
			out = append(out, globToken{kind: globAny})
		case '\\':
			i++
			out = append(out, globToken{kind: globLiteral, lit: rs[i]})
		case '[':
			j := i + 1
			for ; j < len(rs) && rs[j] != ']'; j++ {
				if rs[j] == '\\' {
					j++
				}
			}
			out = append(out, globToken{kind: globClass, class: string(rs[i : j+1])})
			i = j
		default:
			out = append(out, globToken{kind: globLiteral, lit: rs[i]})
		}
	}
	return out, nil
}

// nameAlphabet is what namespace names are made of (RFC 1123 labels); literals of the
// patterns are added to it.
const nameAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"

// intersect says whether some name matches both token lists, and returns the shortest one,
// by a breadth-first search over the product of the two patterns' automata.
func intersect(a, b []globToken) (string, bool) {
	alphabet := []rune(nameAlphabet)
	for _, t := range append(append([]globToken(nil), a...), b...) {
		if t.kind == globLiteral && !strings.ContainsRune(nameAlphabet, t.lit) {
			alphabet = append(alphabet, t.lit)
		}
	}
	// n says whether a character was read: a namespace name is never empty.
	type state struct {
		i, j int
		n    bool
	}
	type step struct {
		prev state
		c    rune
		char bool
	}
	start := state{}
	from := map[state]step{start: {}}
	queue := []state{start}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.i == len(a) && s.j == len(b) && s.n {
			var name []rune
			for cur := s; cur != start; cur = from[cur].prev {
				if st := from[cur]; st.char {
					name = append([]rune{st.c}, name...)
				}
			}
			return string(name), true
		}
		visit := func(n state, st step) {
			if _, seen := from[n]; !seen {
				from[n] = st
				queue = append(queue, n)
			}
		}
		// A star may match nothing.
		if s.i < len(a) && a[s.i].kind == globStar {
			visit(state{s.i + 1, s.j, s.n}, step{prev: s})
		}
		if s.j < len(b) && b[s.j].kind == globStar {
			visit(state{s.i, s.j + 1, s.n}, step{prev: s})
		}
		if s.i == len(a) || s.j == len(b) {
			continue
		}
		ta, tb := a[s.i], b[s.j]
		next := state{s.i + 1, s.j + 1, true}
		if ta.kind == globStar {
			next.i = s.i
		}
		if tb.kind == globStar {
			next.j = s.j
		}
		for _, c := range alphabet {
			if ta.accepts(c) && tb.accepts(c) {
				visit(next, step{prev: s, c: c, char: true})
				break
			}
		}
	}
	return "", false
}

// needsLabels says whether some rule has a label selector: only then are a namespace's
// labels worth reading.
func (r Routes) needsLabels() bool {
	for _, rule := range r.Rules {
		if strings.TrimSpace(rule.Selector) != "" {
			return true
		}
	}
	return false
}
