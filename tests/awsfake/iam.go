package awsfake

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

var iamHandlers = map[string]handler{
	"GetInstanceProfile":       (*Server).iamGetInstanceProfile,
	"GetRole":                  (*Server).iamGetRole,
	"ListAttachedRolePolicies": (*Server).iamListAttachedRolePolicies,
	"ListRolePolicies":         (*Server).iamListRolePolicies,
	"GetRolePolicy":            (*Server).iamGetRolePolicy,
	"SimulatePrincipalPolicy":  (*Server).iamSimulatePrincipalPolicy,
	"AttachRolePolicy":         (*Server).iamAttachRolePolicy,
	"PutRolePolicy":            (*Server).iamPutRolePolicy,
}

var stsHandlers = map[string]handler{
	"GetCallerIdentity": (*Server).stsGetCallerIdentity,
	"AssumeRole":        (*Server).stsAssumeRole,
}

func (s *Server) stsGetCallerIdentity(req *request) (any, error) {
	type identity struct {
		UserID  string `xml:"UserId"`
		Account string
		Arn     string
	}
	if ss := req.session; ss != nil {
		return &identity{ss.id, ss.account, ss.arn}, nil
	}
	userID := s.sc.Caller.UserID
	if userID == "" {
		userID = "AROAAWSFAKECALLER0001:pullcheck"
	}
	return &identity{userID, s.sc.Account, s.sc.Caller.Arn}, nil
}

// ---- wire shapes ----

type iamRole struct {
	Path                     string
	RoleName                 string
	RoleID                   string `xml:"RoleId"`
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string `xml:",omitempty"`
	MaxSessionDuration       int    `xml:",omitempty"`
}

type iamAttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

type iamStatement struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string
}

type iamEvaluationResult struct {
	EvalActionName       string
	EvalResourceName     string
	EvalDecision         string
	MatchedStatements    members[iamStatement]
	MissingContextValues members[string]
}

func (s *Server) roleArn(r *Role) string {
	return "arn:aws:iam::" + s.sc.Account + ":role" + r.Path + r.Name
}

func (s *Server) iamRoleXML(r *Role, full bool) iamRole {
	out := iamRole{
		Path:       r.Path,
		RoleName:   r.Name,
		RoleID:     r.ID,
		Arn:        s.roleArn(r),
		CreateDate: isoTime(r.CreatedAt),
	}
	if r.AssumeRolePolicy != "" {
		out.AssumeRolePolicyDocument = policyEscape(r.AssumeRolePolicy)
	}
	if full { // GetRole has MaxSessionDuration; the roles of an instance profile do not
		out.MaxSessionDuration = 3600
	}
	return out
}

// policyEscape URL-encodes a policy document the way IAM returns it.
func policyEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func (s *Server) iamRole(name string) (*Role, error) {
	if r := s.sc.Role(name); r != nil {
		return r, nil
	}
	return nil, errorf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

// ---- operations ----

func (s *Server) iamGetInstanceProfile(req *request) (any, error) {
	name := req.form.Get("InstanceProfileName")
	p := s.sc.InstanceProfile(name)
	if p == nil {
		return nil, errorf(404, "NoSuchEntity", "Instance Profile %s cannot be found.", name)
	}
	var roles []iamRole
	for _, rn := range p.Roles {
		if r := s.sc.Role(rn); r != nil {
			roles = append(roles, s.iamRoleXML(r, false))
		}
	}
	type profile struct {
		Path                string
		InstanceProfileName string
		InstanceProfileID   string `xml:"InstanceProfileId"`
		Arn                 string
		CreateDate          string
		Roles               members[iamRole]
	}
	return &struct{ InstanceProfile profile }{profile{
		Path:                p.Path,
		InstanceProfileName: p.Name,
		InstanceProfileID:   p.ID,
		Arn:                 "arn:aws:iam::" + s.sc.Account + ":instance-profile" + p.Path + p.Name,
		CreateDate:          isoTime(p.CreatedAt),
		Roles:               members[iamRole]{roles},
	}}, nil
}

func (s *Server) iamGetRole(req *request) (any, error) {
	r, err := s.iamRole(req.form.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	return &struct{ Role iamRole }{s.iamRoleXML(r, true)}, nil
}

func (s *Server) iamListAttachedRolePolicies(req *request) (any, error) {
	r, err := s.iamRole(req.form.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	var out []iamAttachedPolicy
	for _, arn := range r.AttachedPolicies {
		name := arn[strings.LastIndex(arn, "/")+1:]
		if p := s.sc.ManagedPolicies[arn]; p != nil && p.Name != "" {
			name = p.Name
		}
		out = append(out, iamAttachedPolicy{PolicyName: name, PolicyArn: arn})
	}
	return &struct {
		AttachedPolicies members[iamAttachedPolicy]
		IsTruncated      bool
	}{members[iamAttachedPolicy]{out}, false}, nil
}

func (s *Server) iamListRolePolicies(req *request) (any, error) {
	r, err := s.iamRole(req.form.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range r.InlinePolicies {
		names = append(names, n)
	}
	slices.Sort(names)
	return &struct {
		PolicyNames members[string]
		IsTruncated bool
	}{members[string]{names}, false}, nil
}

func (s *Server) iamGetRolePolicy(req *request) (any, error) {
	r, err := s.iamRole(req.form.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	name := req.form.Get("PolicyName")
	doc, ok := r.InlinePolicies[name]
	if !ok {
		return nil, errorf(404, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return &struct {
		RoleName       string
		PolicyName     string
		PolicyDocument string
	}{r.Name, name, policyEscape(doc)}, nil
}

func (s *Server) iamAttachRolePolicy(req *request) (any, error) {
	r, err := s.iamRole(req.form.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	arn := req.form.Get("PolicyArn")
	if s.sc.ManagedPolicies[arn] == nil {
		return nil, errorf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	if !slices.Contains(r.AttachedPolicies, arn) {
		r.AttachedPolicies = append(r.AttachedPolicies, arn)
	}
	return nil, nil
}

func (s *Server) iamPutRolePolicy(req *request) (any, error) {
	r, err := s.iamRole(req.form.Get("RoleName"))
	if err != nil {
		return nil, err
	}
	doc := req.form.Get("PolicyDocument")
	if _, err := parsePolicy(doc); err != nil {
		return nil, errorf(400, "MalformedPolicyDocument", "Syntax errors in policy.")
	}
	if r.InlinePolicies == nil {
		r.InlinePolicies = map[string]string{}
	}
	r.InlinePolicies[req.form.Get("PolicyName")] = doc
	return nil, nil
}

func (s *Server) iamSimulatePrincipalPolicy(req *request) (any, error) {
	source := req.form.Get("PolicySourceArn")
	_, resource, ok := strings.Cut(source, ":role/")
	if !ok {
		return nil, errorf(400, "InvalidInput", "awsfake simulates roles only, not %s", source)
	}
	r, err := s.iamRole(resource[strings.LastIndex(resource, "/")+1:])
	if err != nil {
		return nil, err
	}
	actions := formList(req.form, "ActionNames.member")
	if len(actions) == 0 {
		return nil, errorf(400, "ValidationError", "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	resources := formList(req.form, "ResourceArns.member")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	var results []iamEvaluationResult
	for _, a := range actions {
		for _, res := range resources {
			decision, matched := s.evaluate(r, a, res)
			results = append(results, iamEvaluationResult{
				EvalActionName:    a,
				EvalResourceName:  res,
				EvalDecision:      decision,
				MatchedStatements: members[iamStatement]{matched},
			})
		}
	}
	return &struct {
		EvaluationResults members[iamEvaluationResult]
		IsTruncated       bool
	}{members[iamEvaluationResult]{results}, false}, nil
}

// ---- policy evaluation ----

// Decisions of SimulatePrincipalPolicy.
const (
	DecisionAllowed      = "allowed"
	DecisionImplicitDeny = "implicitDeny"
	DecisionExplicitDeny = "explicitDeny"
)

type policyStatement struct {
	Effect      string
	Action      stringList
	NotAction   stringList
	Resource    stringList
	NotResource stringList
}

type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

func parsePolicy(doc string) ([]policyStatement, error) {
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, err
	}
	var list []policyStatement
	if err := json.Unmarshal(raw.Statement, &list); err == nil {
		return list, nil
	}
	var one policyStatement
	if err := json.Unmarshal(raw.Statement, &one); err != nil {
		return nil, err
	}
	return []policyStatement{one}, nil
}

func (st policyStatement) matches(action, resource string) bool {
	actionOK := len(st.Action) > 0 && anyGlob(st.Action, action, true)
	if len(st.NotAction) > 0 {
		actionOK = !anyGlob(st.NotAction, action, true)
	}
	resourceOK := len(st.Resource) == 0 || anyGlob(st.Resource, resource, false)
	if len(st.NotResource) > 0 {
		resourceOK = !anyGlob(st.NotResource, resource, false)
	}
	return actionOK && resourceOK
}

// evaluate decides action on resource for role from its attached managed policies, inline
// policies and AllowedActions. Conditions and permissions boundaries are not modelled.
// Without ResourceArns the resource is "*", which only statements on "*" match.
func (s *Server) evaluate(r *Role, action, resource string) (string, []iamStatement) {
	type source struct {
		id, typ, doc string
	}
	var sources []source
	for _, arn := range r.AttachedPolicies {
		if p := s.sc.ManagedPolicies[arn]; p != nil {
			sources = append(sources, source{p.Name, "IAM Policy", p.Document})
		}
	}
	var inline []string
	for n := range r.InlinePolicies {
		inline = append(inline, n)
	}
	slices.Sort(inline)
	for _, n := range inline {
		sources = append(sources, source{n, "IAM Policy", r.InlinePolicies[n]})
	}
	if len(r.AllowedActions) > 0 {
		doc, _ := json.Marshal(map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": r.AllowedActions, "Resource": "*"}}})
		sources = append(sources, source{"AllowedActions", "IAM Policy", string(doc)})
	}
	var allows, denies []iamStatement
	for _, src := range sources {
		stmts, err := parsePolicy(src.doc)
		if err != nil {
			continue
		}
		for _, st := range stmts {
			if !st.matches(action, resource) {
				continue
			}
			m := iamStatement{SourcePolicyID: src.id, SourcePolicyType: src.typ}
			if strings.EqualFold(st.Effect, "Deny") {
				denies = append(denies, m)
			} else if strings.EqualFold(st.Effect, "Allow") {
				allows = append(allows, m)
			}
		}
	}
	switch {
	case len(denies) > 0:
		return DecisionExplicitDeny, denies
	case len(allows) > 0:
		return DecisionAllowed, allows
	}
	return DecisionImplicitDeny, nil
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if glob(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches IAM wildcards: * is any run of characters (slashes included), ? one character.
func glob(pattern, s string) bool {
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
		case star >= 0:
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
