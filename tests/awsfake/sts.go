package awsfake

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// session is the credentials sts:AssumeRole issued: calls signed with its access key ID act
// as the role's account.
type session struct {
	account string // the role's account
	role    string // the role ARN
	arn     string // arn:aws:sts::<account>:assumed-role/<name>/<session name>
	id      string // AssumedRoleId: <role ID>:<session name>
}

// identify attributes a call to the credentials that signed it: an access key ID that
// sts:AssumeRole issued acts as its role's account; any other key (AccessKeyID, the CLI's)
// is the bot's own and acts as Scenario.Account. Signatures are not checked.
func (s *Server) identify(req *request, accessKeyID string) {
	req.account = s.sc.Account
	if ss, ok := s.sessions[accessKeyID]; ok {
		req.session = &ss
		req.account = ss.account
	}
}

// principal is the ARN of the caller, for error messages.
func (s *Server) principal(req *request) string {
	if req.session != nil {
		return req.session.arn
	}
	return s.sc.Caller.Arn
}

// ownAccount refuses a call on another account's resource when Scenario.SeparateAccounts is
// set, as AWS does when the resource's policy does not allow the caller (awsfake does not
// evaluate repository or key policies for this). resource is the resource's ARN.
func (s *Server) ownAccount(req *request, account, resource string) error {
	if !s.sc.SeparateAccounts || account == req.account {
		return nil
	}
	action := req.service + ":" + req.op
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action", s.principal(req), action, resource, action)
	return errorf(400, "AccessDeniedException", "%s", msg) // ECR and KMS: awsJson1_1
}

// ecrRegistry is the registry a call names (registryId), by default the caller's account;
// with Scenario.SeparateAccounts, another account's registry is refused.
func (s *Server) ecrRegistry(req *request, registryID, repo string) (string, error) {
	if registryID == "" {
		registryID = req.account
	}
	resource := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", req.region, registryID, repo)
	if repo == "" {
		resource = fmt.Sprintf("arn:aws:ecr:%s:%s:*", req.region, registryID)
	}
	return registryID, s.ownAccount(req, registryID, resource)
}

var roleARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// stsAssumeRole issues temporary credentials for any well-formed role ARN (awsfake has no
// trust policies: deny the call with Scenario.Denied["sts:AssumeRole"]). Calls signed with
// them act as the role's account.
func (s *Server) stsAssumeRole(req *request) (any, error) {
	roleARN, name := req.form.Get("RoleArn"), req.form.Get("RoleSessionName")
	m := roleARNRE.FindStringSubmatch(roleARN)
	if m == nil {
		return nil, errorf(400, "ValidationError", "%s is invalid", roleARN)
	}
	if name == "" {
		return nil, errorf(400, "ValidationError", "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	duration := time.Hour
	if v := req.form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			return nil, errorf(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
		duration = time.Duration(n) * time.Second
	}
	s.seq++
	key := "ASIA" + strings.ToUpper(shortHash("session", fmt.Sprint(roleARN, s.seq))[1:17])
	roleID := "AROA" + strings.ToUpper(shortHash("role", roleARN)[1:17])
	ss := session{account: m[2], role: roleARN, arn: fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", m[1], m[2], m[3], name), id: roleID + ":" + name}
	s.sessions[key] = ss
	// The SDK's credential cache compares the expiry with the real clock.
	start := s.now()
	if real := time.Now().UTC(); real.After(start) {
		start = real
	}
	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type assumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string
	}
	return &struct {
		Credentials     credentials
		AssumedRoleUser assumedRoleUser
	}{
		credentials{key, "awsfake/session/secret/" + key, "awsfake-session-token-" + key, start.Add(duration).UTC().Format(time.RFC3339)},
		assumedRoleUser{ss.id, ss.arn},
	}, nil
}
