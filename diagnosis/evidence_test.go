package diagnosis

import (
	"strconv"
	"testing"
)

// TestChecksWithCloudEvidence runs every message shape through the engine with cloud evidence
// that is complete, contradictory or partial (no node, no route table, no role name): no
// panic, and every fix and verify command keeps the generic rules (no <placeholders>, no
// shell variable used before a command defines it).
func TestChecksWithCloudEvidence(t *testing.T) {
	msgs := []string{notFoundErr(ecrImage), noBasicAuthErr(ecrImage), headStatusErr(ecrImage, "401 Unauthorized"),
		headStatusErr(ecrImage, "403 Forbidden"), timeoutErr(ecrImage, "52.94.1.10"),
		layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden"),
		layerErr(ecrImage, `failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`),
		layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden - Server message: AccessDenied: The ciphertext refers to a customer master key that does not exist"),
		"rpc error: code = NotFound desc = failed to pull and unpack image \"" + ecrImage + "\": no match for platform in manifest: not found"}
	for _, tc := range classifierCases {
		msgs = append(msgs, tc.msg)
	}
	everything := func(f *Facts) {
		withECR(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: No, ImageStatus: "ARCHIVED", EncryptionType: "KMS", KMSKey: tKMSKey, KMSKeyState: "PendingImport",
			Platforms: []string{"linux/arm64"}, RecentTags: []string{"1.8.1"}, ExpiringRule: &LifecycleRule{Priority: 1, Action: "expire"},
			Policy:           &RepositoryPolicyEvidence{Exists: true, Allows: No, DenyStatement: "statement 1", Conditions: []string{"aws:SourceVpce"}},
			PullThroughCache: &PullThroughCacheRule{Prefix: "docker-hub", UpstreamURL: "registry-1.docker.io"}})(f)
		withProbe(ecrImage, RegistryProbe{Auth: "ecr-token", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: Yes, RateRemaining: "0", TLSError: "x509"})(f)
	}
	variants := []struct {
		name string
		mods []func(*Facts)
	}{
		{"all denied, private subnet", []func(*Facts){everything, nodeRole(map[string]string{"ecr:GetAuthorizationToken": "explicitDeny", "ecr:BatchGetImage": "implicitDeny", "ecr:GetDownloadUrlForLayer": "implicitDeny", "ecr:CreateRepository": "implicitDeny"},
			func(p *PrincipalEvidence) { p.IMDSEnabled = No }),
			withNetwork("", eps{"ecr.api": iface(tEpAPI, no443, denies("ecr:GetAuthorizationToken")), "ecr.dkr": iface(tEpDKR, privateDNSOff), "s3": gateway(tEpS3, offRouteTable, denies("s3:GetObject"))})}},
		{"healthy", []func(*Facts){nodeRole(allowed()), withNetwork(tNAT, allEndpoints())}},
		{"no node", []func(*Facts){everything, nodeRole(allowed()), withNetwork("", allEndpoints()), func(f *Facts) { f.Node, f.Pod.Spec.NodeName = nil, "" }}},
		{"routes and groups not read", []func(*Facts){everything, nodeRole(allowed()), withNetwork("", eps{"ecr.api": iface(tEpAPI, no443), "s3": gateway(tEpS3, offRouteTable)}), func(f *Facts) {
			f.Cloud.Network.RouteTable, f.Cloud.Network.SecurityGroups = "", nil
		}}},
		{"role without a name or decisions", []func(*Facts){everything, func(f *Facts) { cloudOf(f).Principal = &PrincipalEvidence{Kind: "node-role"} }}},
		{"Fargate", []func(*Facts){everything, onFargate, fargateRole(allowed("ecr:BatchGetImage", "implicitDeny"))}},
		{"empty cloud", []func(*Facts){func(f *Facts) { f.Cloud = &CloudEvidence{} }}},
	}
	for i, msg := range msgs {
		for _, vr := range variants {
			f := newFacts(append([]func(*Facts){pullFailed("api", msg)}, vr.mods...)...)
			r := NewEngine().Evaluate(f)
			for _, fd := range r.Findings {
				t.Run(strconv.Itoa(i)+"/"+vr.name, func(t *testing.T) {
					assertSane(t, fd.Summary, fd.RestartHelps, fd.Fixes, fd.Verify)
				})
			}
		}
	}
}
