package cloud

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// policyDoc is an IAM-style policy document (repository, endpoint and bucket policies).
type policyDoc struct {
	Statement statements `json:"Statement"`
}

type statement struct {
	Sid       string                     `json:"Sid"`
	Effect    string                     `json:"Effect"`
	Principal json.RawMessage            `json:"Principal"`
	Action    stringList                 `json:"Action"`
	NotAction stringList                 `json:"NotAction"`
	Resource  stringList                 `json:"Resource"`
	Condition map[string]json.RawMessage `json:"Condition"`
}

// statements accepts a single statement object or a list.
type statements []statement

func (s *statements) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one statement
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = statements{one}
		return nil
	}
	var many []statement
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

// stringList accepts "x" or ["x", "y"].
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = stringList{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*l = many
	return err
}

// decision is the outcome of evaluating one request against one policy.
type decision struct {
	allowed, denied bool
	statement       string   // Sid or "statement N" of the deciding statement
	conditions      []string // condition keys on the matching statements
}

// evaluate decides whether principalARN (of account) may do action on resource under the
// policy. Conditions are not evaluated; their keys are reported so that the user can check them.
func evaluate(text, principalARN, account, action, resource string) (decision, error) {
	var d decision
	if strings.TrimSpace(text) == "" {
		return d, nil
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return d, fmt.Errorf("parse policy: %w", err)
	}
	for i, st := range doc.Statement {
		if !principalMatches(st.Principal, principalARN, account) || !actionMatches(st, action) || !resourceMatches(st.Resource, resource) {
			continue
		}
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("statement %d", i+1)
		}
		for k := range st.Condition {
			var keys map[string]json.RawMessage
			if json.Unmarshal(st.Condition[k], &keys) == nil {
				for key := range keys {
					d.conditions = append(d.conditions, key)
				}
			}
		}
		switch strings.ToLower(st.Effect) {
		case "deny":
			if !d.denied {
				d.denied, d.statement = true, name
			}
		case "allow":
			if !d.allowed && !d.denied {
				d.statement = name
			}
			d.allowed = true
		}
	}
	sort.Strings(d.conditions)
	d.conditions = slices.Compact(d.conditions)
	return d, nil
}

func principalMatches(raw json.RawMessage, principalARN, account string) bool {
	if len(raw) == 0 {
		return true // identity-less statements (endpoint policies may omit Principal)
	}
	var values []string
	var s string
	if json.Unmarshal(raw, &s) == nil {
		values = []string{s}
	} else {
		var m map[string]stringList
		if json.Unmarshal(raw, &m) != nil {
			return false
		}
		values = m["AWS"]
	}
	for _, v := range values {
		switch {
		case v == "*", v == principalARN, v == account:
			return true
		case strings.HasSuffix(v, ":root") && account != "" && strings.Contains(v, "::"+account+":"):
			return true
		}
	}
	return false
}

// namesPrincipals reports whether a statement of the policy applies to some principals only,
// so that the policy's verdict depends on who makes the request.
func namesPrincipals(text string) bool {
	var doc policyDoc
	if json.Unmarshal([]byte(text), &doc) != nil {
		return false
	}
	for _, st := range doc.Statement {
		if !principalMatches(st.Principal, "", "") { // only "*" (or no Principal) matches everyone
			return true
		}
	}
	return false
}

func actionMatches(st statement, action string) bool {
	if len(st.NotAction) > 0 {
		return !globAny(st.NotAction, action)
	}
	return globAny(st.Action, action)
}

func resourceMatches(resources stringList, resource string) bool {
	if len(resources) == 0 || resource == "" {
		return true
	}
	return globAny(resources, resource)
}

func globAny(patterns []string, s string) bool {
	s = strings.ToLower(s)
	for _, p := range patterns {
		if wildcardMatch(strings.ToLower(p), s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches IAM wildcards: * is any run of characters (slashes included, unlike
// path.Match's), ? is one character; nothing else is special.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0: // let the last * take one more character
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// repositoryPolicyEvidence evaluates a repository policy for the pulling role.
func repositoryPolicyEvidence(text, roleARN, roleAccount, repoARN string) *diagnosis.RepositoryPolicyEvidence {
	ev := &diagnosis.RepositoryPolicyEvidence{Exists: strings.TrimSpace(text) != ""}
	if !ev.Exists {
		ev.Allows = diagnosis.No
		return ev
	}
	d, err := evaluate(text, roleARN, roleAccount, "ecr:BatchGetImage", repoARN)
	if err != nil {
		return ev
	}
	ev.Conditions = d.conditions
	switch {
	case d.denied:
		ev.DenyStatement = d.statement
		ev.Allows = diagnosis.No
	case d.allowed:
		ev.Allows = diagnosis.Yes
	default:
		ev.Allows = diagnosis.No
	}
	return ev
}

// lifecyclePolicy is an ECR lifecycle policy document.
type lifecyclePolicy struct {
	Rules []struct {
		RulePriority int    `json:"rulePriority"`
		Description  string `json:"description"`
		Selection    struct {
			TagStatus      string   `json:"tagStatus"`
			TagPrefixList  []string `json:"tagPrefixList"`
			TagPatternList []string `json:"tagPatternList"`
			CountType      string   `json:"countType"`
			CountNumber    int      `json:"countNumber"`
			CountUnit      string   `json:"countUnit"`
		} `json:"selection"`
		Action struct {
			Type string `json:"type"`
		} `json:"action"`
	} `json:"rules"`
}

// matchLifecycleRule returns the highest-priority rule that selects an image like img: by its
// tag, or, for an image pinned by digest, as an untagged image (its tag may have moved on).
func matchLifecycleRule(text string, img diagnosis.ImageRef) *diagnosis.LifecycleRule {
	var lp lifecyclePolicy
	if json.Unmarshal([]byte(text), &lp) != nil {
		return nil
	}
	sort.SliceStable(lp.Rules, func(i, j int) bool { return lp.Rules[i].RulePriority < lp.Rules[j].RulePriority })
	for _, r := range lp.Rules {
		sel := r.Selection
		match := false
		switch sel.TagStatus {
		case "any":
			match = true
		case "untagged":
			match = img.Digest != ""
		case "tagged":
			if img.Digest == "" {
				for _, p := range sel.TagPrefixList {
					match = match || strings.HasPrefix(img.Tag, p)
				}
				for _, p := range sel.TagPatternList {
					ok, _ := path.Match(p, img.Tag)
					match = match || ok
				}
			}
		}
		if match {
			return &diagnosis.LifecycleRule{Priority: r.RulePriority, Description: r.Description, TagStatus: sel.TagStatus,
				TagPrefixes: append(sel.TagPrefixList, sel.TagPatternList...), CountType: sel.CountType, CountNumber: sel.CountNumber,
				CountUnit: sel.CountUnit, Action: r.Action.Type}
		}
	}
	return nil
}
