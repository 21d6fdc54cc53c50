package kube

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// relatedIndex counts pods failing per image and per registry host, to tell a pod how many
// others share its failure. It keeps counts, not pods, so it stays small on big clusters.
type relatedIndex struct {
	seen    map[types.UID]bool
	byImage map[string]int       // normalised image -> failing pods
	byHost  map[string]*hostPods // registry host[:port] -> failing pods
}

type hostPods struct {
	pods       int
	namespaces map[string]int
	nodes      map[string]int
}

func newRelatedIndex() *relatedIndex {
	return &relatedIndex{seen: map[types.UID]bool{}, byImage: map[string]int{}, byHost: map[string]*hostPods{}}
}

// imageKeys returns the key two spellings of the same image share (the normalised
// reference, or the raw string when it does not parse) and the registry host ("" when
// the reference does not parse).
func imageKeys(image string) (key, host string) {
	ref := diagnosis.ParseImage(image)
	if ref.Err != nil {
		return image, ""
	}
	return ref.Full, ref.Domain
}

// podKeys returns the distinct image keys and hosts of the pod's failing images.
func podKeys(pod *corev1.Pod) (keys, hosts []string) {
	for _, img := range failingImages(pod) {
		key, host := imageKeys(img)
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
		if host != "" && !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	return keys, hosts
}

// add records the pod's failing images; a pod is recorded once.
func (x *relatedIndex) add(pod *corev1.Pod) {
	if x.seen[pod.UID] {
		return
	}
	keys, hosts := podKeys(pod)
	if len(keys) == 0 {
		return
	}
	x.seen[pod.UID] = true
	for _, k := range keys {
		x.byImage[k]++
	}
	for _, h := range hosts {
		hp := x.byHost[h]
		if hp == nil {
			hp = &hostPods{namespaces: map[string]int{}, nodes: map[string]int{}}
			x.byHost[h] = hp
		}
		hp.pods++
		hp.namespaces[pod.Namespace]++
		if pod.Spec.NodeName != "" {
			hp.nodes[pod.Spec.NodeName]++
		}
	}
}

// related counts, for each failing image of pod (keyed as written in its spec), the other
// pods in the index that fail on the same image and on the same registry host.
func (x *relatedIndex) related(pod *corev1.Pod, scope string) map[string]diagnosis.Related {
	images := failingImages(pod)
	if len(images) == 0 {
		return nil
	}
	self := 0
	if x.seen[pod.UID] {
		self = 1
	}
	out := make(map[string]diagnosis.Related, len(images))
	for _, img := range images {
		key, host := imageKeys(img)
		rel := diagnosis.Related{Scope: scope, SameImagePods: max(x.byImage[key]-self, 0)}
		nodes := 0
		if hp := x.byHost[host]; host != "" && hp != nil {
			rel.SameRegistryPods = max(hp.pods-self, 0)
			for ns, n := range hp.namespaces {
				if ns == pod.Namespace {
					n -= self
				}
				if n > 0 {
					rel.SameRegistryNS = append(rel.SameRegistryNS, ns)
				}
			}
			slices.Sort(rel.SameRegistryNS)
			nodes = len(hp.nodes)
			if _, counted := hp.nodes[pod.Spec.NodeName]; pod.Spec.NodeName != "" && !counted {
				nodes++
			}
		} else if pod.Spec.NodeName != "" {
			nodes = 1
		}
		rel.Nodes = nodes
		out[img] = rel
	}
	return out
}

func scopeOf(namespace string) string {
	if namespace == "" {
		return "cluster"
	}
	return "namespace " + namespace
}
