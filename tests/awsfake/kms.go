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
}

func (s *Server) kmsArn(k *KMSKey) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", k.Region, s.sc.Account, k.ID)
}

func (s *Server) kmsKey(req *request) (*KMSKey, error) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	if k := s.sc.KMSKey(in.KeyID); k != nil && k.Region == req.region {
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
		"AWSAccountId":          s.sc.Account,
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
