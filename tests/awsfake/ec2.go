package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

var ec2Handlers = map[string]handler{
	"DescribeInstances":             (*Server).ec2DescribeInstances,
	"DescribeSubnets":               (*Server).ec2DescribeSubnets,
	"DescribeRouteTables":           (*Server).ec2DescribeRouteTables,
	"DescribeVpcEndpoints":          (*Server).ec2DescribeVpcEndpoints,
	"DescribeSecurityGroups":        (*Server).ec2DescribeSecurityGroups,
	"DescribeSecurityGroupRules":    (*Server).ec2DescribeSecurityGroupRules,
	"DescribeVpcAttribute":          (*Server).ec2DescribeVpcAttribute,
	"ModifyVpcAttribute":            (*Server).ec2ModifyVpcAttribute,
	"DescribePrefixLists":           (*Server).ec2DescribePrefixLists,
	"CreateVpcEndpoint":             (*Server).ec2CreateVpcEndpoint,
	"ModifyVpcEndpoint":             (*Server).ec2ModifyVpcEndpoint,
	"AuthorizeSecurityGroupIngress": (*Server).ec2AuthorizeSecurityGroupIngress,
	"ModifyInstanceMetadataOptions": (*Server).ec2ModifyInstanceMetadataOptions,
}

// ---- filters ----

type ec2Filter struct {
	Name   string
	Values []string
}

func ec2Filters(form url.Values) []ec2Filter {
	var out []ec2Filter
	for _, n := range formIndexes(form, "Filter") {
		p := "Filter." + strconv.Itoa(n)
		out = append(out, ec2Filter{Name: form.Get(p + ".Name"), Values: formList(form, p+".Value")})
	}
	return out
}

// attrFunc returns the values a resource has for a filter name, and whether the filter
// name exists for the resource type.
type attrFunc func(name string) ([]string, bool)

// ec2Match reports whether a resource passes every filter: filters AND, values OR, with
// * and ? wildcards in values.
func ec2Match(filters []ec2Filter, attrs attrFunc) (bool, error) {
	for _, f := range filters {
		have, ok := attrs(f.Name)
		if !ok {
			if strings.HasPrefix(f.Name, "tag:") || f.Name == "tag-key" {
				return false, nil // tags are not modelled: nothing matches
			}
			return false, errorf(400, "InvalidParameterValue", "The filter '%s' is invalid", f.Name)
		}
		hit := false
		for _, want := range f.Values {
			for _, h := range have {
				if glob(want, h) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

// ec2Select filters rs by region, explicit IDs (idKey.N; a missing one is notFound) and
// filters.
func ec2Select[T any](req *request, all []T, idKey string, id func(T) string, region func(T) string,
	attrs func(T) attrFunc, notFound func(ids []string) error) ([]T, error) {
	ids := formList(req.form, idKey)
	filters := ec2Filters(req.form)
	var out []T
	found := map[string]bool{}
	for _, r := range all {
		if region(r) != req.region {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, id(r)) {
			continue
		}
		found[id(r)] = true
		ok, err := ec2Match(filters, attrs(r))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	var missing []string
	for _, want := range ids {
		if !found[want] {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, notFound(missing)
	}
	return out, nil
}

func notFoundErr(code, what string) func([]string) error {
	return func(ids []string) error {
		if len(ids) == 1 {
			return errorf(400, code, "The %s '%s' does not exist", what, ids[0])
		}
		return errorf(400, code, "The %ss '%s' do not exist", what, strings.Join(ids, ", "))
	}
}

func ec2Page[T any](req *request, all []T) ([]T, string, error) {
	maxResults, _ := strconv.Atoi(req.form.Get("MaxResults"))
	start, end, next, err := pageOf(len(all), maxResults, req.form.Get("NextToken"))
	if err != nil {
		return nil, "", errorf(400, "InvalidParameterValue", "%v", err)
	}
	return all[start:end], next, nil
}

func shortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return "0" + hex.EncodeToString(sum[:])[:16]
}

// ---- wire shapes ----

type ec2GroupIdentifier struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type ec2Instance struct {
	InstanceID    string `xml:"instanceId"`
	ImageID       string `xml:"imageId"`
	InstanceState struct {
		Code int    `xml:"code"`
		Name string `xml:"name"`
	} `xml:"instanceState"`
	PrivateDNSName string `xml:"privateDnsName"`
	InstanceType   string `xml:"instanceType"`
	LaunchTime     string `xml:"launchTime"`
	Placement      struct {
		AvailabilityZone string `xml:"availabilityZone"`
		Tenancy          string `xml:"tenancy"`
	} `xml:"placement"`
	SubnetID           string                    `xml:"subnetId"`
	VpcID              string                    `xml:"vpcId"`
	PrivateIPAddress   string                    `xml:"privateIpAddress,omitempty"`
	GroupSet           items[ec2GroupIdentifier] `xml:"groupSet"`
	Architecture       string                    `xml:"architecture"`
	IamInstanceProfile *struct {
		Arn string `xml:"arn"`
		ID  string `xml:"id"`
	} `xml:"iamInstanceProfile,omitempty"`
	MetadataOptions ec2MetadataOptions `xml:"metadataOptions"`
}

type ec2MetadataOptions struct {
	State                   string `xml:"state"`
	HTTPTokens              string `xml:"httpTokens"`
	HTTPPutResponseHopLimit int    `xml:"httpPutResponseHopLimit"`
	HTTPEndpoint            string `xml:"httpEndpoint"`
	HTTPProtocolIpv6        string `xml:"httpProtocolIpv6"`
	InstanceMetadataTags    string `xml:"instanceMetadataTags"`
}

type ec2Reservation struct {
	ReservationID string             `xml:"reservationId"`
	OwnerID       string             `xml:"ownerId"`
	GroupSet      items[struct{}]    `xml:"groupSet"`
	InstancesSet  items[ec2Instance] `xml:"instancesSet"`
}

func (s *Server) groupIdentifiers(ids []string) items[ec2GroupIdentifier] {
	var out []ec2GroupIdentifier
	for _, id := range ids {
		g := ec2GroupIdentifier{GroupID: id}
		if sg := s.sc.SecurityGroup(id); sg != nil {
			g.GroupName = sg.Name
		}
		out = append(out, g)
	}
	return items[ec2GroupIdentifier]{out}
}

func metadataOptions(i *Instance, state string) ec2MetadataOptions {
	return ec2MetadataOptions{
		State:                   state,
		HTTPTokens:              i.MetadataHTTPTokens,
		HTTPPutResponseHopLimit: i.MetadataHopLimit,
		HTTPEndpoint:            i.MetadataHTTPEndpoint,
		HTTPProtocolIpv6:        "disabled",
		InstanceMetadataTags:    "disabled",
	}
}

var instanceStateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func (s *Server) ec2InstanceXML(i *Instance) ec2Instance {
	x := ec2Instance{
		InstanceID:       i.ID,
		ImageID:          "ami-0fa4e0000000000001",
		PrivateDNSName:   i.PrivateDNSName,
		InstanceType:     i.InstanceType,
		LaunchTime:       isoTime(i.LaunchTime),
		SubnetID:         i.SubnetID,
		VpcID:            i.VpcID,
		PrivateIPAddress: i.PrivateIP,
		GroupSet:         s.groupIdentifiers(i.SecurityGroupIDs),
		Architecture:     i.Architecture,
		MetadataOptions:  metadataOptions(i, "applied"),
	}
	x.InstanceState.Code = instanceStateCodes[i.State]
	x.InstanceState.Name = i.State
	x.Placement.AvailabilityZone = i.AvailabilityZone
	x.Placement.Tenancy = "default"
	if i.InstanceProfileArn != "" {
		x.IamInstanceProfile = &struct {
			Arn string `xml:"arn"`
			ID  string `xml:"id"`
		}{i.InstanceProfileArn, "AIPA" + strings.ToUpper(shortHash(i.InstanceProfileArn)[1:17])}
	}
	return x
}

// ---- DescribeInstances ----

func (s *Server) ec2DescribeInstances(req *request) (any, error) {
	found, err := ec2Select(req, s.sc.Instances, "InstanceId",
		func(i *Instance) string { return i.ID }, func(i *Instance) string { return i.Region },
		func(i *Instance) attrFunc {
			return func(name string) ([]string, bool) {
				switch name {
				case "instance-id":
					return []string{i.ID}, true
				case "vpc-id":
					return []string{i.VpcID}, true
				case "subnet-id":
					return []string{i.SubnetID}, true
				case "availability-zone":
					return []string{i.AvailabilityZone}, true
				case "instance-state-name":
					return []string{i.State}, true
				case "instance-type":
					return []string{i.InstanceType}, true
				case "architecture":
					return []string{i.Architecture}, true
				case "private-dns-name":
					return []string{i.PrivateDNSName}, true
				case "private-ip-address":
					return []string{i.PrivateIP}, true
				case "iam-instance-profile.arn":
					return []string{i.InstanceProfileArn}, true
				case "instance.group-id":
					return i.SecurityGroupIDs, true
				}
				return nil, false
			}
		},
		notFoundErr("InvalidInstanceID.NotFound", "instance ID"))
	if err != nil {
		return nil, err
	}
	page, next, err := ec2Page(req, found)
	if err != nil {
		return nil, err
	}
	var res []ec2Reservation
	for _, i := range page {
		res = append(res, ec2Reservation{
			ReservationID: "r-" + shortHash("reservation", i.ID),
			OwnerID:       s.sc.Account,
			InstancesSet:  items[ec2Instance]{[]ec2Instance{s.ec2InstanceXML(i)}},
		})
	}
	return &struct {
		ec2Meta
		ReservationSet items[ec2Reservation] `xml:"reservationSet"`
		NextToken      string                `xml:"nextToken,omitempty"`
	}{ReservationSet: items[ec2Reservation]{res}, NextToken: next}, nil
}

// ---- DescribeSubnets ----

type ec2Subnet struct {
	SubnetID                string `xml:"subnetId"`
	SubnetArn               string `xml:"subnetArn"`
	State                   string `xml:"state"`
	VpcID                   string `xml:"vpcId"`
	OwnerID                 string `xml:"ownerId"`
	CidrBlock               string `xml:"cidrBlock"`
	AvailableIPAddressCount int    `xml:"availableIpAddressCount"`
	AvailabilityZone        string `xml:"availabilityZone"`
	DefaultForAz            bool   `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool   `xml:"mapPublicIpOnLaunch"`
}

func (s *Server) ec2DescribeSubnets(req *request) (any, error) {
	found, err := ec2Select(req, s.sc.Subnets, "SubnetId",
		func(v *Subnet) string { return v.ID }, func(v *Subnet) string { return v.Region },
		func(v *Subnet) attrFunc {
			return func(name string) ([]string, bool) {
				switch name {
				case "subnet-id":
					return []string{v.ID}, true
				case "vpc-id":
					return []string{v.VpcID}, true
				case "availability-zone":
					return []string{v.AvailabilityZone}, true
				case "cidr-block", "cidr":
					return []string{v.CIDR}, true
				case "state":
					return []string{"available"}, true
				case "map-public-ip-on-launch":
					return []string{boolStr(v.MapPublicIPOnLaunch)}, true
				}
				return nil, false
			}
		},
		notFoundErr("InvalidSubnetID.NotFound", "subnet ID"))
	if err != nil {
		return nil, err
	}
	page, next, err := ec2Page(req, found)
	if err != nil {
		return nil, err
	}
	var out []ec2Subnet
	for _, v := range page {
		out = append(out, ec2Subnet{
			SubnetID:                v.ID,
			SubnetArn:               fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", v.Region, s.sc.Account, v.ID),
			State:                   "available",
			VpcID:                   v.VpcID,
			OwnerID:                 s.sc.Account,
			CidrBlock:               v.CIDR,
			AvailableIPAddressCount: 1000,
			AvailabilityZone:        v.AvailabilityZone,
			MapPublicIPOnLaunch:     v.MapPublicIPOnLaunch,
		})
	}
	return &struct {
		ec2Meta
		SubnetSet items[ec2Subnet] `xml:"subnetSet"`
		NextToken string           `xml:"nextToken,omitempty"`
	}{SubnetSet: items[ec2Subnet]{out}, NextToken: next}, nil
}

// ---- DescribeRouteTables ----

type ec2Association struct {
	Main                    bool   `xml:"main"`
	RouteTableAssociationID string `xml:"routeTableAssociationId"`
	RouteTableID            string `xml:"routeTableId"`
	SubnetID                string `xml:"subnetId,omitempty"`
	AssociationState        struct {
		State string `xml:"state"`
	} `xml:"associationState"`
}

type ec2Route struct {
	DestinationCidrBlock    string `xml:"destinationCidrBlock,omitempty"`
	DestinationPrefixListID string `xml:"destinationPrefixListId,omitempty"`
	GatewayID               string `xml:"gatewayId,omitempty"`
	NatGatewayID            string `xml:"natGatewayId,omitempty"`
	State                   string `xml:"state"`
	Origin                  string `xml:"origin"`
}

type ec2RouteTable struct {
	RouteTableID    string                `xml:"routeTableId"`
	VpcID           string                `xml:"vpcId"`
	OwnerID         string                `xml:"ownerId"`
	RouteSet        items[ec2Route]       `xml:"routeSet"`
	AssociationSet  items[ec2Association] `xml:"associationSet"`
	PropagatingVgws items[struct{}]       `xml:"propagatingVgwSet"`
	TagSet          items[struct{}]       `xml:"tagSet"`
}

func (s *Server) ec2RouteTableXML(t *RouteTable) ec2RouteTable {
	x := ec2RouteTable{RouteTableID: t.ID, VpcID: t.VpcID, OwnerID: s.sc.Account}
	for _, r := range t.Routes {
		origin := "CreateRoute"
		if r.GatewayID == "local" {
			origin = "CreateRouteTable"
		}
		x.RouteSet.Items = append(x.RouteSet.Items, ec2Route{
			DestinationCidrBlock:    r.DestinationCIDR,
			DestinationPrefixListID: r.DestinationPrefixListID,
			GatewayID:               r.GatewayID,
			NatGatewayID:            r.NatGatewayID,
			State:                   r.State,
			Origin:                  origin,
		})
	}
	assoc := func(subnet string, main bool) ec2Association {
		a := ec2Association{Main: main, RouteTableAssociationID: "rtbassoc-" + shortHash(t.ID, subnet), RouteTableID: t.ID, SubnetID: subnet}
		a.AssociationState.State = "associated"
		return a
	}
	if t.Main {
		x.AssociationSet.Items = append(x.AssociationSet.Items, assoc("", true))
	}
	for _, sn := range t.SubnetIDs {
		x.AssociationSet.Items = append(x.AssociationSet.Items, assoc(sn, false))
	}
	return x
}

func (s *Server) ec2DescribeRouteTables(req *request) (any, error) {
	found, err := ec2Select(req, s.sc.RouteTables, "RouteTableId",
		func(t *RouteTable) string { return t.ID }, func(t *RouteTable) string { return t.Region },
		func(t *RouteTable) attrFunc {
			return func(name string) ([]string, bool) {
				var out []string
				switch name {
				case "route-table-id", "association.route-table-id":
					return []string{t.ID}, true
				case "vpc-id":
					return []string{t.VpcID}, true
				case "association.subnet-id":
					return t.SubnetIDs, true
				case "association.main":
					return []string{boolStr(t.Main)}, true
				case "route.destination-cidr-block":
					for _, r := range t.Routes {
						out = append(out, r.DestinationCIDR)
					}
				case "route.destination-prefix-list-id":
					for _, r := range t.Routes {
						out = append(out, r.DestinationPrefixListID)
					}
				case "route.gateway-id":
					for _, r := range t.Routes {
						out = append(out, r.GatewayID)
					}
				case "route.nat-gateway-id":
					for _, r := range t.Routes {
						out = append(out, r.NatGatewayID)
					}
				case "route.state":
					for _, r := range t.Routes {
						out = append(out, r.State)
					}
				default:
					return nil, false
				}
				return out, true
			}
		},
		notFoundErr("InvalidRouteTableID.NotFound", "routeTable ID"))
	if err != nil {
		return nil, err
	}
	page, next, err := ec2Page(req, found)
	if err != nil {
		return nil, err
	}
	var out []ec2RouteTable
	for _, t := range page {
		out = append(out, s.ec2RouteTableXML(t))
	}
	return &struct {
		ec2Meta
		RouteTableSet items[ec2RouteTable] `xml:"routeTableSet"`
		NextToken     string               `xml:"nextToken,omitempty"`
	}{RouteTableSet: items[ec2RouteTable]{out}, NextToken: next}, nil
}

// ---- VPC endpoints ----

type ec2DNSEntry struct {
	DNSName      string `xml:"dnsName"`
	HostedZoneID string `xml:"hostedZoneId"`
}

type ec2VpcEndpoint struct {
	VpcEndpointID     string                    `xml:"vpcEndpointId"`
	VpcEndpointType   string                    `xml:"vpcEndpointType"`
	VpcID             string                    `xml:"vpcId"`
	ServiceName       string                    `xml:"serviceName"`
	State             string                    `xml:"state"`
	PolicyDocument    string                    `xml:"policyDocument"`
	RouteTableIDSet   items[string]             `xml:"routeTableIdSet"`
	SubnetIDSet       items[string]             `xml:"subnetIdSet"`
	GroupSet          items[ec2GroupIdentifier] `xml:"groupSet"`
	IPAddressType     string                    `xml:"ipAddressType"`
	PrivateDNSEnabled bool                      `xml:"privateDnsEnabled"`
	RequesterManaged  bool                      `xml:"requesterManaged"`
	NetworkInterfaces items[string]             `xml:"networkInterfaceIdSet"`
	DNSEntrySet       items[ec2DNSEntry]        `xml:"dnsEntrySet"`
	CreationTimestamp string                    `xml:"creationTimestamp"`
	OwnerID           string                    `xml:"ownerId"`
}

func (s *Server) ec2VpcEndpointXML(e *VpcEndpoint) ec2VpcEndpoint {
	x := ec2VpcEndpoint{
		VpcEndpointID:     e.ID,
		VpcEndpointType:   e.Type,
		VpcID:             e.VpcID,
		ServiceName:       e.ServiceName,
		State:             e.State,
		PolicyDocument:    e.PolicyDocument,
		RouteTableIDSet:   items[string]{e.RouteTableIDs},
		SubnetIDSet:       items[string]{e.SubnetIDs},
		GroupSet:          s.groupIdentifiers(e.SecurityGroupIDs),
		IPAddressType:     "ipv4",
		PrivateDNSEnabled: e.PrivateDNSEnabled,
		CreationTimestamp: isoTime(e.CreatedAt),
		OwnerID:           s.sc.Account,
	}
	if e.Type == "Interface" {
		for _, sn := range e.SubnetIDs {
			x.NetworkInterfaces.Items = append(x.NetworkInterfaces.Items, "eni-"+shortHash(e.ID, sn))
		}
		svc := strings.TrimPrefix(e.ServiceName, "com.amazonaws."+e.Region+".")
		x.DNSEntrySet.Items = append(x.DNSEntrySet.Items, ec2DNSEntry{
			DNSName:      fmt.Sprintf("%s-%s.%s.%s.vpce.amazonaws.com", e.ID, shortHash(e.ID)[1:9], svc, e.Region),
			HostedZoneID: "Z1YSA3EXCYUU9Z",
		})
	}
	return x
}

func (s *Server) ec2DescribeVpcEndpoints(req *request) (any, error) {
	found, err := ec2Select(req, s.sc.VpcEndpoints, "VpcEndpointId",
		func(e *VpcEndpoint) string { return e.ID }, func(e *VpcEndpoint) string { return e.Region },
		func(e *VpcEndpoint) attrFunc {
			return func(name string) ([]string, bool) {
				switch name {
				case "vpc-endpoint-id":
					return []string{e.ID}, true
				case "vpc-id":
					return []string{e.VpcID}, true
				case "service-name":
					return []string{e.ServiceName}, true
				case "vpc-endpoint-type":
					return []string{e.Type}, true
				case "vpc-endpoint-state":
					return []string{e.State}, true
				}
				return nil, false
			}
		},
		notFoundErr("InvalidVpcEndpointId.NotFound", "Vpc Endpoint Id"))
	if err != nil {
		return nil, err
	}
	page, next, err := ec2Page(req, found)
	if err != nil {
		return nil, err
	}
	var out []ec2VpcEndpoint
	for _, e := range page {
		out = append(out, s.ec2VpcEndpointXML(e))
	}
	return &struct {
		ec2Meta
		VpcEndpointSet items[ec2VpcEndpoint] `xml:"vpcEndpointSet"`
		NextToken      string                `xml:"nextToken,omitempty"`
	}{VpcEndpointSet: items[ec2VpcEndpoint]{out}, NextToken: next}, nil
}

func (s *Server) ec2CreateVpcEndpoint(req *request) (any, error) {
	f := req.form
	vpc := s.sc.VPC(f.Get("VpcId"))
	if vpc == nil || vpc.Region != req.region {
		return nil, errorf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", f.Get("VpcId"))
	}
	e := &VpcEndpoint{
		ID:               s.newID("vpce-"),
		Region:           req.region,
		VpcID:            vpc.ID,
		ServiceName:      f.Get("ServiceName"),
		Type:             f.Get("VpcEndpointType"),
		SubnetIDs:        formList(f, "SubnetId"),
		SecurityGroupIDs: formList(f, "SecurityGroupId"),
		PolicyDocument:   f.Get("PolicyDocument"),
		CreatedAt:        s.now(),
	}
	if e.ServiceName == "" {
		return nil, errorf(400, "MissingParameter", "The request must contain the parameter ServiceName")
	}
	def(&e.Type, "Gateway")
	if e.Type == "Interface" {
		e.PrivateDNSEnabled = true
	}
	if v, ok := formBool(f, "PrivateDnsEnabled"); ok {
		e.PrivateDNSEnabled = v
	}
	if err := privateDNSAllowed(vpc, e); err != nil {
		return nil, err
	}
	for _, sn := range e.SubnetIDs {
		if s.sc.Subnet(sn) == nil {
			return nil, errorf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", sn)
		}
	}
	for _, g := range e.SecurityGroupIDs {
		if s.sc.SecurityGroup(g) == nil {
			return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", g)
		}
	}
	for _, rt := range formList(f, "RouteTableId") {
		if err := s.addEndpointRoute(e, rt); err != nil {
			return nil, err
		}
	}
	s.sc.VpcEndpoints = append(s.sc.VpcEndpoints, e)
	s.normalize()
	return &struct {
		ec2Meta
		VpcEndpoint ec2VpcEndpoint `xml:"vpcEndpoint"`
	}{VpcEndpoint: s.ec2VpcEndpointXML(e)}, nil
}

// addEndpointRoute associates a gateway endpoint with a route table: the table gets a
// route to the service's prefix list through the endpoint.
func (s *Server) addEndpointRoute(e *VpcEndpoint, rtID string) error {
	t := s.sc.RouteTable(rtID)
	if t == nil {
		return errorf(400, "InvalidRouteTableId.NotFound", "The routeTable ID '%s' does not exist", rtID)
	}
	if !slices.Contains(e.RouteTableIDs, rtID) {
		e.RouteTableIDs = append(e.RouteTableIDs, rtID)
	}
	pl := ""
	for _, p := range s.sc.PrefixLists {
		if p.Name == e.ServiceName {
			pl = p.ID
		}
	}
	for _, r := range t.Routes {
		if r.GatewayID == e.ID {
			return nil
		}
	}
	t.Routes = append(t.Routes, Route{DestinationPrefixListID: pl, GatewayID: e.ID, State: "active"})
	return nil
}

func (s *Server) ec2ModifyVpcEndpoint(req *request) (any, error) {
	f := req.form
	e := s.sc.VpcEndpoint(f.Get("VpcEndpointId"))
	if e == nil || e.Region != req.region {
		return nil, notFoundErr("InvalidVpcEndpointId.NotFound", "Vpc Endpoint Id")([]string{f.Get("VpcEndpointId")})
	}
	for _, rt := range formList(f, "AddRouteTableId") {
		if err := s.addEndpointRoute(e, rt); err != nil {
			return nil, err
		}
	}
	for _, rt := range formList(f, "RemoveRouteTableId") {
		e.RouteTableIDs = slices.DeleteFunc(e.RouteTableIDs, func(id string) bool { return id == rt })
		if t := s.sc.RouteTable(rt); t != nil {
			t.Routes = slices.DeleteFunc(t.Routes, func(r Route) bool { return r.GatewayID == e.ID })
		}
	}
	for _, sn := range formList(f, "AddSubnetId") {
		if s.sc.Subnet(sn) == nil {
			return nil, errorf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", sn)
		}
		if !slices.Contains(e.SubnetIDs, sn) {
			e.SubnetIDs = append(e.SubnetIDs, sn)
		}
	}
	for _, sn := range formList(f, "RemoveSubnetId") {
		e.SubnetIDs = slices.DeleteFunc(e.SubnetIDs, func(id string) bool { return id == sn })
	}
	for _, g := range formList(f, "AddSecurityGroupId") {
		if s.sc.SecurityGroup(g) == nil {
			return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", g)
		}
		if !slices.Contains(e.SecurityGroupIDs, g) {
			e.SecurityGroupIDs = append(e.SecurityGroupIDs, g)
		}
	}
	for _, g := range formList(f, "RemoveSecurityGroupId") {
		e.SecurityGroupIDs = slices.DeleteFunc(e.SecurityGroupIDs, func(id string) bool { return id == g })
	}
	if doc := f.Get("PolicyDocument"); doc != "" {
		e.PolicyDocument = doc
	}
	if reset, _ := formBool(f, "ResetPolicy"); reset {
		e.PolicyDocument = fullAccessPolicy
	}
	if v, ok := formBool(f, "PrivateDnsEnabled"); ok && v != e.PrivateDNSEnabled {
		if err := privateDNSAllowed(s.sc.VPC(e.VpcID), &VpcEndpoint{Type: e.Type, PrivateDNSEnabled: v}); err != nil {
			return nil, err
		}
		e.PrivateDNSEnabled = v
	}
	return &ec2Return{Return: true}, nil
}

// privateDNSAllowed refuses private DNS on an interface endpoint in a VPC whose DNS support
// or DNS hostnames are off, as EC2 does (PrivateLink guide: "To use private DNS, you must
// enable DNS hostnames and DNS resolution for your VPC"). The error code and message are
// inferred, not copied from a captured EC2 response.
func privateDNSAllowed(vpc *VPC, e *VpcEndpoint) error {
	if vpc == nil || e.Type != "Interface" || !e.PrivateDNSEnabled || vpc.EnableDNSSupport && vpc.EnableDNSHostnames {
		return nil
	}
	return errorf(400, "InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for %s", vpc.ID)
}

// ---- security groups ----

type ec2UserIDGroupPair struct {
	UserID  string `xml:"userId"`
	GroupID string `xml:"groupId"`
}

type ec2IPRange struct {
	CidrIP string `xml:"cidrIp"`
}

type ec2PrefixListID struct {
	PrefixListID string `xml:"prefixListId"`
}

type ec2IPPermission struct {
	IPProtocol    string                    `xml:"ipProtocol"`
	FromPort      *int                      `xml:"fromPort,omitempty"`
	ToPort        *int                      `xml:"toPort,omitempty"`
	Groups        items[ec2UserIDGroupPair] `xml:"groups"`
	IPRanges      items[ec2IPRange]         `xml:"ipRanges"`
	Ipv6Ranges    items[struct{}]           `xml:"ipv6Ranges"`
	PrefixListIDs items[ec2PrefixListID]    `xml:"prefixListIds"`
}

type ec2SecurityGroup struct {
	OwnerID             string                 `xml:"ownerId"`
	GroupID             string                 `xml:"groupId"`
	GroupName           string                 `xml:"groupName"`
	GroupDescription    string                 `xml:"groupDescription"`
	VpcID               string                 `xml:"vpcId"`
	SecurityGroupArn    string                 `xml:"securityGroupArn"`
	IPPermissions       items[ec2IPPermission] `xml:"ipPermissions"`
	IPPermissionsEgress items[ec2IPPermission] `xml:"ipPermissionsEgress"`
}

func ports(p Permission) (from, to *int) {
	if p.Protocol == "-1" {
		return nil, nil
	}
	f, t := p.FromPort, p.ToPort
	return &f, &t
}

func (s *Server) ec2Permissions(g *SecurityGroup, perms []Permission) items[ec2IPPermission] {
	var out []ec2IPPermission
	for _, p := range perms {
		x := ec2IPPermission{IPProtocol: p.Protocol}
		x.FromPort, x.ToPort = ports(p)
		for _, gid := range p.GroupIDs {
			x.Groups.Items = append(x.Groups.Items, ec2UserIDGroupPair{UserID: g.OwnerID, GroupID: gid})
		}
		for _, c := range p.CIDRs {
			x.IPRanges.Items = append(x.IPRanges.Items, ec2IPRange{CidrIP: c})
		}
		for _, pl := range p.PrefixListIDs {
			x.PrefixListIDs.Items = append(x.PrefixListIDs.Items, ec2PrefixListID{PrefixListID: pl})
		}
		out = append(out, x)
	}
	return items[ec2IPPermission]{out}
}

func sgAttrs(g *SecurityGroup) attrFunc {
	return func(name string) ([]string, bool) {
		switch name {
		case "group-id":
			return []string{g.ID}, true
		case "group-name":
			return []string{g.Name}, true
		case "vpc-id":
			return []string{g.VpcID}, true
		case "owner-id":
			return []string{g.OwnerID}, true
		case "description":
			return []string{g.Description}, true
		}
		return nil, false
	}
}

func (s *Server) ec2DescribeSecurityGroups(req *request) (any, error) {
	found, err := ec2Select(req, s.sc.SecurityGroups, "GroupId",
		func(g *SecurityGroup) string { return g.ID }, func(g *SecurityGroup) string { return g.Region },
		sgAttrs, notFoundErr("InvalidGroup.NotFound", "security group"))
	if err != nil {
		return nil, err
	}
	if names := formList(req.form, "GroupName"); len(names) > 0 {
		found = slices.DeleteFunc(found, func(g *SecurityGroup) bool { return !slices.Contains(names, g.Name) })
	}
	page, next, err := ec2Page(req, found)
	if err != nil {
		return nil, err
	}
	var out []ec2SecurityGroup
	for _, g := range page {
		out = append(out, ec2SecurityGroup{
			OwnerID:             g.OwnerID,
			GroupID:             g.ID,
			GroupName:           g.Name,
			GroupDescription:    g.Description,
			VpcID:               g.VpcID,
			SecurityGroupArn:    fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", g.Region, g.OwnerID, g.ID),
			IPPermissions:       s.ec2Permissions(g, g.Ingress),
			IPPermissionsEgress: s.ec2Permissions(g, g.Egress),
		})
	}
	return &struct {
		ec2Meta
		SecurityGroupInfo items[ec2SecurityGroup] `xml:"securityGroupInfo"`
		NextToken         string                  `xml:"nextToken,omitempty"`
	}{SecurityGroupInfo: items[ec2SecurityGroup]{out}, NextToken: next}, nil
}

type ec2SecurityGroupRule struct {
	SecurityGroupRuleID string `xml:"securityGroupRuleId"`
	GroupID             string `xml:"groupId"`
	GroupOwnerID        string `xml:"groupOwnerId"`
	IsEgress            bool   `xml:"isEgress"`
	IPProtocol          string `xml:"ipProtocol"`
	FromPort            int    `xml:"fromPort"`
	ToPort              int    `xml:"toPort"`
	CidrIpv4            string `xml:"cidrIpv4,omitempty"`
	PrefixListID        string `xml:"prefixListId,omitempty"`
	ReferencedGroupInfo *struct {
		GroupID string `xml:"groupId"`
		UserID  string `xml:"userId"`
	} `xml:"referencedGroupInfo,omitempty"`
	SecurityGroupRuleArn string `xml:"securityGroupRuleArn"`
}

// sgRules flattens a group's permissions into rules with stable IDs.
func sgRules(g *SecurityGroup) []ec2SecurityGroupRule {
	var out []ec2SecurityGroupRule
	add := func(egress bool, p Permission, kind, source string) {
		from, to := -1, -1
		if p.Protocol != "-1" {
			from, to = p.FromPort, p.ToPort
		}
		id := "sgr-" + shortHash(g.ID, boolStr(egress), p.Protocol, strconv.Itoa(from), strconv.Itoa(to), kind, source)
		r := ec2SecurityGroupRule{
			SecurityGroupRuleID:  id,
			GroupID:              g.ID,
			GroupOwnerID:         g.OwnerID,
			IsEgress:             egress,
			IPProtocol:           p.Protocol,
			FromPort:             from,
			ToPort:               to,
			SecurityGroupRuleArn: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group-rule/%s", g.Region, g.OwnerID, id),
		}
		switch kind {
		case "cidr":
			r.CidrIpv4 = source
		case "pl":
			r.PrefixListID = source
		case "group":
			r.ReferencedGroupInfo = &struct {
				GroupID string `xml:"groupId"`
				UserID  string `xml:"userId"`
			}{source, g.OwnerID}
		}
		out = append(out, r)
	}
	for _, dir := range []struct {
		egress bool
		perms  []Permission
	}{{false, g.Ingress}, {true, g.Egress}} {
		for _, p := range dir.perms {
			for _, c := range p.CIDRs {
				add(dir.egress, p, "cidr", c)
			}
			for _, gid := range p.GroupIDs {
				add(dir.egress, p, "group", gid)
			}
			for _, pl := range p.PrefixListIDs {
				add(dir.egress, p, "pl", pl)
			}
		}
	}
	return out
}

func (s *Server) ec2DescribeSecurityGroupRules(req *request) (any, error) {
	ids := formList(req.form, "SecurityGroupRuleId")
	filters := ec2Filters(req.form)
	var out []ec2SecurityGroupRule
	for _, g := range s.sc.SecurityGroups {
		if g.Region != req.region {
			continue
		}
		for _, r := range sgRules(g) {
			if len(ids) > 0 && !slices.Contains(ids, r.SecurityGroupRuleID) {
				continue
			}
			ok, err := ec2Match(filters, func(name string) ([]string, bool) {
				switch name {
				case "group-id":
					return []string{r.GroupID}, true
				case "security-group-rule-id":
					return []string{r.SecurityGroupRuleID}, true
				}
				return nil, false
			})
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, r)
			}
		}
	}
	page, next, err := ec2Page(req, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		ec2Meta
		SecurityGroupRuleSet items[ec2SecurityGroupRule] `xml:"securityGroupRuleSet"`
		NextToken            string                      `xml:"nextToken,omitempty"`
	}{SecurityGroupRuleSet: items[ec2SecurityGroupRule]{page}, NextToken: next}, nil
}

var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}

func (s *Server) ec2AuthorizeSecurityGroupIngress(req *request) (any, error) {
	f := req.form
	var g *SecurityGroup
	for _, c := range s.sc.SecurityGroups {
		if c.Region == req.region && ((f.Get("GroupId") != "" && c.ID == f.Get("GroupId")) || (f.Get("GroupId") == "" && c.Name == f.Get("GroupName"))) {
			g = c
		}
	}
	if g == nil {
		return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", f.Get("GroupId")+f.Get("GroupName"))
	}
	var perms []Permission
	for _, n := range formIndexes(f, "IpPermissions") {
		pre := "IpPermissions." + strconv.Itoa(n) + "."
		p := Permission{Protocol: f.Get(pre + "IpProtocol")}
		p.FromPort, _ = strconv.Atoi(f.Get(pre + "FromPort"))
		p.ToPort, _ = strconv.Atoi(f.Get(pre + "ToPort"))
		for _, m := range formIndexes(f, pre+"Groups") {
			gp := pre + "Groups." + strconv.Itoa(m) + "."
			gid := f.Get(gp + "GroupId")
			if gid == "" {
				for _, c := range s.sc.SecurityGroups {
					if c.Name == f.Get(gp+"GroupName") && c.VpcID == g.VpcID {
						gid = c.ID
					}
				}
			}
			p.GroupIDs = append(p.GroupIDs, gid)
		}
		for _, m := range formIndexes(f, pre+"IpRanges") {
			p.CIDRs = append(p.CIDRs, f.Get(pre+"IpRanges."+strconv.Itoa(m)+".CidrIp"))
		}
		for _, m := range formIndexes(f, pre+"PrefixListIds") {
			p.PrefixListIDs = append(p.PrefixListIDs, f.Get(pre+"PrefixListIds."+strconv.Itoa(m)+".PrefixListId"))
		}
		perms = append(perms, p)
	}
	if f.Get("IpProtocol") != "" {
		p := Permission{Protocol: f.Get("IpProtocol")}
		p.FromPort, _ = strconv.Atoi(f.Get("FromPort"))
		p.ToPort, _ = strconv.Atoi(f.Get("ToPort"))
		if c := f.Get("CidrIp"); c != "" {
			p.CIDRs = []string{c}
		}
		if n := f.Get("SourceSecurityGroupName"); n != "" {
			for _, c := range s.sc.SecurityGroups {
				if c.Name == n || c.ID == n {
					p.GroupIDs = []string{c.ID}
				}
			}
		}
		perms = append(perms, p)
	}
	if len(perms) == 0 {
		return nil, errorf(400, "MissingParameter", "No IP permissions specified")
	}
	before := map[string]bool{}
	for _, r := range sgRules(g) {
		before[r.SecurityGroupRuleID] = true
	}
	for _, p := range perms {
		if n, ok := protocolNames[strings.ToLower(p.Protocol)]; ok {
			p.Protocol = n
		} else {
			p.Protocol = strings.ToLower(p.Protocol)
		}
		if p.Protocol == "-1" {
			p.FromPort, p.ToPort = 0, 0
		}
		for _, gid := range p.GroupIDs {
			if s.sc.SecurityGroup(gid) == nil {
				return nil, errorf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", gid)
			}
		}
		if err := addPermission(g, p); err != nil {
			return nil, err
		}
	}
	var added []ec2SecurityGroupRule
	for _, r := range sgRules(g) {
		if !before[r.SecurityGroupRuleID] {
			added = append(added, r)
		}
	}
	return &struct {
		ec2Meta
		Return               bool                        `xml:"return"`
		SecurityGroupRuleSet items[ec2SecurityGroupRule] `xml:"securityGroupRuleSet"`
	}{Return: true, SecurityGroupRuleSet: items[ec2SecurityGroupRule]{added}}, nil
}

// addPermission merges p into the group's ingress rules; a source that is already there
// is InvalidPermission.Duplicate, as in EC2.
func addPermission(g *SecurityGroup, p Permission) error {
	for i := range g.Ingress {
		q := &g.Ingress[i]
		if q.Protocol != p.Protocol || (p.Protocol != "-1" && (q.FromPort != p.FromPort || q.ToPort != p.ToPort)) {
			continue
		}
		for _, src := range append(append(slices.Clone(p.CIDRs), p.GroupIDs...), p.PrefixListIDs...) {
			if slices.Contains(q.CIDRs, src) || slices.Contains(q.GroupIDs, src) || slices.Contains(q.PrefixListIDs, src) {
				return errorf(400, "InvalidPermission.Duplicate",
					`the specified rule "peer: %s, %s, from port: %d, to port: %d, ALLOW" already exists`, src, strings.ToUpper(p.Protocol), p.FromPort, p.ToPort)
			}
		}
		q.CIDRs = append(q.CIDRs, p.CIDRs...)
		q.GroupIDs = append(q.GroupIDs, p.GroupIDs...)
		q.PrefixListIDs = append(q.PrefixListIDs, p.PrefixListIDs...)
		return nil
	}
	g.Ingress = append(g.Ingress, p)
	return nil
}

// ---- VPC attributes, prefix lists, instance metadata ----

type boolValue struct {
	Value bool `xml:"value"`
}

func (s *Server) ec2DescribeVpcAttribute(req *request) (any, error) {
	id := req.form.Get("VpcId")
	v := s.sc.VPC(id)
	if v == nil || v.Region != req.region {
		return nil, errorf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	out := &struct {
		ec2Meta
		VpcID              string     `xml:"vpcId"`
		EnableDNSSupport   *boolValue `xml:"enableDnsSupport,omitempty"`
		EnableDNSHostnames *boolValue `xml:"enableDnsHostnames,omitempty"`
		EnableNAUMetrics   *boolValue `xml:"enableNetworkAddressUsageMetrics,omitempty"`
	}{VpcID: v.ID}
	switch a := req.form.Get("Attribute"); a {
	case "enableDnsSupport":
		out.EnableDNSSupport = &boolValue{v.EnableDNSSupport}
	case "enableDnsHostnames":
		out.EnableDNSHostnames = &boolValue{v.EnableDNSHostnames}
	case "enableNetworkAddressUsageMetrics":
		out.EnableNAUMetrics = &boolValue{false}
	default:
		return nil, errorf(400, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", a)
	}
	return out, nil
}

// ec2ModifyVpcAttribute changes one attribute per request, as EC2 requires ("You cannot
// modify the DNS resolution and DNS hostnames attributes in the same request"), and turns DNS
// hostnames on only with DNS support on ("You can only enable DNS hostnames if you've
// enabled DNS support"), both from the EC2 API reference. The error codes and messages for
// these two refusals are inferred.
func (s *Server) ec2ModifyVpcAttribute(req *request) (any, error) {
	f := req.form
	v := s.sc.VPC(f.Get("VpcId"))
	if v == nil || v.Region != req.region {
		return nil, errorf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", f.Get("VpcId"))
	}
	support, hasSupport := formBool(f, "EnableDnsSupport.Value")
	hostnames, hasHostnames := formBool(f, "EnableDnsHostnames.Value")
	_, hasNAU := formBool(f, "EnableNetworkAddressUsageMetrics.Value")
	switch n := btoi(hasSupport) + btoi(hasHostnames) + btoi(hasNAU); {
	case n == 0:
		return nil, errorf(400, "MissingParameter", "The request must contain exactly one attribute to modify")
	case n > 1:
		return nil, errorf(400, "InvalidParameterCombination", "Only one attribute can be modified at a time")
	case hasSupport:
		v.EnableDNSSupport = support
	case hasHostnames:
		if hostnames && !v.EnableDNSSupport {
			return nil, errorf(400, "InvalidParameterCombination", "enableDnsHostnames requires enableDnsSupport to be true for %s", v.ID)
		}
		v.EnableDNSHostnames = hostnames
	}
	return &ec2Return{Return: true}, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

type ec2PrefixList struct {
	PrefixListID   string        `xml:"prefixListId"`
	PrefixListName string        `xml:"prefixListName"`
	CidrSet        items[string] `xml:"cidrSet"`
}

func (s *Server) ec2DescribePrefixLists(req *request) (any, error) {
	found, err := ec2Select(req, s.sc.PrefixLists, "PrefixListId",
		func(p *PrefixList) string { return p.ID }, func(p *PrefixList) string { return p.Region },
		func(p *PrefixList) attrFunc {
			return func(name string) ([]string, bool) {
				switch name {
				case "prefix-list-id":
					return []string{p.ID}, true
				case "prefix-list-name":
					return []string{p.Name}, true
				}
				return nil, false
			}
		},
		notFoundErr("InvalidPrefixListId.NotFound", "prefix list ID"))
	if err != nil {
		return nil, err
	}
	page, next, err := ec2Page(req, found)
	if err != nil {
		return nil, err
	}
	var out []ec2PrefixList
	for _, p := range page {
		out = append(out, ec2PrefixList{PrefixListID: p.ID, PrefixListName: p.Name, CidrSet: items[string]{p.CIDRs}})
	}
	return &struct {
		ec2Meta
		PrefixListSet items[ec2PrefixList] `xml:"prefixListSet"`
		NextToken     string               `xml:"nextToken,omitempty"`
	}{PrefixListSet: items[ec2PrefixList]{out}, NextToken: next}, nil
}

func (s *Server) ec2ModifyInstanceMetadataOptions(req *request) (any, error) {
	f := req.form
	i := s.sc.Instance(f.Get("InstanceId"))
	if i == nil || i.Region != req.region {
		return nil, notFoundErr("InvalidInstanceID.NotFound", "instance ID")([]string{f.Get("InstanceId")})
	}
	if v := f.Get("HttpEndpoint"); v != "" {
		i.MetadataHTTPEndpoint = v
	}
	if v := f.Get("HttpTokens"); v != "" {
		i.MetadataHTTPTokens = v
	}
	if v := f.Get("HttpPutResponseHopLimit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return nil, errorf(400, "InvalidParameterValue", "The HttpPutResponseHopLimit must be between 1 and 64")
		}
		i.MetadataHopLimit = n
	}
	return &struct {
		ec2Meta
		InstanceID              string             `xml:"instanceId"`
		InstanceMetadataOptions ec2MetadataOptions `xml:"instanceMetadataOptions"`
	}{InstanceID: i.ID, InstanceMetadataOptions: metadataOptions(i, "pending")}, nil
}
