package diagnosis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Container is one failing container (or the pod sandbox) with everything the checks read.
type Container struct {
	Name  string
	Kind  ContainerKind
	Index int // position in its spec list, for JSON patches
	// Image is parsed from the spec (status.image may be empty or normalised).
	Image      ImageRef
	PullPolicy corev1.PullPolicy
	// Reason and Message are state.waiting's.
	Reason  string
	Message string
	// Events are this container's events, newest first.
	Events []Event
	// ErrorText is the best runtime error text found, and ErrorFrom says where it was read.
	ErrorText string
	ErrorFrom string
	Signal    Signal
	// PullingSince is when the current pull started, if a Pulling event has no later outcome.
	PullingSince time.Time
	// PreviousImage is the image of the last terminated run, when it differs from the spec.
	PreviousImage string
	// SecretEventNames are the pull secrets named by FailedToRetrieveImagePullSecret events.
	SecretEventNames []string
}

// Path is the container's location in the pod spec, e.g. spec.initContainers{migrate}.
func (c *Container) Path() string {
	switch c.Kind {
	case KindInit:
		return "spec.initContainers{" + c.Name + "}"
	case KindEphemeral:
		return "spec.ephemeralContainers{" + c.Name + "}"
	case KindSandbox:
		return "pod sandbox"
	}
	return "spec.containers{" + c.Name + "}"
}

func (c *Container) statusPath() string {
	switch c.Kind {
	case KindInit:
		return "status.initContainerStatuses[" + c.Name + "]"
	case KindEphemeral:
		return "status.ephemeralContainerStatuses[" + c.Name + "]"
	}
	return "status.containerStatuses[" + c.Name + "]"
}

// sandboxName is the Container.Name used for the pod sandbox.
const sandboxName = "(sandbox)"

// FailingContainers finds the failing containers of the pod: every container whose waiting
// reason is a pull failure, containers stuck creating while a pull makes no progress, and the
// pod sandbox when its (pause) image cannot be pulled. Order: sandbox, init, regular, ephemeral.
func FailingContainers(f *Facts) []*Container {
	pod := f.Pod
	if pod == nil {
		return nil
	}
	events := sortedEvents(f.Events)
	var out []*Container
	if c := sandboxContainer(events); c != nil {
		out = append(out, c)
	}
	add := func(kind ContainerKind, specs []specContainer, statuses []corev1.ContainerStatus) {
		for i, sc := range specs {
			st := containerStatus(statuses, sc.Name)
			c := &Container{Name: sc.Name, Kind: kind, Index: i, Image: ParseImage(sc.Image), PullPolicy: sc.PullPolicy}
			c.Events = eventsFor(events, c)
			if st != nil && st.State.Waiting != nil {
				c.Reason, c.Message = st.State.Waiting.Reason, st.State.Waiting.Message
			}
			if st != nil && st.LastTerminationState.Terminated != nil && st.Image != "" && st.Image != sc.Image &&
				ParseImage(st.Image).Full != c.Image.Full {
				c.PreviousImage = st.Image
			}
			for _, e := range c.Events {
				if e.Reason == "FailedToRetrieveImagePullSecret" {
					c.SecretEventNames = appendUnique(c.SecretEventNames, secretNamesInEvent(e.Message)...)
				}
			}
			switch {
			case IsPullFailureReason(c.Reason):
			case (c.Reason == "ContainerCreating" || c.Reason == "PodInitializing" || st == nil) && pullStuck(c, f.Now):
			default:
				continue
			}
			pickErrorText(c)
			out = append(out, c)
		}
	}
	add(KindInit, specsOf(pod.Spec.InitContainers), pod.Status.InitContainerStatuses)
	add(KindRegular, specsOf(pod.Spec.Containers), pod.Status.ContainerStatuses)
	eph := make([]specContainer, len(pod.Spec.EphemeralContainers))
	for i, e := range pod.Spec.EphemeralContainers {
		eph[i] = specContainer{Name: e.Name, Image: e.Image, PullPolicy: e.ImagePullPolicy}
	}
	add(KindEphemeral, eph, pod.Status.EphemeralContainerStatuses)
	return out
}

type specContainer struct {
	Name       string
	Image      string
	PullPolicy corev1.PullPolicy
}

func specsOf(cs []corev1.Container) []specContainer {
	out := make([]specContainer, len(cs))
	for i, c := range cs {
		out[i] = specContainer{Name: c.Name, Image: c.Image, PullPolicy: c.ImagePullPolicy}
	}
	return out
}

func containerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// sortedEvents returns a copy of events, newest first (by LastSeen, then FirstSeen).
func sortedEvents(events []Event) []Event {
	out := append([]Event(nil), events...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].LastSeen, out[j].LastSeen
		if a.Equal(b) {
			return out[i].FirstSeen.After(out[j].FirstSeen)
		}
		return a.After(b)
	})
	return out
}

// eventsFor selects the container's events: by fieldPath, or, for events without one, by the
// image quoted in the message.
func eventsFor(events []Event, c *Container) []Event {
	var out []Event
	path := c.Path()
	for _, e := range events {
		switch {
		case e.FieldPath == path:
		case e.FieldPath == "" && c.Image.Raw != "" && strings.Contains(e.Message, `"`+c.Image.Raw+`"`):
		case e.Reason == "FailedToRetrieveImagePullSecret" && (e.FieldPath == "" || e.FieldPath == path):
		default:
			continue
		}
		out = append(out, e)
	}
	return out
}

// pickErrorText chooses the richest error text: the newest "Failed to pull image" event
// (the runtime's own words, DOMAIN §2.2), else the waiting message (which since Kubernetes 1.32
// carries the last error after the back-off wrapper), else any other failure event.
func pickErrorText(c *Container) {
	var failedEvent *Event
	for i := range c.Events {
		e := &c.Events[i]
		if (e.Reason == "Failed" || e.Reason == "InspectFailed" || e.Reason == "ErrImageNeverPull") && !strings.HasPrefix(e.Message, "Error: ") {
			failedEvent = e
			break
		}
	}
	waiting := Classify(c.Message)
	switch {
	case failedEvent != nil:
		sig := Classify(failedEvent.Message)
		// A newer, more telling waiting message (v1.32+) beats an event of the unknown kind.
		if sig.Kind == SigUnknown && waiting.Kind != SigUnknown && waiting.Kind != SigNone && waiting.Kind != SigBackOffOnly {
			c.ErrorText, c.ErrorFrom, c.Signal = c.Message, "state.waiting.message", waiting
			return
		}
		c.ErrorText, c.Signal = failedEvent.Message, sig
		c.ErrorFrom = describeEvent(*failedEvent)
	case c.Message != "":
		c.ErrorText, c.ErrorFrom, c.Signal = c.Message, c.statusPath()+".state.waiting.message", waiting
	case c.Reason == ReasonImagePullBackOff || c.Reason == ReasonErrImagePull:
		// Waiting with no message at all: nothing survives of the error text.
		c.Signal = Signal{Kind: SigBackOffOnly}
		c.ErrorFrom = c.statusPath() + ".state.waiting"
	}
	for _, e := range c.Events {
		if e.Reason == "BackOff" && c.Signal.Kind == SigNone {
			c.Signal = Signal{Kind: SigBackOffOnly, Text: e.Message}
			c.ErrorFrom = describeEvent(e)
		}
	}
}

// describeEvent renders where an event was read, for evidence.
func describeEvent(e Event) string {
	var b strings.Builder
	b.WriteString("event ")
	if e.Type != "" {
		b.WriteString(e.Type + " ")
	}
	b.WriteString(e.Reason)
	var attrs []string
	if e.Count > 1 {
		attrs = append(attrs, fmt.Sprintf("x%d", e.Count))
	}
	if !e.LastSeen.IsZero() {
		attrs = append(attrs, "last "+e.LastSeen.UTC().Format(time.RFC3339))
	}
	if e.API != "" {
		attrs = append(attrs, e.API)
	}
	if len(attrs) > 0 {
		b.WriteString(" (" + strings.Join(attrs, ", ") + ")")
	}
	return b.String()
}

// pullStuck reports whether the container's newest Pulling event has no later outcome and is
// older than StuckCreatingAfter, and records when it started.
func pullStuck(c *Container, now time.Time) bool {
	for _, e := range c.Events { // newest first
		switch e.Reason {
		case "Pulled", "Failed", "Created", "Started", "BackOff":
			return false
		case "Pulling":
			start := e.FirstSeen
			if start.IsZero() {
				start = e.LastSeen
			}
			if !start.IsZero() && now.Sub(start) >= StuckCreatingAfter {
				c.PullingSince = start
				return true
			}
			return false
		}
	}
	return false
}

// sandboxContainer builds the sandbox pseudo-container from the newest FailedCreatePodSandBox
// event whose message says the sandbox image could not be pulled.
func sandboxContainer(events []Event) *Container {
	for _, e := range events {
		if e.Reason != "FailedCreatePodSandBox" {
			continue
		}
		image := quotedAfter(e.Message, "failed to get sandbox image ")
		if image == "" && strings.Contains(e.Message, "failed to pull image") {
			image = quotedAfter(e.Message, "failed to pull image ")
		}
		if image == "" {
			continue
		}
		text := e.Message
		if i := strings.Index(text, "failed to get sandbox image "); i >= 0 {
			text = stripQuotedPrefix(text[i:], "failed to get sandbox image ")
		}
		c := &Container{Name: sandboxName, Kind: KindSandbox, Image: ParseImage(image), Events: []Event{e},
			ErrorText: text, ErrorFrom: describeEvent(e)}
		c.Signal = Classify(text)
		return c
	}
	return nil
}

// secretNamesInEvent parses "Unable to retrieve some image pull secrets (a, b); attempting ...".
func secretNamesInEvent(msg string) []string {
	i := strings.Index(msg, "image pull secrets (")
	if i < 0 {
		return nil
	}
	rest := msg[i+len("image pull secrets ("):]
	j := strings.IndexByte(rest, ')')
	if j < 0 {
		return nil
	}
	var names []string
	for _, n := range strings.Split(rest[:j], ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, l := range list {
			if l == it {
				found = true
				break
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}
