package awsfake

import (
	"fmt"
	"strconv"
)

var eksHandlers = map[string]handler{
	"ListClusters":           (*Server).eksListClusters,
	"DescribeCluster":        (*Server).eksDescribeCluster,
	"ListFargateProfiles":    (*Server).eksListFargateProfiles,
	"DescribeFargateProfile": (*Server).eksDescribeFargateProfile,
	"ListNodegroups":         (*Server).eksListNodegroups,
	"DescribeNodegroup":      (*Server).eksDescribeNodegroup,
}

func (s *Server) eksCluster(req *request, name string) (*Cluster, error) {
	for _, c := range s.sc.Clusters {
		if c.Name == name && c.Region == req.region {
			return c, nil
		}
	}
	e := errorf(404, "ResourceNotFoundException", "No cluster found for name: %s.", name)
	e.fields = map[string]string{"clusterName": name}
	return nil, e
}

// eksUUID gives a stable UUID-shaped suffix for EKS ARNs.
func eksUUID(parts ...string) string {
	h := shortHash(parts...)[1:]
	h += shortHash(append(parts, "2")...)[1:]
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func (s *Server) eksListClusters(req *request) (any, error) {
	names := []string{}
	for _, c := range s.sc.Clusters {
		if c.Region == req.region {
			names = append(names, c.Name)
		}
	}
	return s.eksPage(req, "clusters", names)
}

func (s *Server) eksPage(req *request, key string, names []string) (any, error) {
	q := req.http.URL.Query()
	maxResults, _ := strconv.Atoi(q.Get("maxResults"))
	start, end, next, err := pageOf(len(names), maxResults, q.Get("nextToken"))
	if err != nil {
		return nil, errorf(400, "InvalidParameterException", "%v", err)
	}
	out := map[string]any{key: names[start:end]}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Server) eksDescribeCluster(req *request) (any, error) {
	c, err := s.eksCluster(req, req.params["name"])
	if err != nil {
		return nil, err
	}
	cluster := map[string]any{
		"name":            c.Name,
		"arn":             fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", c.Region, s.sc.Account, c.Name),
		"createdAt":       epoch(c.CreatedAt),
		"version":         c.Version,
		"endpoint":        fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", shortHash(c.Name)[1:17], c.Region),
		"roleArn":         c.RoleArn,
		"status":          c.Status,
		"platformVersion": "eks.1",
		"resourcesVpcConfig": map[string]any{
			"subnetIds":              nonNil(c.SubnetIDs),
			"securityGroupIds":       nonNil(c.SecurityGroupIDs),
			"clusterSecurityGroupId": c.ClusterSecurityGroupID,
			"vpcId":                  c.VpcID,
			"endpointPublicAccess":   false,
			"endpointPrivateAccess":  true,
		},
		"kubernetesNetworkConfig": map[string]any{"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"},
		"accessConfig":            map[string]any{"authenticationMode": "API_AND_CONFIG_MAP"},
	}
	if c.OIDCIssuer != "" {
		cluster["identity"] = map[string]any{"oidc": map[string]any{"issuer": c.OIDCIssuer}}
	}
	if c.AutoModeNodeRoleArn != "" {
		cluster["computeConfig"] = map[string]any{"enabled": true, "nodePools": []string{"general-purpose", "system"}, "nodeRoleArn": c.AutoModeNodeRoleArn}
	}
	return map[string]any{"cluster": cluster}, nil
}

func (s *Server) eksListFargateProfiles(req *request) (any, error) {
	c, err := s.eksCluster(req, req.params["clusterName"])
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, f := range c.FargateProfiles {
		names = append(names, f.Name)
	}
	return s.eksPage(req, "fargateProfileNames", names)
}

func (s *Server) eksDescribeFargateProfile(req *request) (any, error) {
	c, err := s.eksCluster(req, req.params["clusterName"])
	if err != nil {
		return nil, err
	}
	name := req.params["fargateProfileName"]
	for _, f := range c.FargateProfiles {
		if f.Name != name {
			continue
		}
		return map[string]any{"fargateProfile": map[string]any{
			"fargateProfileName":  f.Name,
			"fargateProfileArn":   fmt.Sprintf("arn:aws:eks:%s:%s:fargateprofile/%s/%s/%s", c.Region, s.sc.Account, c.Name, f.Name, eksUUID(c.Name, f.Name)),
			"clusterName":         c.Name,
			"createdAt":           epoch(f.CreatedAt),
			"podExecutionRoleArn": f.PodExecutionRoleArn,
			"subnets":             nonNil(f.Subnets),
			"selectors":           nonNil(f.Selectors),
			"status":              f.Status,
			"tags":                map[string]string{},
		}}, nil
	}
	e := errorf(404, "ResourceNotFoundException", "No Fargate Profile found with name: %s.", name)
	e.fields = map[string]string{"clusterName": c.Name, "fargateProfileName": name}
	return nil, e
}

func (s *Server) eksListNodegroups(req *request) (any, error) {
	c, err := s.eksCluster(req, req.params["clusterName"])
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, n := range c.Nodegroups {
		names = append(names, n.Name)
	}
	return s.eksPage(req, "nodegroups", names)
}

func (s *Server) eksDescribeNodegroup(req *request) (any, error) {
	c, err := s.eksCluster(req, req.params["clusterName"])
	if err != nil {
		return nil, err
	}
	name := req.params["nodegroupName"]
	for _, n := range c.Nodegroups {
		if n.Name != name {
			continue
		}
		ng := map[string]any{
			"nodegroupName": n.Name,
			"nodegroupArn":  fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/%s", c.Region, s.sc.Account, c.Name, n.Name, eksUUID(c.Name, n.Name)),
			"clusterName":   c.Name,
			"version":       c.Version,
			"createdAt":     epoch(n.CreatedAt),
			"modifiedAt":    epoch(n.CreatedAt),
			"status":        "ACTIVE",
			"capacityType":  "ON_DEMAND",
			"scalingConfig": map[string]any{"minSize": 1, "maxSize": 6, "desiredSize": 3},
			"instanceTypes": nonNil(n.InstanceTypes),
			"subnets":       nonNil(n.Subnets),
			"amiType":       n.AMIType,
			"nodeRole":      n.NodeRole,
			"labels":        n.Labels,
		}
		if n.DiskSize > 0 {
			ng["diskSize"] = n.DiskSize
		}
		return map[string]any{"nodegroup": ng}, nil
	}
	e := errorf(404, "ResourceNotFoundException", "No node group found for name: %s.", name)
	e.fields = map[string]string{"clusterName": c.Name, "nodegroupName": name}
	return nil, e
}
