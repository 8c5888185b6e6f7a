package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// EC2 is the part of the EC2 API the tool uses: finding the region's
// DynamoDB prefix list for the network stack.
type EC2 interface {
	DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, opts ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error)
}

// NetworkStackName is the network stack of a stage.
func NetworkStackName(stage string) string { return StackName(stacks.NetworkName, stage) }

// NetworkParams completes the network stack's parameters: the AZ count
// (given, else the stack's, else the default), the subnets' blocks split
// from the VPC block unless given, and the region's DynamoDB prefix list.
func (t *Tool) NetworkParams(ctx context.Context, stage string, given Params) (Params, error) {
	p := Params{"Stage": stage}
	for k, v := range given {
		p[k] = v
	}
	existing, err := t.Describe(ctx, NetworkStackName(stage))
	if err != nil && !errors.Is(err, ErrNoStack) {
		return nil, err
	}
	for _, k := range []string{stacks.AZCount, stacks.VpcCidr} {
		if _, ok := p[k]; !ok && existing.Parameters[k] != "" {
			p[k] = existing.Parameters[k]
		}
	}
	if p[stacks.AZCount] == "" {
		p[stacks.AZCount] = strconv.Itoa(stacks.DefaultAZCount)
	}
	if p[stacks.VpcCidr] == "" {
		p[stacks.VpcCidr] = stacks.DefaultVpcCidr
	}
	n, err := strconv.Atoi(p[stacks.AZCount])
	if err != nil {
		return nil, fmt.Errorf("AZCount %q is no number", p[stacks.AZCount])
	}
	if _, ok := given[stacks.SubnetCidrs]; !ok {
		blocks, err := stacks.SplitCidr(p[stacks.VpcCidr], n)
		if err != nil {
			return nil, err
		}
		p[stacks.SubnetCidrs] = strings.Join(blocks, ",")
	}
	if p[stacks.DynamoDBPrefixList] == "" {
		if p[stacks.DynamoDBPrefixList], err = t.dynamoDBPrefixList(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (t *Tool) dynamoDBPrefixList(ctx context.Context) (string, error) {
	if t.EC2 == nil {
		return "", errors.New("no EC2 client to find the DynamoDB prefix list: pass --param " + stacks.DynamoDBPrefixList + "=pl-ID")
	}
	name := "com.amazonaws." + t.Region + ".dynamodb"
	out, err := t.EC2.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{
		Filters: []ec2types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{name}}},
	})
	if err != nil {
		return "", fmt.Errorf("find the DynamoDB prefix list %s: %w", name, err)
	}
	for _, pl := range out.PrefixLists {
		if aws.ToString(pl.PrefixListName) == name {
			return aws.ToString(pl.PrefixListId), nil
		}
	}
	return "", fmt.Errorf("region %s has no prefix list %s", t.Region, name)
}

// PrivateNetwork fills a private service stage's network parameters from
// the stage's network stack, unless the caller gave them: the subnets and
// security group its functions run in, and the execute-api endpoint its
// API admits. A stage is private when --param Network=private says so or
// its stack already is (and no --param Network=public says otherwise).
func (t *Tool) PrivateNetwork(ctx context.Context, stack, stage string, p Params) error {
	network, given := p[cfn.ParamNetwork]
	if !given {
		existing, err := t.Describe(ctx, stack)
		if err != nil && !errors.Is(err, ErrNoStack) {
			return err
		}
		network = existing.Parameters[cfn.ParamNetwork]
	}
	if network != cfn.NetworkPrivate {
		return nil
	}
	name := NetworkStackName(stage)
	st, err := t.Outputs(ctx, name, stacks.NetworkName)
	if errors.Is(err, ErrNoStack) {
		return fmt.Errorf("%s is private, but there is no network stack %s: deploy it first (go tool task deploy SERVICE=network STAGE=%s)", stack, name, stage)
	}
	if err != nil {
		return err
	}
	for param, output := range stacks.NetworkOutputs {
		if _, ok := p[param]; ok {
			continue
		}
		v := st.Outputs[output]
		if v == "" {
			return fmt.Errorf("network stack %s has no output %s", name, output)
		}
		p[param] = v
	}
	t.logf("%s: private, in %s (VPC %s, subnets %s, API endpoint %s)", stack, name, p[cfn.ParamVpcID], p[cfn.ParamSubnetIDs], p[cfn.ParamAPIEndpointID])
	return nil
}

// NetworkUsers lists the stage's service stacks that run in its network.
func (t *Tool) NetworkUsers(ctx context.Context, stage string) ([]string, error) {
	var out []string
	for _, name := range stacks.Names() {
		st, err := t.Describe(ctx, StackName(name, stage))
		if errors.Is(err, ErrNoStack) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if st.Parameters[cfn.ParamNetwork] == cfn.NetworkPrivate {
			out = append(out, st.Name)
		}
	}
	return out, nil
}
