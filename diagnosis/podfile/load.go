package podfile

import (
	"bytes"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// MaxSize is the largest input Load reads, in bytes.
const MaxSize = 32 << 20

// maxListDepth bounds Lists nested in Lists.
const maxListDepth = 4

// Error is a problem with the input: a syntax error, an object of a kind the file may not
// hold, or a file without exactly one Pod. It wraps diagnosis.ErrInvalidInput.
type Error struct {
	Name string // the name passed to Load
	// Line and Column locate the problem (1-based, Column in characters). Line is 0 when
	// the problem is with the file as a whole; Column is 0 when only the line is known.
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Name, e.Msg)
}

// Unwrap makes errors.Is(err, diagnosis.ErrInvalidInput) true.
func (e *Error) Unwrap() error { return diagnosis.ErrInvalidInput }

// Load reads a saved Pod, or a List holding one Pod, its Events and optionally its Node,
// ServiceAccount and pull Secrets, from r, and returns the facts a diagnosis needs. name is
// how the input is called in errors and in Facts.Source ("file <name>"); now becomes
// Facts.Now, or, when zero, the newest timestamp in the file (the moment it was saved).
//
// JSON (one or more documents) and YAML (one or more "---" documents) are both accepted.
// A problem with the content is an *Error wrapping diagnosis.ErrInvalidInput; a failure
// of r is returned wrapped as it is.
func Load(r io.Reader, name string, now time.Time) (*diagnosis.Facts, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{Name: name, Msg: fmt.Sprintf("the file is larger than %d MiB", MaxSize>>20)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	l := &loader{name: name, data: data}
	docs, err := l.documents()
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, &Error{Name: name, Msg: "the file is empty: want a Pod, or a v1 List holding one Pod and its Events"}
	}
	for i := range docs {
		if err := l.add(&docs[i], 0); err != nil {
			return nil, err
		}
	}
	if len(l.pods) == 0 {
		return nil, &Error{Name: name, Msg: "no Pod in the file: want exactly one (kubectl get pod NAME -o json)"}
	}
	return l.facts(now), nil
}

// loader holds the input and the objects read from it so far.
type loader struct {
	name string
	data []byte

	pods       []foundPod
	coreEvents []*corev1.Event
	newEvents  []*eventsv1.Event
	nodes      []*corev1.Node
	accounts   []*corev1.ServiceAccount
	secrets    []secretInfo
}

type foundPod struct {
	pod       *corev1.Pod
	line, col int
}

// kinds the file may hold, by apiVersion and kind.
const (
	kindPod            = "Pod"
	kindEvent          = "Event"
	kindNode           = "Node"
	kindServiceAccount = "ServiceAccount"
	kindSecret         = "Secret"
	kindList           = "List"

	apiCore   = "v1"
	apiEvents = "events.k8s.io/v1"
)

// listItemKind returns, for a list kind, the kind of its items ("" for a List of any kind)
// and whether kind is a list kind at all.
func listItemKind(apiVersion, kind string) (string, bool) {
	switch {
	case apiVersion == apiCore && kind == kindList:
		return "", true
	case apiVersion == apiCore && (kind == kindPod+"List" || kind == kindEvent+"List" || kind == kindNode+"List" ||
		kind == kindServiceAccount+"List" || kind == kindSecret+"List"):
		return kind[:len(kind)-len("List")], true
	case apiVersion == apiEvents && kind == kindEvent+"List":
		return kindEvent, true
	}
	return "", false
}

// add reads one object (and, for a list, its items) into the loader.
func (l *loader) add(o *object, depth int) error {
	h, err := l.header(o)
	if err != nil {
		return err
	}
	switch {
	case o.defKind == "":
	case h.Kind == "":
		h.Kind, h.APIVersion = o.defKind, o.defAPIVersion
	case h.Kind == o.defKind && h.APIVersion == "":
		h.APIVersion = o.defAPIVersion
	}
	if h.Kind == "" {
		return l.errorAt(o.line, o.col, "an object with no kind: want a Pod, or a v1 List holding one Pod and its Events")
	}
	if itemKind, ok := listItemKind(h.APIVersion, h.Kind); ok {
		if depth >= maxListDepth {
			return l.errorAt(o.line, o.col, "Lists nested more than %d deep", maxListDepth)
		}
		items, err := l.items(o)
		if err != nil {
			return err
		}
		for i := range items {
			if itemKind != "" {
				items[i].defKind, items[i].defAPIVersion = itemKind, h.APIVersion
			}
			if err := l.add(&items[i], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case h.APIVersion == apiCore && h.Kind == kindPod:
		var pod corev1.Pod
		if err := l.decode(o, &pod, "Pod "+h.name()); err != nil {
			return err
		}
		if pod.Name == "" {
			return l.errorAt(o.line, o.col, "a Pod with no metadata.name")
		}
		if len(l.pods) > 0 {
			first := l.pods[0]
			return l.errorAt(o.line, o.col, "a second Pod %s (the first, %s, is at line %d): the file must hold exactly one Pod",
				podName(&pod), podName(first.pod), first.line)
		}
		l.pods = append(l.pods, foundPod{pod: &pod, line: o.line, col: o.col})
	case h.APIVersion == apiCore && h.Kind == kindEvent:
		var ev corev1.Event
		if err := l.decode(o, &ev, "Event "+h.name()); err != nil {
			return err
		}
		l.coreEvents = append(l.coreEvents, &ev)
	case h.APIVersion == apiEvents && h.Kind == kindEvent:
		var ev eventsv1.Event
		if err := l.decode(o, &ev, "Event "+h.name()); err != nil {
			return err
		}
		l.newEvents = append(l.newEvents, &ev)
	case h.APIVersion == apiCore && h.Kind == kindNode:
		var node corev1.Node
		if err := l.decode(o, &node, "Node "+h.name()); err != nil {
			return err
		}
		l.nodes = append(l.nodes, &node)
	case h.APIVersion == apiCore && h.Kind == kindServiceAccount:
		var sa corev1.ServiceAccount
		if err := l.decode(o, &sa, "ServiceAccount "+h.name()); err != nil {
			return err
		}
		l.accounts = append(l.accounts, &sa)
	case h.APIVersion == apiCore && h.Kind == kindSecret:
		s, err := l.secret(o, h)
		if err != nil {
			return err
		}
		l.secrets = append(l.secrets, s)
	default:
		what := h.Kind
		if h.APIVersion != "" {
			what = h.APIVersion + " " + h.Kind
		}
		if h.Metadata.Name != "" {
			what += fmt.Sprintf(" %q", h.Metadata.Name)
		}
		return l.errorAt(o.line, o.col, "unsupported kind %s: the file may hold one v1 Pod, its Events (v1 or %s), its v1 Node, its v1 ServiceAccount and v1 Secrets",
			what, apiEvents)
	}
	return nil
}

func podName(p *corev1.Pod) string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

func (l *loader) errorAt(line, col int, format string, args ...any) error {
	return &Error{Name: l.name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// position converts a byte offset in the input to a 1-based line and column (in characters).
func (l *loader) position(off int) (line, col int) {
	off = min(max(off, 0), len(l.data))
	before := l.data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}
