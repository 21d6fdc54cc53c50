package awsfake

import (
	"fmt"
	"strings"
	"time"
)

var kmsHandlers = map[string]handler{
	"DescribeKey":       (*Server).kmsDescribeKey,
	"EnableKey":         (*Server).kmsEnableKey,
	"CancelKeyDeletion": (*Server).kmsCancelKeyDeletion,
	"ListGrants":        (*Server).kmsListGrants,
	"GetKeyPolicy":      (*Server).kmsGetKeyPolicy,
}

// kmsGetKeyPolicy returns the key's policy: Policy, or KMS's default key policy (the
// account's root may use the key) when it has none of its own. A key has one policy, named
// "default".
func (s *Server) kmsGetKeyPolicy(req *request) (any, error) {
	k, err := s.kmsKey(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		PolicyName string `json:"PolicyName"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	if in.PolicyName != "" && in.PolicyName != "default" {
		return nil, errorf(400, "NotFoundException", "No such policy exists")
	}
	policy := k.Policy
	if policy == "" {
		policy = `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",` +
			`"Principal":{"AWS":"arn:aws:iam::` + k.Account + `:root"},"Action":"kms:*","Resource":"*"}]}`
	}
	return map[string]any{"Policy": policy, "PolicyName": "default"}, nil
}

func (s *Server) kmsArn(k *KMSKey) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", k.Region, k.Account, k.ID)
}

func (s *Server) kmsKey(req *request) (*KMSKey, error) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	if k := s.sc.KMSKey(in.KeyID); k != nil && k.Region == req.region {
		if err := s.ownAccount(req, k.Account, s.kmsArn(k)); err != nil {
			return nil, err
		}
		return k, nil
	}
	ref := in.KeyID
	if strings.HasPrefix(ref, "alias/") {
		return nil, errorf(400, "NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.", req.region, s.sc.Account, ref)
	}
	if !strings.HasPrefix(ref, "arn:") {
		ref = fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", req.region, s.sc.Account, ref)
	}
	return nil, errorf(400, "NotFoundException", "Key '%s' does not exist", ref)
}

func (s *Server) kmsDescribeKey(req *request) (any, error) {
	k, err := s.kmsKey(req)
	if err != nil {
		return nil, err
	}
	md := map[string]any{
		"AWSAccountId":          k.Account,
		"KeyId":                 k.ID,
		"Arn":                   s.kmsArn(k),
		"CreationDate":          epoch(k.CreatedAt),
		"Enabled":               k.State == "Enabled",
		"Description":           k.Description,
		"KeyUsage":              "ENCRYPT_DECRYPT",
		"KeyState":              k.State,
		"Origin":                "AWS_KMS",
		"KeyManager":            "CUSTOMER",
		"CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
		"KeySpec":               "SYMMETRIC_DEFAULT",
		"EncryptionAlgorithms":  []string{"SYMMETRIC_DEFAULT"},
		"MultiRegion":           false,
	}
	if k.State == "PendingDeletion" && !k.DeletionDate.IsZero() {
		md["DeletionDate"] = epoch(k.DeletionDate)
	}
	return map[string]any{"KeyMetadata": md}, nil
}

func (s *Server) kmsEnableKey(req *request) (any, error) {
	k, err := s.kmsKey(req)
	if err != nil {
		return nil, err
	}
	switch k.State {
	case "Enabled", "Disabled":
		k.State = "Enabled"
		return nil, nil
	case "PendingDeletion":
		return nil, errorf(400, "KMSInvalidStateException", "%s is pending deletion.", s.kmsArn(k))
	}
	return nil, errorf(400, "KMSInvalidStateException", "%s is %s.", s.kmsArn(k), k.State)
}

func (s *Server) kmsCancelKeyDeletion(req *request) (any, error) {
	k, err := s.kmsKey(req)
	if err != nil {
		return nil, err
	}
	if k.State != "PendingDeletion" {
		return nil, errorf(400, "KMSInvalidStateException", "%s is not pending deletion.", s.kmsArn(k))
	}
	// KMS leaves a key whose deletion was cancelled Disabled.
	k.State = "Disabled"
	k.DeletionDate = time.Time{}
	return map[string]any{"KeyId": s.kmsArn(k)}, nil
}

func (s *Server) kmsListGrants(req *request) (any, error) {
	k, err := s.kmsKey(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		Limit            int    `json:"Limit"`
		Marker           string `json:"Marker"`
		GrantID          string `json:"GrantId"`
		GranteePrincipal string `json:"GranteePrincipal"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	grants := []map[string]any{}
	for _, g := range k.Grants {
		if in.GrantID != "" && g.ID != in.GrantID || in.GranteePrincipal != "" && g.GranteePrincipal != in.GranteePrincipal {
			continue
		}
		m := map[string]any{
			"KeyId":            s.kmsArn(k),
			"GrantId":          g.ID,
			"Name":             g.Name,
			"CreationDate":     epoch(g.CreatedAt),
			"GranteePrincipal": g.GranteePrincipal,
			"IssuingAccount":   "arn:aws:iam::" + k.Account + ":root",
			"Operations":       nonNil(g.Operations),
		}
		if g.RetiringPrincipal != "" {
			m["RetiringPrincipal"] = g.RetiringPrincipal
		}
		if len(g.EncryptionContext) > 0 {
			m["Constraints"] = map[string]any{"EncryptionContextSubset": g.EncryptionContext}
		}
		grants = append(grants, m)
	}
	// KMS API reference: Limit is 1 to 100, 50 when not given.
	switch {
	case in.Limit == 0:
		in.Limit = 50
	case in.Limit < 0 || in.Limit > 100:
		return nil, errorf(400, "ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", in.Limit)
	}
	start, end, next, err := pageOf(len(grants), in.Limit, in.Marker)
	if err != nil {
		return nil, errorf(400, "InvalidMarkerException", "%v", err)
	}
	out := map[string]any{"Grants": grants[start:end], "Truncated": next != ""}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}
