package podfile

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// facts assembles the loaded objects into Facts. Exactly one pod has been read.
func (l *loader) facts(now time.Time) *diagnosis.Facts {
	pod := l.pods[0].pod
	events := l.podEvents(pod)
	if now.IsZero() {
		now = snapshotTime(pod, events)
	}
	f := &diagnosis.Facts{
		Pod:      pod,
		Events:   events,
		Now:      now,
		Source:   "file " + l.name,
		Workload: diagnosis.WorkloadFrom(pod),
	}

	var missing []string
	if node := l.node(pod); node != nil {
		f.Node = diagnosis.NodeFactsFrom(node)
	} else if pod.Spec.NodeName != "" {
		f.Node = diagnosis.NodeFactsFromPod(pod)
		missing = append(missing, "node "+pod.Spec.NodeName)
	}

	saName := diagnosis.ServiceAccountName(pod)
	sa := l.serviceAccount(pod, saName)
	if sa != nil {
		f.ServiceAccount = diagnosis.ServiceAccountFactsFrom(sa)
	} else {
		missing = append(missing, "service account "+saName)
	}

	f.PullSecrets = l.pullSecrets(pod, f.ServiceAccount)
	var unchecked []string
	for _, s := range f.PullSecrets {
		if s.Status == diagnosis.SecretUnchecked {
			unchecked = append(unchecked, s.Name)
		}
	}
	switch len(unchecked) {
	case 0:
	case 1:
		missing = append(missing, "pull secret "+unchecked[0])
	default:
		missing = append(missing, "pull secrets "+strings.Join(unchecked, ", "))
	}

	needs := "a cluster connection"
	if len(missing) > 0 {
		needs += ", or the missing objects as items of the file"
	}
	missing = append(missing, "other pods")
	f.Skipped = append(f.Skipped, diagnosis.Skip{
		Check:  "cluster",
		Reason: "facts read from a file: " + joinAnd(missing) + " were not checked",
		Needs:  needs,
	})
	return f
}

// joinAnd joins items as "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// sameNamespace compares namespaces, treating an unset one as matching: a saved object
// may have lost its namespace.
func sameNamespace(a, b string) bool { return a == "" || b == "" || a == b }

// --- node ---

// node returns the pod's node from the file, if it is there.
func (l *loader) node(pod *corev1.Pod) *corev1.Node {
	if pod.Spec.NodeName == "" {
		return nil
	}
	for _, n := range l.nodes {
		if n.Name == pod.Spec.NodeName {
			return n
		}
	}
	return nil
}

// --- service account and pull secrets ---

func (l *loader) serviceAccount(pod *corev1.Pod, name string) *corev1.ServiceAccount {
	for _, sa := range l.accounts {
		if sa.Name == name && sameNamespace(sa.Namespace, pod.Namespace) {
			return sa
		}
	}
	return nil
}

// pullSecrets lists the pod's imagePullSecrets, then those of its service account that the
// pod does not list. Secrets in the file are described by type and registry keys; the
// others cannot be checked.
func (l *loader) pullSecrets(pod *corev1.Pod, sa *diagnosis.ServiceAccountFacts) []diagnosis.PullSecret {
	var out []diagnosis.PullSecret
	seen := map[string]bool{}
	add := func(name, from string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		ps := diagnosis.PullSecret{Name: name, From: from, Status: diagnosis.SecretUnchecked, Detail: "not in the file"}
		for _, s := range l.secrets {
			if s.Name == name && sameNamespace(s.Namespace, pod.Namespace) {
				ps = s.PullSecret
				ps.From, ps.Hosts = from, slices.Clone(ps.Hosts)
				break
			}
		}
		out = append(out, ps)
	}
	for _, r := range pod.Spec.ImagePullSecrets {
		add(r.Name, "pod")
	}
	if sa != nil {
		for _, name := range sa.ImagePullSecrets {
			add(name, "serviceaccount")
		}
	}
	return out
}

// --- events ---

// podEvents returns the events about the pod, from both APIs, each event once, oldest
// first (diagnosis.SortEvents) like the live collector.
func (l *loader) podEvents(pod *corev1.Pod) []diagnosis.Event {
	var out []diagnosis.Event
	seen := map[string]bool{}
	// The same event read through both APIs has the same uid (and name).
	once := func(uid types.UID, namespace, name string) bool {
		key := string(uid)
		if key == "" {
			key = namespace + "/" + name
		}
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}
	for _, e := range l.coreEvents {
		if aboutPod(pod, e.InvolvedObject, e.Namespace) && once(e.UID, e.Namespace, e.Name) {
			out = append(out, diagnosis.EventFromCore(e))
		}
	}
	for _, e := range l.newEvents {
		if aboutPod(pod, e.Regarding, e.Namespace) && once(e.UID, e.Namespace, e.Name) {
			out = append(out, diagnosis.EventFromEventsV1(e))
		}
	}
	diagnosis.SortEvents(out)
	return out
}

// aboutPod reports whether an event's object is the pod: by uid when both have one, else
// by name and namespace.
func aboutPod(pod *corev1.Pod, ref corev1.ObjectReference, eventNamespace string) bool {
	if ref.Kind != "" && ref.Kind != kindPod {
		return false
	}
	if ref.UID != "" && pod.UID != "" {
		return ref.UID == pod.UID
	}
	ns := ref.Namespace
	if ns == "" {
		ns = eventNamespace
	}
	return ref.Name == pod.Name && sameNamespace(ns, pod.Namespace)
}

// snapshotTime is when a saved file was taken, as far as its content tells: the newest
// event or status timestamp. A file is a snapshot, so "how long has this pull been running"
// must be measured to the moment it was saved, not to the time it is read.
func snapshotTime(pod *corev1.Pod, events []diagnosis.Event) time.Time {
	var t time.Time
	later := func(c time.Time) {
		if c.After(t) {
			t = c
		}
	}
	later(pod.CreationTimestamp.Time)
	if pod.Status.StartTime != nil {
		later(pod.Status.StartTime.Time)
	}
	for _, c := range pod.Status.Conditions {
		later(c.LastTransitionTime.Time)
		later(c.LastProbeTime.Time)
	}
	for _, e := range events {
		later(e.FirstSeen)
		later(e.LastSeen)
	}
	return t
}
