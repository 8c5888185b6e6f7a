package stacks

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// NetworkName is the network platform stack's name in the deploy tool
// (deploy --service network), its stacks being network-STAGE.
const NetworkName = "network"

// Network stack parameters the deploy tool sets.
const (
	// AZCount is how many availability zones the private subnets span; the
	// template is rendered for it (one subnet and route table per zone).
	AZCount = "AZCount"
	// VpcCidr is the VPC's address block.
	VpcCidr = "VpcCidr"
	// SubnetCidrs are the private subnets' blocks, one per zone: the deploy
	// tool splits VpcCidr unless they are given.
	SubnetCidrs = "SubnetCidrs"
	// DynamoDBPrefixList is the region's DynamoDB prefix list id, which the
	// functions' security group lets them reach: the deploy tool looks it up.
	DynamoDBPrefixList = "DynamoDBPrefixListId"
)

// Network defaults.
const (
	DefaultAZCount = 2
	DefaultVpcCidr = "10.40.0.0/16"
)

// NetworkOutputs are the network stack's outputs a service stack in
// private mode takes, by the service parameter each one fills.
var NetworkOutputs = map[string]string{
	cfn.ParamVpcID:                   "VpcId",
	cfn.ParamSubnetIDs:               "PrivateSubnetIds",
	cfn.ParamFunctionSecurityGroupID: "FunctionSecurityGroupId",
	cfn.ParamAPIEndpointID:           "ApiEndpointId",
}

// SplitCidr divides a VPC block into n equal subnet blocks, the smallest
// power of two not below n of them, and returns the first n.
func SplitCidr(cidr string, n int) ([]string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("VPC CIDR %q is no IPv4 block", cidr)
	}
	if n < 1 || n > 6 {
		return nil, fmt.Errorf("AZ count %d: 1 to 6", n)
	}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	size := p.Bits() + bits
	if p.Bits() < 16 || size > 28 {
		return nil, fmt.Errorf("VPC CIDR %s cannot hold %d subnets (AWS allows /16 to /28 blocks)", cidr, n)
	}
	p = p.Masked()
	base := p.Addr().As4()
	start := binary.BigEndian.Uint32(base[:])
	out := make([]string, 0, n)
	for i := range n {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], start+uint32(i)<<(32-size))
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(b), size).String())
	}
	return out, nil
}

// serviceActions are the AWS actions the registered services' functions are
// granted by their own statements, and the X-Ray daemon's, by service
// prefix: what is called from inside the functions' network, so what it
// must reach privately.
func serviceActions() map[string][]string {
	out := map[string][]string{}
	for _, s := range Services() {
		for _, f := range s.Functions {
			for _, st := range f.Statements {
				for _, a := range st.Actions {
					prefix, _, _ := strings.Cut(a, ":")
					if prefix == "iam" {
						// iam:PassRole is checked by the service a role is
						// passed to; the functions never call IAM.
						continue
					}
					out[prefix] = append(out[prefix], a)
				}
			}
		}
	}
	// The X-Ray daemon runs in the function's execution environment, so in
	// a VPC its traces leave through the function's network too. (Logs do
	// not: Lambda collects the function's output itself.)
	out["xray"] = append(out["xray"], cfn.TraceActions...)
	for k, v := range out {
		slices.Sort(v)
		out[k] = slices.Compact(v)
	}
	return out
}

// Network is the private network the services run in with Network=private,
// rendered for azCount zones: a VPC with private subnets only (no internet
// or NAT gateway, no route out), DynamoDB through a gateway endpoint, and
// interface endpoints for execute-api (the private APIs' clients) and for
// every other AWS service the functions call; each endpoint's policy admits
// only what the services use, from this account.
func Network(azCount int) (cfn.Template, error) {
	if azCount < 1 || azCount > 6 {
		return cfn.Template{}, fmt.Errorf("AZ count %d: 1 to 6", azCount)
	}
	defaults, err := SplitCidr(DefaultVpcCidr, azCount)
	if err != nil {
		return cfn.Template{}, err
	}
	t := cfn.Template{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              "hexlambda network: private subnets without a route to the internet, and the VPC endpoints the services use",
		Parameters: map[string]cfn.Parameter{
			"Stage": {Type: "String", Default: "dev", AllowedPattern: "^[a-z][a-z0-9-]{0,19}$", Description: "Stage whose services use this network"},
			VpcCidr: {
				Type: "String", Default: DefaultVpcCidr, AllowedPattern: `^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-8])$`,
				Description: "IPv4 block of the VPC (/16 to /28)",
			},
			AZCount: {
				Type: "String", Default: strconv.Itoa(azCount), AllowedValues: []string{strconv.Itoa(azCount)},
				Description: "Availability zones of the private subnets (the deploy tool renders the template for the count: --param AZCount=N)",
			},
			SubnetCidrs: {
				Type: "CommaDelimitedList", Default: strings.Join(defaults, ","),
				Description: "Block of each private subnet, one per zone (the deploy tool splits VpcCidr)",
			},
			"Owner": {
				Type: "String", Default: "unassigned", AllowedPattern: `^[A-Za-z0-9 _.:/=+@-]{1,128}$`,
				Description: "Team or person owning the network: the owner tag of every resource, for cost allocation",
			},
			DynamoDBPrefixList: {
				Type: "String", AllowedPattern: "^pl-[0-9a-f]+$",
				Description: "The region's DynamoDB prefix list (com.amazonaws.REGION.dynamodb), which the functions reach through the gateway endpoint; the deploy tool looks it up",
			},
		},
		Resources: map[string]cfn.Resource{},
		Outputs:   map[string]cfn.Output{},
	}
	name := func(suffix string) []any {
		return []any{map[string]any{"Key": "Name", "Value": cfn.Sub("${AWS::StackName}-" + suffix)}}
	}
	t.Add("Vpc", cfn.Resource{Type: "AWS::EC2::VPC", Properties: map[string]any{
		"CidrBlock": cfn.Ref(VpcCidr), "EnableDnsSupport": true, "EnableDnsHostnames": true, "Tags": name("vpc"),
	}})
	var subnets, tables []any
	for i := range azCount {
		n := strconv.Itoa(i + 1)
		t.Add("PrivateSubnet"+n, cfn.Resource{Type: "AWS::EC2::Subnet", Properties: map[string]any{
			"VpcId":               cfn.Ref("Vpc"),
			"CidrBlock":           map[string]any{"Fn::Select": []any{i, cfn.Ref(SubnetCidrs)}},
			"AvailabilityZone":    map[string]any{"Fn::Select": []any{i, map[string]any{"Fn::GetAZs": ""}}},
			"MapPublicIpOnLaunch": false,
			"Tags":                name("private-" + n),
		}})
		// The route table holds the VPC's local route and the DynamoDB
		// endpoint's, nothing else: no default route, so no way out.
		t.Add("PrivateRouteTable"+n, cfn.Resource{Type: "AWS::EC2::RouteTable", Properties: map[string]any{
			"VpcId": cfn.Ref("Vpc"), "Tags": name("private-" + n),
		}})
		t.Add("PrivateSubnet"+n+"Routes", cfn.Resource{Type: "AWS::EC2::SubnetRouteTableAssociation", Properties: map[string]any{
			"SubnetId": cfn.Ref("PrivateSubnet" + n), "RouteTableId": cfn.Ref("PrivateRouteTable" + n),
		}})
		subnets, tables = append(subnets, cfn.Ref("PrivateSubnet"+n)), append(tables, cfn.Ref("PrivateRouteTable"+n))
	}
	t.Add("EndpointSecurityGroup", cfn.Resource{Type: "AWS::EC2::SecurityGroup", Properties: map[string]any{
		"GroupDescription": "Interface endpoints: HTTPS from inside the VPC only",
		"VpcId":            cfn.Ref("Vpc"),
		"SecurityGroupIngress": []any{map[string]any{
			"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": cfn.Ref(VpcCidr), "Description": "HTTPS from the VPC",
		}},
		"SecurityGroupEgress": []any{noEgress},
		"Tags":                name("endpoints"),
	}})
	t.Add("FunctionSecurityGroup", cfn.Resource{Type: "AWS::EC2::SecurityGroup", Properties: map[string]any{
		"GroupDescription": "Functions: no ingress; HTTPS to the VPC endpoints and DynamoDB only",
		"VpcId":            cfn.Ref("Vpc"),
		"SecurityGroupEgress": []any{
			map[string]any{
				"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationSecurityGroupId": cfn.GetAtt("EndpointSecurityGroup", "GroupId"),
				"Description": "HTTPS to the interface endpoints",
			},
			map[string]any{
				"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationPrefixListId": cfn.Ref(DynamoDBPrefixList),
				"Description": "HTTPS to DynamoDB through its gateway endpoint",
			},
		},
		"Tags": name("functions"),
	}})
	actions := serviceActions()
	ownAccount := map[string]any{"StringEquals": map[string]any{"aws:PrincipalAccount": cfn.Ref("AWS::AccountId")}}
	policy := func(sid string, actions []string, resources []any) map[string]any {
		return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": actions, "Resource": resources, "Condition": ownAccount,
		}}}
	}
	var tablesOf []any
	services := Services()
	for _, s := range slices.Sorted(maps.Keys(services)) {
		if len(services[s].Tables) > 0 {
			// Tables are named STACK-LOGICALID-SUFFIX by CloudFormation.
			tablesOf = append(tablesOf, cfn.Sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"+s+"-${Stage}-*"))
		}
	}
	t.Add("DynamoDBEndpoint", cfn.Resource{Type: "AWS::EC2::VPCEndpoint", Properties: map[string]any{
		"VpcEndpointType": "Gateway", "VpcId": cfn.Ref("Vpc"), "RouteTableIds": tables,
		"ServiceName":    cfn.Sub("com.amazonaws.${AWS::Region}.dynamodb"),
		"PolicyDocument": policy("ServiceTablesOnly", actions["dynamodb"], tablesOf),
	}})
	interfaceEndpoint := func(id, service string, doc map[string]any) {
		t.Add(id, cfn.Resource{Type: "AWS::EC2::VPCEndpoint", Properties: map[string]any{
			"VpcEndpointType": "Interface", "VpcId": cfn.Ref("Vpc"), "SubnetIds": subnets,
			"SecurityGroupIds":  []any{cfn.GetAtt("EndpointSecurityGroup", "GroupId")},
			"ServiceName":       cfn.Sub("com.amazonaws.${AWS::Region}." + service),
			"PrivateDnsEnabled": true,
			"PolicyDocument":    doc,
		}})
	}
	interfaceEndpoint("ApiEndpoint", "execute-api", policy("InvokeOwnAccountsApis", []string{"execute-api:Invoke"},
		[]any{cfn.Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*")}))
	for _, prefix := range slices.Sorted(maps.Keys(actions)) {
		var resources []any
		switch prefix {
		case "dynamodb":
			continue
		case "ssm":
			// The stacks' own parameters (their cursor keys) only.
			resources = []any{cfn.Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/hexlambda/*")}
		default:
			// The functions' roles scope these; the endpoint admits only
			// the actions, from this account.
			resources = []any{"*"}
		}
		interfaceEndpoint(cfn.LogicalName(prefix)+"Endpoint", prefix, policy("ServiceActionsOnly", actions[prefix], resources))
	}
	output := func(key, description string, value any) {
		t.Outputs[key] = cfn.Output{Description: description, Value: value, Export: &cfn.Export{Name: cfn.Sub("${AWS::StackName}-" + key)}}
	}
	output("VpcId", "The private VPC", cfn.Ref("Vpc"))
	output("VpcCidr", "Its address block", cfn.Ref(VpcCidr))
	output("AZCount", "How many zones its subnets span", cfn.Ref(AZCount))
	output("PrivateSubnetIds", "The functions' subnets, one per zone", map[string]any{"Fn::Join": []any{",", subnets}})
	output("FunctionSecurityGroupId", "The functions' security group", cfn.Ref("FunctionSecurityGroup"))
	output("ApiEndpointId", "The execute-api interface endpoint: the only way into the private APIs", cfn.Ref("ApiEndpoint"))
	output("EndpointSecurityGroupId", "The interface endpoints' security group", cfn.Ref("EndpointSecurityGroup"))
	cfn.Tag(&t, NetworkName, cfn.Ref("Stage"), cfn.Ref("Owner"))
	return t, nil
}

// noEgress replaces a security group's default allow-all egress with a rule
// no packet matches (ICMP type 252 code 86 to the broadcast address): an
// interface endpoint answers its clients, it never starts a connection.
var noEgress = map[string]any{
	"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32", "Description": "no egress",
}
