package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/cfn"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

type result struct {
	code           int
	stdout, stderr string
}

func deployCmd(t *testing.T, cfg aws.Config, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, func(context.Context) (aws.Config, error) { return cfg, nil }, Console{})
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func outputs(stdout string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok {
			m[k] = v
		}
	}
	return m
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	// Nothing listens there: a usage error must be found before any call.
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")}
	for _, args := range [][]string{
		{}, {"deploy"}, {"deploy", "--service", "nope"}, {"deploy", "--service", "claims", "--stage", "Bad"},
		{"deploy", "--service", "claims", "--stage", "prod", "--param", "Auth=NONE"},
		{"destroy", "--service", "claims", "--stage", "prod"}, {"keys"}, {"keys", "rotate", "--service", "claims"},
		{"build", "--service", "claims", "--arch", "mips"}, {"deploy", "--param", "novalue"}, {"frobnicate"},
	} {
		r := deployCmd(t, cfg, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}
}

func TestDeployToMoto(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	dist := t.TempDir()
	base := []string{"--stage", "dev", "--arch", "host", "--poll", "100ms", "--dist", dist, "--set-logging-role"}
	hostArch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	cf := cloudformation.NewFromConfig(cfg)
	lam := lambda.NewFromConfig(cfg)
	gw := apigateway.NewFromConfig(cfg)

	for _, service := range stacks.Names() {
		r := deployCmd(t, cfg, append([]string{"deploy", "--service", service}, base...)...)
		require.Equal(t, 0, r.code, "deploy %s:\n%s", service, r.stderr)
		out := outputs(r.stdout)
		require.NotEmpty(t, out["ApiId"], r.stdout)
		assert.Equal(t, "https://"+out["ApiId"]+".execute-api.us-east-1.amazonaws.com/dev", out["ApiUrl"])

		key, err := ssm.NewFromConfig(cfg).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/hexlambda/" + service + "-dev/cursor-signing-key"), WithDecryption: aws.Bool(true)})
		require.NoError(t, err, "the stage's cursor key is in Parameter Store")
		assert.Equal(t, ssmtypes.ParameterTypeSecureString, key.Parameter.Type)
		assert.GreaterOrEqual(t, len(aws.ToString(key.Parameter.Value)), 32)

		for _, name := range []string{stacks.BootstrapStackName, service + "-dev"} {
			st, err := cf.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
			require.NoError(t, err)
			assert.Equal(t, "CREATE_COMPLETE", string(st.Stacks[0].StackStatus), name)
		}

		svc, err := stacks.Lookup(service)
		require.NoError(t, err)
		for _, f := range svc.Functions {
			fc, err := lam.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(service + "-dev-" + f.Operation)})
			require.NoError(t, err, f.Operation)
			assert.Equal(t, "provided.al2023", string(fc.Runtime))
			assert.Equal(t, "bootstrap", aws.ToString(fc.Handler))
			require.Len(t, fc.Architectures, 1)
			assert.Equal(t, hostArch, string(fc.Architectures[0]))
			var keys []string
			for k := range fc.Environment.Variables {
				keys = append(keys, k)
			}
			want := []string{cfn.EnvServiceVersion}
			for k := range f.Env {
				want = append(want, k)
			}
			assert.Regexp(t, `^(unreleased|`+service+`/v\d+\.\d+\.\d+)$`, fc.Environment.Variables[cfn.EnvServiceVersion], "the release is stamped")
			sort.Strings(keys)
			sort.Strings(want)
			assert.Equal(t, want, keys, f.Operation)
			for k, v := range fc.Environment.Variables {
				if strings.HasSuffix(k, "_TABLE") || k == "TABLE_NAME" {
					assert.Contains(t, []string{out["ClaimsTableName"], out["AuditTableName"]}, v, "%s points at the stack's table", k)
				}
			}
		}

		res, err := gw.GetResources(t.Context(), &apigateway.GetResourcesInput{RestApiId: aws.String(out["ApiId"]), Embed: []string{"methods"}, Limit: aws.Int32(500)})
		require.NoError(t, err)
		found := map[string]string{}
		for _, rsc := range res.Items {
			for method := range rsc.ResourceMethods {
				m, err := gw.GetMethod(t.Context(), &apigateway.GetMethodInput{RestApiId: aws.String(out["ApiId"]), ResourceId: rsc.Id, HttpMethod: aws.String(method)})
				require.NoError(t, err)
				require.NotNil(t, m.MethodIntegration)
				assert.Equal(t, "AWS_PROXY", string(m.MethodIntegration.Type))
				found[method+" "+aws.ToString(rsc.Path)] = aws.ToString(m.MethodIntegration.Uri)
			}
		}
		assert.Len(t, found, len(svc.Routes))
		for _, route := range svc.Routes {
			uri, ok := found[route.Method+" "+route.Pattern]
			if assert.True(t, ok, "%s %s has a method", route.Method, route.Pattern) {
				assert.Contains(t, uri, ":function:"+service+"-dev-"+route.Operation+"/invocations")
			}
		}
	}

	again := deployCmd(t, cfg, append([]string{"deploy", "--service", "claims"}, base...)...)
	require.Equal(t, 0, again.code, again.stderr)
	assert.Contains(t, again.stderr, "claims-dev: no changes; nothing to deploy")
	assert.NotContains(t, again.stderr, "uploaded ", "unchanged code is not uploaded again")
	claims, err := stacks.Lookup("claims")
	require.NoError(t, err)
	assert.Equal(t, len(claims.Functions), strings.Count(again.stderr, "unchanged "), "every function's code is unchanged")

	diff := deployCmd(t, cfg, append([]string{"diff", "--service", "ec2power"}, base...)...)
	require.Equal(t, 0, diff.code, diff.stderr)
	assert.Contains(t, diff.stdout, "no changes")

	// Switching auth must reach the stage: a new deployment is planned.
	authDiff := deployCmd(t, cfg, append([]string{"diff", "--service", "claims", "--param", "Auth=API_KEY"}, base...)...)
	require.Equal(t, 0, authDiff.code, authDiff.stderr)
	assert.Regexp(t, `Add\s+Deployment[0-9a-f]+\s+AWS::ApiGateway::Deployment`, authDiff.stdout, "a new deployment carries the new auth")

	// A diff of a stage that does not exist changes nothing.
	qa := deployCmd(t, cfg, "diff", "--service", "claims", "--stage", "qa", "--arch", "host", "--poll", "100ms", "--dist", dist)
	require.Equal(t, 0, qa.code, qa.stderr)
	_, err = cf.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("claims-qa")})
	require.Error(t, err, "the diff left no claims-qa stack behind (not even in REVIEW_IN_PROGRESS)")

	// Keys issued for a stage go with it.
	plan, err := gw.CreateUsagePlan(t.Context(), &apigateway.CreateUsagePlanInput{Name: aws.String("ec2power-dev-test")})
	require.NoError(t, err)
	issued := deployCmd(t, cfg, "keys", "issue", "--service", "ec2power", "--stage", "dev", "--consumer", "ops", "--groups", "*", "--usage-plan", aws.ToString(plan.Id), "--json")
	require.Equal(t, 0, issued.code, issued.stderr)
	assert.Contains(t, issued.stdout, `"grant": "groups=* audit=false"`)
	noGroups := deployCmd(t, cfg, "keys", "issue", "--service", "ec2power", "--stage", "dev", "--consumer", "x", "--usage-plan", aws.ToString(plan.Id))
	assert.Equal(t, 2, noGroups.code, "an ec2power key needs --groups")

	outs := deployCmd(t, cfg, "outputs", "--service", "ec2power", "--stage", "dev", "--json")
	require.Equal(t, 0, outs.code, outs.stderr)
	assert.Contains(t, outs.stdout, `"AuditTableName"`)

	for _, service := range stacks.Names() {
		r := deployCmd(t, cfg, "destroy", "--service", service, "--stage", "dev", "--poll", "100ms")
		require.Equal(t, 0, r.code, r.stderr)
		if service == "ec2power" {
			assert.Regexp(t, `ec2power-dev: destroying it deletes the 1 API key\(s\) issued for it:\n  \S+ \(ec2power-dev-ops, consumer ops\)\n`, r.stderr,
				"destroy names the keys it will delete before it deletes any")
			assert.Contains(t, r.stderr, "deleting API key", "and says so as it deletes each")
			keys, err := gw.GetApiKeys(t.Context(), &apigateway.GetApiKeysInput{})
			require.NoError(t, err)
			for _, k := range keys.Items {
				assert.NotEqual(t, "ec2power-dev-ops", aws.ToString(k.Name), "the stage's key is gone")
			}
		}
		_, err := cf.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(service + "-dev")})
		require.Error(t, err, "%s-dev is gone", service)
		_, err = ssm.NewFromConfig(cfg).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/hexlambda/" + service + "-dev/cursor-signing-key")})
		require.Error(t, err, "and so is its cursor key")
	}
	gone := deployCmd(t, cfg, "outputs", "--service", "claims", "--stage", "dev")
	assert.Equal(t, 1, gone.code)
	assert.Contains(t, gone.stderr, "does not exist")
}

// The network deploys like a service; a private stage reads its outputs
// itself, runs its functions in the network's subnets and admits its
// endpoint; a private stage without its network is refused, saying what to
// deploy first.
func TestPrivateStagesRunInTheirNetwork(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	dist := t.TempDir()
	base := []string{"--arch", "host", "--poll", "100ms", "--dist", dist, "--set-logging-role"}
	r := deployCmd(t, cfg, append([]string{"deploy", "--service", "claims", "--stage", "nonet", "--param", "Network=private"}, base...)...)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "no network stack network-nonet: deploy it first (go tool task deploy SERVICE=network STAGE=nonet)")
	_, err := cloudformation.NewFromConfig(cfg).DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("claims-nonet")})
	require.Error(t, err, "nothing was made")

	r = deployCmd(t, cfg, append([]string{"deploy", "--service", "network", "--stage", "priv", "--param", "AZCount=3"}, base...)...)
	require.Equal(t, 0, r.code, r.stderr)
	network := outputs(r.stdout)
	assert.Equal(t, "3", network["AZCount"])
	subnets := strings.Split(network["PrivateSubnetIds"], ",")
	require.Len(t, subnets, 3, r.stdout)
	require.True(t, strings.HasPrefix(network["ApiEndpointId"], "vpce-"), r.stdout)
	vpcs, err := ec2.NewFromConfig(cfg).DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{SubnetIds: subnets})
	require.NoError(t, err)
	var blocks []string
	for _, s := range vpcs.Subnets {
		assert.Equal(t, network["VpcId"], aws.ToString(s.VpcId))
		assert.False(t, aws.ToBool(s.MapPublicIpOnLaunch))
		blocks = append(blocks, aws.ToString(s.CidrBlock))
	}
	sort.Strings(blocks)
	assert.Equal(t, []string{"10.40.0.0/18", "10.40.128.0/18", "10.40.64.0/18"}, blocks, "the VPC block split in four, three used")
	r = deployCmd(t, cfg, "diff", "--service", "network", "--stage", "priv", "--param", "AZCount=3")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "network-priv: no changes")

	r = deployCmd(t, cfg, append([]string{"deploy", "--service", "claims", "--stage", "priv", "--param", "Network=private", "--param", "ExtraVpcEndpointIds=vpce-0peer"}, base...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "claims-priv: private, in network-priv")
	fn, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("claims-priv-createClaim")})
	require.NoError(t, err)
	require.NotNil(t, fn.VpcConfig)
	assert.ElementsMatch(t, subnets, fn.VpcConfig.SubnetIds)
	assert.Equal(t, []string{network["FunctionSecurityGroupId"]}, fn.VpcConfig.SecurityGroupIds)
	st, err := cloudformation.NewFromConfig(cfg).DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("claims-priv")})
	require.NoError(t, err)
	params := map[string]string{}
	for _, p := range st.Stacks[0].Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	assert.Equal(t, network["ApiEndpointId"], params["ApiEndpointId"])
	assert.Equal(t, network["VpcId"], params["VpcId"])
	assert.Contains(t, params["ExtraVpcEndpointIds"], "vpce-0peer") // moto shows a list as its Python literal

	// A redeploy keeps it private without saying so again.
	r = deployCmd(t, cfg, append([]string{"deploy", "--service", "claims", "--stage", "priv"}, base...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "claims-priv: private, in network-priv")
	r = deployCmd(t, cfg, "destroy", "--service", "network", "--stage", "priv")
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "network-priv still carries the private stages [claims-priv]: destroy them first")
	r = deployCmd(t, cfg, "destroy", "--service", "claims", "--stage", "priv", "--poll", "100ms")
	require.Equal(t, 0, r.code, r.stderr)
	// The network's own deletion is left out: moto's CloudFormation deletes
	// no VPC endpoint, so the VPC would be refused as still in use.
}

// A first deploy to a region whose API Gateway has no logging role: a
// service stage (whose access logs need one) is refused before anything is
// made; the bootstrap sets the region's role only when asked, keeps the
// one it set, and leaves someone else's alone, saying so each time.
func TestAFirstDeployToANewRegion(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	cfg.Region = "eu-west-3" // no other test deploys there
	cf, gw := cloudformation.NewFromConfig(cfg), apigateway.NewFromConfig(cfg)
	role := func(gw *apigateway.Client) string {
		a, err := gw.GetAccount(t.Context(), &apigateway.GetAccountInput{})
		require.NoError(t, err)
		return aws.ToString(a.CloudwatchRoleArn)
	}
	exists := func(stack string) bool {
		_, err := cf.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		return err == nil
	}
	require.Empty(t, role(gw), "a new region has no logging role")
	r := deployCmd(t, cfg, "deploy", "--service", "claims", "--stage", "first", "--arch", "host", "--poll", "100ms", "--dist", t.TempDir())
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "no API Gateway CloudWatch logging role in eu-west-3, and a stage's access logs need one")
	assert.Contains(t, r.stderr, "deploy with --set-logging-role")
	assert.False(t, exists("claims-first"), "nothing was made")
	assert.False(t, exists(stacks.BootstrapStackName), "not even the bootstrap stack")

	r = deployCmd(t, cfg, "bootstrap", "--poll", "100ms")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "has no CloudWatch logging role, which stages' access logs need: deploy with --set-logging-role")
	assert.Empty(t, role(gw), "not asked: the region is left as it is")

	r = deployCmd(t, cfg, "bootstrap", "--poll", "100ms", "--set-logging-role")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the bootstrap stack sets its own, as asked")
	set := role(gw)
	assert.Regexp(t, `^arn:aws:iam::123456789012:role/`, set)
	assert.Equal(t, "arn:aws:iam::123456789012:role/"+bootstrapRole(t, cf), set, "the role is the bootstrap stack's")

	// A stage may now be deployed without asking again (deploying one is
	// TestDeployToMoto's: its builds and zips take minutes under -race).
	tool := deploy.NewTool(cfg, io.Discard)
	require.NoError(t, tool.LoggingRoleReady(t.Context()), "a stage deploys once the region has its role")
	r = deployCmd(t, cfg, "bootstrap", "--poll", "100ms")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "already logs with", "the role the bootstrap set is its own, kept without the flag")
	assert.Equal(t, set, role(gw))

	// Where the region's APIs log with someone else's role, it stays.
	other := cfg.Copy()
	other.Region = "eu-north-1"
	theirs := "arn:aws:iam::123456789012:role/theirs"
	otherGW := apigateway.NewFromConfig(other)
	_, err := otherGW.UpdateAccount(t.Context(), &apigateway.UpdateAccountInput{PatchOperations: []apigwtypes.PatchOperation{
		{Op: apigwtypes.OpReplace, Path: aws.String("/cloudwatchRoleArn"), Value: aws.String(theirs)},
	}})
	require.NoError(t, err)
	r = deployCmd(t, other, "bootstrap", "--poll", "100ms", "--set-logging-role")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "API Gateway in eu-north-1 already logs with "+theirs+"; leaving it")
	assert.Equal(t, theirs, role(otherGW))
	assert.Empty(t, bootstrapRole(t, cloudformation.NewFromConfig(other)), "the bootstrap stack made no role there")
}

// bootstrapRole is the name of the logging role the bootstrap stack made,
// "" when it made none.
func bootstrapRole(t *testing.T, cf *cloudformation.Client) string {
	t.Helper()
	res, err := cf.DescribeStackResources(t.Context(), &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stacks.BootstrapStackName)})
	require.NoError(t, err)
	for _, r := range res.StackResources {
		if aws.ToString(r.LogicalResourceId) == "ApiGatewayLogsRole" {
			return aws.ToString(r.PhysicalResourceId)
		}
	}
	return ""
}

func TestHelpVersionAndCompletion(t *testing.T) {
	t.Parallel()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")}
	r := deployCmd(t, cfg, "help", "deploy")
	assert.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{"--yes", "--param", "--allow-anonymous", "--service", "network"} {
		assert.Contains(t, r.stdout, want)
	}
	r = deployCmd(t, cfg, "keys", "issue", "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "--consumer")
	assert.NotContains(t, r.stdout, "--allow-anonymous", "each command lists its own flags")
	r = deployCmd(t, cfg, "--help")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "asks before executing it on a terminal")
	r = deployCmd(t, cfg, "frobnicate")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown command "frobnicate"`, "not a missing --service")
	r = deployCmd(t, cfg, "outputs", "--arch", "host")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "unknown flag: --arch")
	assert.Contains(t, r.stderr, "usage: deploy outputs [flags]")
	r = deployCmd(t, cfg, "--service", "claims", "--stage", "Bad", "diff")
	assert.Equal(t, 2, r.code, "flags before the command are the command's")
	assert.Contains(t, r.stderr, `stage "Bad" must be`)
	r = deployCmd(t, cfg, "--version")
	assert.Equal(t, 0, r.code)
	assert.Regexp(t, `^deploy \S+ \(commit \S+\)\n$`, r.stdout)
	r = deployCmd(t, cfg, "completion", "bash")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "deploy")
}

// A deploy shows its plan and asks on a terminal: only yes executes it.
// Without a terminal a production stage needs --yes. Stack events stream
// while it waits, with the time elapsed.
func TestDeploysAskFirst(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	cf := cloudformation.NewFromConfig(cfg)
	exists := func(stack string) bool {
		out, err := cf.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		return err == nil && len(out.Stacks) > 0 && out.Stacks[0].StackStatus != "REVIEW_IN_PROGRESS"
	}
	at := func(answer string, args ...string) result {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(args, "--poll", "50ms"), &out, &errOut,
			func(context.Context) (aws.Config, error) { return cfg, nil }, Console{In: strings.NewReader(answer), Terminal: true})
		return result{code: code, stdout: out.String(), stderr: errOut.String()}
	}
	r := at("n\n", "deploy", "--service", "network", "--stage", "ask")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "Create network-ask with the ")
	assert.Contains(t, r.stderr, "change(s) above? [y/N]")
	assert.Contains(t, r.stderr, "not confirmed; nothing was changed")
	assert.False(t, exists("network-ask"), "a declined plan leaves nothing behind")

	r = at("yes\n", "deploy", "--service", "network", "--stage", "ask")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, exists("network-ask"))
	assert.Regexp(t, `(?m)^\s+\d+s\s+CREATE_COMPLETE\s+network-ask\s+AWS::CloudFormation::Stack`, r.stderr, "events stream with the time elapsed")

	r = at("\n", "destroy", "--service", "network", "--stage", "ask")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "Destroy network-ask? [y/N]")
	assert.True(t, exists("network-ask"), "destroy asks too; an empty answer is no")

	r = deployCmd(t, cfg, "deploy", "--service", "network", "--stage", "prod", "--poll", "50ms")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "network-prod is a production stage and there is no terminal to confirm on: pass --yes")
	assert.False(t, exists("network-prod"))
	r = deployCmd(t, cfg, "deploy", "--service", "claims", "--stage", "production", "--arch", "host")
	assert.Equal(t, 2, r.code, "refused before anything is built")
	assert.Contains(t, r.stderr, "pass --yes")
	r = deployCmd(t, cfg, "deploy", "--service", "network", "--stage", "prod", "--poll", "50ms", "--yes")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, exists("network-prod"))
}
