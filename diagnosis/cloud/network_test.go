package cloud_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// forEndpoint runs fn on the worked example's endpoint with this ID.
func forEndpoint(sc *awsfake.Scenario, id string, fn func(*awsfake.VpcEndpoint)) {
	fn(sc.VpcEndpoint(id))
}

// ecrEndpoints runs fn on both ECR interface endpoints.
func ecrEndpoints(sc *awsfake.Scenario, fn func(*awsfake.VpcEndpoint)) {
	fn(sc.VpcEndpoint(awsfake.ExampleECRAPIEndpoint))
	fn(sc.VpcEndpoint(awsfake.ExampleECRDKREndpoint))
}

// The node's path to ECR and S3 (DOMAIN C10): routes, endpoints, their subnets and security groups.
func TestNetworkPath(t *testing.T) {
	const otherSG = "sg-0other1234567890ab"
	tests := []struct {
		name  string
		setup func(*awsfake.Scenario)
		want  func(*diagnosis.NetworkEvidence)
	}{
		{
			name:  "NAT default route, all three endpoints serving the node",
			setup: func(*awsfake.Scenario) {},
			want:  func(*diagnosis.NetworkEvidence) {},
		},
		{
			name: "no default route",
			setup: func(sc *awsfake.Scenario) {
				rt := sc.RouteTable(awsfake.ExampleRouteTableID)
				rt.Routes = []awsfake.Route{rt.Routes[0], rt.Routes[2]} // local and the S3 prefix list
			},
			want: func(n *diagnosis.NetworkEvidence) { n.DefaultRoute = "" },
		},
		{
			name:  "a blackholed NAT route is no route",
			setup: func(sc *awsfake.Scenario) { sc.RouteTable(awsfake.ExampleRouteTableID).Routes[1].State = "blackhole" },
			want:  func(n *diagnosis.NetworkEvidence) { n.DefaultRoute = "" },
		},
		{
			name: "no explicit association: the VPC's main table",
			setup: func(sc *awsfake.Scenario) {
				sc.RouteTable(awsfake.ExampleRouteTableID).SubnetIDs = []string{awsfake.ExampleSubnet2ID}
			},
			want: func(n *diagnosis.NetworkEvidence) {
				n.RouteTable, n.DefaultRoute = awsfake.ExampleMainRouteTable, awsfake.ExampleInternetGW
				n.Endpoints["s3"].OnNodeRouteTable = diagnosis.No
			},
		},
		{
			name: "S3 gateway endpoint on another route table",
			setup: func(sc *awsfake.Scenario) {
				forEndpoint(sc, awsfake.ExampleS3Endpoint, func(e *awsfake.VpcEndpoint) { e.RouteTableIDs = []string{awsfake.ExampleMainRouteTable} })
			},
			want: func(n *diagnosis.NetworkEvidence) { n.Endpoints["s3"].OnNodeRouteTable = diagnosis.No },
		},
		{
			name: "no S3 endpoint",
			setup: func(sc *awsfake.Scenario) {
				sc.VpcEndpoints = sc.VpcEndpoints[:2]
			},
			want: func(n *diagnosis.NetworkEvidence) { delete(n.Endpoints, "s3") },
		},
		{
			// Without an endpoint whose private DNS could apply, the DNS attributes are not read.
			name:  "no endpoints at all",
			setup: func(sc *awsfake.Scenario) { sc.VpcEndpoints = nil },
			want: func(n *diagnosis.NetworkEvidence) {
				n.Endpoints = map[string]*diagnosis.VPCEndpoint{}
				n.DNSSupport, n.DNSHostnames = diagnosis.Unknown, diagnosis.Unknown
			},
		},
		{
			name: "private DNS off",
			setup: func(sc *awsfake.Scenario) {
				ecrEndpoints(sc, func(e *awsfake.VpcEndpoint) { e.PrivateDNSEnabled = false })
			},
			want: func(n *diagnosis.NetworkEvidence) {
				n.Endpoints["ecr.api"].PrivateDNS, n.Endpoints["ecr.dkr"].PrivateDNS = false, false
				n.DNSSupport, n.DNSHostnames = diagnosis.Unknown, diagnosis.Unknown
			},
		},
		{
			name: "private DNS on one endpoint only: the attributes are read",
			setup: func(sc *awsfake.Scenario) {
				forEndpoint(sc, awsfake.ExampleECRAPIEndpoint, func(e *awsfake.VpcEndpoint) { e.PrivateDNSEnabled = false })
			},
			want: func(n *diagnosis.NetworkEvidence) { n.Endpoints["ecr.api"].PrivateDNS = false },
		},
		{
			// DOMAIN C10: the endpoints have private DNS, but it does not apply in this VPC.
			name:  "VPC DNS hostnames off",
			setup: func(sc *awsfake.Scenario) { sc.VPC(awsfake.ExampleVpcID).EnableDNSHostnames = false },
			want:  func(n *diagnosis.NetworkEvidence) { n.DNSHostnames = diagnosis.No },
		},
		{
			name: "VPC DNS support and hostnames off",
			setup: func(sc *awsfake.Scenario) {
				v := sc.VPC(awsfake.ExampleVpcID)
				v.EnableDNSSupport, v.EnableDNSHostnames = false, false
			},
			want: func(n *diagnosis.NetworkEvidence) { n.DNSSupport, n.DNSHostnames = diagnosis.No, diagnosis.No },
		},
		{
			name: "endpoint pending",
			setup: func(sc *awsfake.Scenario) {
				forEndpoint(sc, awsfake.ExampleECRDKREndpoint, func(e *awsfake.VpcEndpoint) { e.State = "pending" })
			},
			want: func(n *diagnosis.NetworkEvidence) { n.Endpoints["ecr.dkr"].State = "pending" },
		},
		{
			name: "endpoint deleted",
			setup: func(sc *awsfake.Scenario) {
				forEndpoint(sc, awsfake.ExampleECRDKREndpoint, func(e *awsfake.VpcEndpoint) { e.State = "deleted" })
			},
			want: func(n *diagnosis.NetworkEvidence) { delete(n.Endpoints, "ecr.dkr") },
		},
		{
			name: "endpoint SG admits 443 from the node's SG",
			setup: func(sc *awsfake.Scenario) {
				sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress = []awsfake.Permission{{Protocol: "tcp", FromPort: 443, ToPort: 443, GroupIDs: []string{awsfake.ExampleNodeSG}}}
			},
			want: func(*diagnosis.NetworkEvidence) {},
		},
		{
			name: "endpoint SG admits all traffic from the node's SG",
			setup: func(sc *awsfake.Scenario) {
				sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress = []awsfake.Permission{{Protocol: "-1", GroupIDs: []string{awsfake.ExampleNodeSG}}}
			},
			want: func(*diagnosis.NetworkEvidence) {},
		},
		{
			name: "endpoint SG admits 443 from another SG only",
			setup: func(sc *awsfake.Scenario) {
				sc.SecurityGroups = append(sc.SecurityGroups, &awsfake.SecurityGroup{ID: otherSG, Name: "bastion", VpcID: awsfake.ExampleVpcID})
				sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress = []awsfake.Permission{{Protocol: "tcp", FromPort: 443, ToPort: 443, GroupIDs: []string{otherSG}}}
			},
			want: func(n *diagnosis.NetworkEvidence) {
				n.Endpoints["ecr.api"].AllowsNode443, n.Endpoints["ecr.dkr"].AllowsNode443 = diagnosis.No, diagnosis.No
			},
		},
		{
			name: "endpoint SG admits 80, not 443",
			setup: func(sc *awsfake.Scenario) {
				sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress = []awsfake.Permission{{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDRs: []string{"10.0.0.0/16"}}}
			},
			want: func(n *diagnosis.NetworkEvidence) {
				n.Endpoints["ecr.api"].AllowsNode443, n.Endpoints["ecr.dkr"].AllowsNode443 = diagnosis.No, diagnosis.No
			},
		},
		{
			name: "endpoint SG admits 443 from a CIDR that does not hold the node",
			setup: func(sc *awsfake.Scenario) {
				sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress = []awsfake.Permission{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"10.0.16.0/22"}}}
			},
			want: func(n *diagnosis.NetworkEvidence) {
				n.Endpoints["ecr.api"].AllowsNode443, n.Endpoints["ecr.dkr"].AllowsNode443 = diagnosis.No, diagnosis.No
			},
		},
		{
			name: "endpoint subnets in another AZ",
			setup: func(sc *awsfake.Scenario) {
				ecrEndpoints(sc, func(e *awsfake.VpcEndpoint) { e.SubnetIDs = []string{awsfake.ExampleSubnet2ID} })
			},
			want: func(n *diagnosis.NetworkEvidence) {
				n.Endpoints["ecr.api"].InNodeAZ, n.Endpoints["ecr.dkr"].InNodeAZ = diagnosis.No, diagnosis.No
			},
		},
		{
			name: "an endpoint of another service is not reported",
			setup: func(sc *awsfake.Scenario) {
				sc.VpcEndpoints = append(sc.VpcEndpoints, &awsfake.VpcEndpoint{ID: "vpce-0sts1234567890abc", VpcID: awsfake.ExampleVpcID,
					ServiceName: "com.amazonaws.us-west-2.sts", Type: "Interface", PrivateDNSEnabled: true, SubnetIDs: []string{awsfake.ExampleSubnetID}})
			},
			want: func(*diagnosis.NetworkEvidence) {},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.setup, cloud.Options{})
			f := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
			e.enrich(t, f)

			want := exampleNetwork()
			tc.want(want)
			if diff := cmp.Diff(want, f.Cloud.Network); diff != "" {
				t.Errorf("network (-want +got):\n%s", diff)
			}
			if len(f.Skipped) > 0 {
				t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
			}
		})
	}
}

// Endpoint policies are evaluated for the node role and the pod's repositories: what they
// refuse is named in PolicyDenies.
func TestNetworkEndpointPolicies(t *testing.T) {
	layerBucket := "s3:GetObject on arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"
	tests := []struct {
		name     string
		endpoint string
		policy   string
		images   []string
		want     string
	}{
		{
			name: "ecr.api full access", endpoint: awsfake.ExampleECRAPIEndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
		},
		{
			name: "ecr.api without GetAuthorizationToken", endpoint: awsfake.ExampleECRAPIEndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"}]}`,
			want:   "ecr:GetAuthorizationToken",
		},
		{
			name: "ecr.api allows the node role by name", endpoint: awsfake.ExampleECRAPIEndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},"Action":"ecr:*","Resource":"*"}]}`,
		},
		{
			name: "ecr.api allows another role only", endpoint: awsfake.ExampleECRAPIEndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci-builder"},"Action":"ecr:*","Resource":"*"}]}`,
			want:   "ecr:GetAuthorizationToken",
		},
		{
			name: "ecr.dkr denies the node role", endpoint: awsfake.ExampleECRDKREndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},` +
				`{"Sid":"NoNodes","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},"Action":"ecr:BatchGetImage","Resource":"*"}]}`,
			want: "ecr:BatchGetImage",
		},
		{
			name: "ecr.dkr allows the payments repositories", endpoint: awsfake.ExampleECRDKREndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/*"}]}`,
		},
		{
			name: "ecr.dkr allows the payments repositories, the pod also pulls platform/base", endpoint: awsfake.ExampleECRDKREndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/*"}]}`,
			images: []string{tMissingTag, tXAccount},
			want:   "ecr:BatchGetImage",
		},
		{
			name: "ecr.dkr allows the account's repositories in any region", endpoint: awsfake.ExampleECRDKREndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"arn:aws:ecr:*:111122223333:repository/*"}]}`,
		},
		{
			name: "ecr.dkr without layers", endpoint: awsfake.ExampleECRDKREndpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Resource":"*"}]}`,
			want:   "ecr:GetDownloadUrlForLayer",
		},
		{
			name: "s3 allows the layer bucket", endpoint: awsfake.ExampleS3Endpoint,
			policy: `{"Statement":[{"Sid":"EcrLayers","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"}]}`,
		},
		{
			name: "s3 allows other buckets only", endpoint: awsfake.ExampleS3Endpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::payments-artifacts","arn:aws:s3:::payments-artifacts/*"]}]}`,
			want:   layerBucket,
		},
		{
			name: "s3 denies by account", endpoint: awsfake.ExampleS3Endpoint,
			policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-*-starport-layer-bucket/*"}]}`,
			want:   layerBucket,
		},
	}
	suffixOf := map[string]string{awsfake.ExampleECRAPIEndpoint: "ecr.api", awsfake.ExampleECRDKREndpoint: "ecr.dkr", awsfake.ExampleS3Endpoint: "s3"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(sc *awsfake.Scenario) {
				forEndpoint(sc, tc.endpoint, func(ep *awsfake.VpcEndpoint) { ep.PolicyDocument = tc.policy })
			}, cloud.Options{})
			images := tc.images
			if images == nil {
				images = []string{tMissingTag}
			}
			var cs []ctr
			for i, img := range images {
				cs = append(cs, failing("c"+string(rune('0'+i)), img, forbiddenMsg(img)))
			}
			f := podFacts(tPod, exampleNode(t), cs...)
			e.enrich(t, f)

			want := exampleNetwork()
			want.Endpoints[suffixOf[tc.endpoint]].PolicyDenies = tc.want
			if diff := cmp.Diff(want, f.Cloud.Network); diff != "" {
				t.Errorf("network (-want +got):\n%s", diff)
			}
		})
	}
}

// When the bot cannot tell which role pulls, an endpoint policy that names roles neither allows
// nor refuses the node: PolicyDenies stays empty rather than blaming the endpoint.
func TestNetworkEndpointPolicyUnknownRole(t *testing.T) {
	e := newEnv(t, func(sc *awsfake.Scenario) {
		sc.Denied["iam:GetInstanceProfile"] = true
		ecrEndpoints(sc, func(ep *awsfake.VpcEndpoint) {
			ep.PolicyDocument = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},"Action":"ecr:*","Resource":"*"}]}`
		})
		// A policy that refuses everyone refuses the node whoever it is.
		forEndpoint(sc, awsfake.ExampleS3Endpoint, func(ep *awsfake.VpcEndpoint) {
			ep.PolicyDocument = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::payments-artifacts/*"}]}`
		})
	}, cloud.Options{})
	f := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, forbiddenMsg(tMissingTag)))
	e.enrich(t, f)

	got := map[string]string{}
	for suffix, ep := range f.Cloud.Network.Endpoints {
		got[suffix] = ep.PolicyDenies
	}
	want := map[string]string{"ecr.api": "", "ecr.dkr": "", "s3": "s3:GetObject on arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PolicyDenies by endpoint (-want +got):\n%s", diff)
	}
}

// In the China partition the layer bucket's ARN is arn:aws-cn:s3:::…, and so is what an S3
// endpoint policy must allow.
func TestNetworkChinaPartition(t *testing.T) {
	const (
		region = "cn-north-1"
		image  = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.1"
	)
	tests := []struct{ resource, want string }{
		{"arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*", ""},
		{"arn:aws:s3:::prod-cn-north-1-starport-layer-bucket/*", "s3:GetObject on arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"},
	}
	for _, tc := range tests {
		t.Run(tc.resource, func(t *testing.T) {
			e := newEnv(t, func(sc *awsfake.Scenario) {
				sc.Region = region
				sc.Instance(tInstance).AvailabilityZone = region + "a"
				sc.Subnet(awsfake.ExampleSubnetID).AvailabilityZone = region + "a"
				sc.Subnet(awsfake.ExampleSubnet2ID).AvailabilityZone = region + "b"
				for _, ep := range sc.VpcEndpoints {
					ep.ServiceName = "cn.com.amazonaws.cn-north-1." + ep.ServiceName[len("com.amazonaws.us-west-2."):]
				}
				forEndpoint(sc, awsfake.ExampleS3Endpoint, func(ep *awsfake.VpcEndpoint) {
					ep.PolicyDocument = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + tc.resource + `"}]}`
				})
			}, cloud.Options{})
			f := podFacts(tPod, ec2Node(t, "ip-10-0-12-34.cn-north-1.compute.internal", tInstance, region+"a"), failing("api", image, forbiddenMsg(image)))
			e.enrich(t, f)

			if ev := ecrOf(t, f, image); ev.ImageExists != diagnosis.Yes {
				t.Errorf("image exists %v, want yes", ev.ImageExists)
			}
			n := f.Cloud.Network
			if n == nil || len(n.Endpoints) != 3 {
				t.Fatalf("network %+v, want the three endpoints", n)
			}
			if got := n.Endpoints["s3"].PolicyDenies; got != tc.want {
				t.Errorf("s3 PolicyDenies %q, want %q", got, tc.want)
			}
			for _, c := range e.srv.Calls() {
				if c.Service != "iam" && c.Region != region {
					t.Errorf("%s called in %s, want %s", c.Action(), c.Region, region)
				}
			}
		})
	}
}
