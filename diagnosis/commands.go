package diagnosis

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// envRef matches arguments such as --docker-password=$REGISTRY_PASSWORD.
var envRef = regexp.MustCompile(`^[A-Za-z0-9_./:=-]*\$[A-Z_][A-Z0-9_]*$`)

// cmdContext builds fix and verify commands with the pod's real names filled in.
type cmdContext struct {
	f *Facts
	c *Container
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	if envRef.MatchString(s) {
		// An argument that names a shell variable (a credential the user supplies) must expand.
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func (x cmdContext) ns() string { return x.f.Pod.Namespace }

// kubectl renders "kubectl -n NS args..." with each argument quoted as needed.
func (x cmdContext) kubectl(args ...string) string {
	q := make([]string, 0, len(args)+3)
	q = append(q, "kubectl", "-n", shellQuote(x.ns()))
	for _, a := range args {
		q = append(q, shellQuote(a))
	}
	return strings.Join(q, " ")
}

// workload returns the owning workload, or the pod itself.
func (x cmdContext) workload() Workload {
	if x.f.Workload != nil && x.f.Workload.Kind != "" {
		return *x.f.Workload
	}
	return Workload{Kind: "Pod", Name: x.f.Pod.Name}
}

// restartable reports whether the workload supports `kubectl rollout restart`.
func (x cmdContext) restartable() bool {
	switch x.workload().Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return true
	}
	return false
}

func (x cmdContext) workloadArg() string {
	w := x.workload()
	return strings.ToLower(w.Kind) + "/" + w.Name
}

// restart is the command that makes a new pod: a rollout restart where the workload supports
// it, deleting the pod where a controller recreates it (Job, ReplicaSet), and re-creating a
// bare pod from its own spec (nothing else would), unpinned from its node and without debug
// containers, which cannot be set at creation.
func (x cmdContext) restart() string {
	if x.restartable() {
		return x.kubectl("rollout", "restart", x.workloadArg())
	}
	if x.workload().Kind == "Pod" {
		return x.kubectl("get", "pod", x.f.Pod.Name, "-o", "json") +
			" | jq 'del(.spec.nodeName, .spec.ephemeralContainers)' | kubectl replace --force -f -"
	}
	return x.kubectl("delete", "pod", x.f.Pod.Name)
}

// templatePath is the JSON pointer to the pod template spec of the workload.
func (x cmdContext) templatePath() (string, bool) {
	switch x.workload().Kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return "/spec/template/spec", true
	case "CronJob":
		return "/spec/jobTemplate/spec/template/spec", true
	}
	return "", false // Job templates and bare pods are immutable here
}

func (x cmdContext) containerListField() string {
	switch x.c.Kind {
	case KindInit:
		return "initContainers"
	case KindEphemeral:
		return "ephemeralContainers"
	}
	return "containers"
}

// setImage changes the container's image in the owning workload (or the pod).
func (x cmdContext) setImage(image string) string {
	if x.c.Kind == KindEphemeral || x.c.Kind == KindSandbox {
		return "" // not in the workload's template; the sandbox image is node configuration
	}
	target := x.workloadArg()
	if _, ok := x.templatePath(); !ok && x.workload().Kind != "Pod" {
		return "" // a Job's template cannot change; recreate it
	}
	return x.kubectl("set", "image", target, x.c.Name+"="+image)
}

// jsonPatch applies ops to the workload's pod template (paths relative to the pod spec).
func (x cmdContext) jsonPatch(ops ...string) string {
	base, ok := x.templatePath()
	if !ok {
		return ""
	}
	body := "[" + strings.Join(ops, ",") + "]"
	body = strings.ReplaceAll(body, "{{spec}}", base)
	w := x.workload()
	return x.kubectl("patch", strings.ToLower(w.Kind), w.Name, "--type", "json", "-p", body)
}

// mergePatch merges podSpec, a JSON object, into the workload's pod template spec. Unlike a
// JSON patch "add", it keeps the map entries already there (e.g. other nodeSelector keys).
func (x cmdContext) mergePatch(podSpec string) string {
	base, ok := x.templatePath()
	if !ok {
		return ""
	}
	body := podSpec
	parts := strings.Split(strings.Trim(base, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		body = `{"` + parts[i] + `":` + body + `}`
	}
	w := x.workload()
	return x.kubectl("patch", strings.ToLower(w.Kind), w.Name, "--type", "merge", "-p", body)
}

// withoutWorkloadChanges drops the commands that restart, roll back, patch or re-create the
// workload or the pod (all built by this context), and the fixes left with no command.
func (x cmdContext) withoutWorkloadChanges(fixes []Fix) []Fix {
	w := x.workload()
	changes := func(cmd string) bool {
		if cmd == x.restart() {
			return true
		}
		for _, p := range [][]string{{"rollout"}, {"set"}, {"delete", "pod"}, {"patch", strings.ToLower(w.Kind)}} {
			if strings.HasPrefix(cmd, x.kubectl(p...)+" ") {
				return true
			}
		}
		return false
	}
	out := []Fix{}
	for _, f := range fixes {
		var cmds []string
		for _, c := range f.Commands {
			if !changes(c) {
				cmds = append(cmds, c)
			}
		}
		if len(cmds) > 0 {
			out = append(out, Fix{Title: f.Title, Commands: cmds})
		}
	}
	return out
}

// selector returns the pod's labels minus per-revision ones, as a kubectl label selector.
func (x cmdContext) selector() string {
	var parts []string
	for k, v := range x.f.Pod.Labels {
		switch k {
		case "pod-template-hash", "controller-revision-hash", "pod-template-generation",
			"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
			"batch.kubernetes.io/controller-uid", "controller-uid", "batch.kubernetes.io/job-name", "job-name":
			continue
		}
		if strings.HasPrefix(k, "topology.kubernetes.io/") {
			continue // copied onto pods from their node by the API server, not in the template
		}
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// verifyPods shows whether the workload's pods now run: STATUS changes from ErrImagePull /
// ImagePullBackOff to Running.
func (x cmdContext) verifyPods() string {
	if sel := x.selector(); sel != "" && x.workload().Kind != "Pod" {
		return x.kubectl("get", "pods", "-l", sel, "-o", "wide")
	}
	return x.kubectl("get", "pod", x.f.Pod.Name, "-o", "wide")
}

// events lists the pod's events, which show the next pull attempt's outcome.
func (x cmdContext) events() string {
	return x.kubectl("get", "events", "--field-selector", "involvedObject.name="+x.f.Pod.Name, "--sort-by", ".lastTimestamp")
}

// describe is kubectl describe pod.
func (x cmdContext) describe() string { return x.kubectl("describe", "pod", x.f.Pod.Name) }

// region returns the AWS region for aws commands: the image's ECR region, else the node's.
func (x cmdContext) region() string {
	if x.c.Image.Region != "" {
		return x.c.Image.Region
	}
	if x.f.Node != nil {
		return x.f.Node.Region
	}
	return ""
}

// nodeRoleDiscovery returns commands that put the node's IAM role name into $NODE_ROLE, from
// the real instance ID, or "" when the node is not a known EC2 instance.
func (x cmdContext) nodeRoleDiscovery() []string {
	n := x.f.Node
	if n == nil || n.InstanceID == "" || n.Region == "" {
		return nil
	}
	return []string{
		fmt.Sprintf("PROFILE=$(aws ec2 describe-instances --region %s --instance-ids %s --query 'Reservations[0].Instances[0].IamInstanceProfile.Arn' --output text)", n.Region, n.InstanceID),
		`NODE_ROLE=$(aws iam get-instance-profile --instance-profile-name "${PROFILE##*/}" --query 'InstanceProfile.Roles[0].RoleName' --output text)`,
	}
}

// quote shortens very long messages for evidence while keeping both ends.
func quote(s string) string {
	const max = 600
	if len(s) > max {
		s = s[:max/2] + " … " + s[len(s)-max/2:]
	}
	return `"` + s + `"`
}

// nodeName is the pod's node or "(not scheduled)".
func (x cmdContext) nodeName() string {
	if x.f.Pod.Spec.NodeName != "" {
		return x.f.Pod.Spec.NodeName
	}
	return ""
}

// nodeLabel names the node for prose: "node NAME", or "the node" when the pod is not bound.
func (x cmdContext) nodeLabel() string {
	if n := x.nodeName(); n != "" {
		return "node " + n
	}
	return "the node"
}

// policyARN is an AWS managed policy ARN in the image's partition.
func (x cmdContext) policyARN(name string) string {
	p := x.c.Image.Partition
	if p == "" {
		p = "aws"
	}
	return "arn:" + p + ":iam::aws:policy/" + name
}

// capitalize upper-cases the first letter of s (ASCII).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
