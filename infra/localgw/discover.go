// Package localgw is a local API Gateway for REST APIs deployed to an AWS
// emulator that does not run Lambda code (moto): it reads the deployed API
// (resources, methods, AWS_PROXY integrations, API keys, authorization) from
// the emulator's API Gateway and each target function's configuration and
// code from its Lambda, serves the API on loopback with API Gateway's REST
// semantics, and runs each function's deployed bootstrap as processes
// speaking the Lambda Runtime API.
package localgw

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Route is one method of the deployed API.
type Route struct {
	Method         string // GET, POST, ..., or ANY
	Path           string // resource path, e.g. /members/{memberId}/claims
	ResourceID     string
	APIKeyRequired bool
	Authorization  string // NONE, AWS_IAM, ...
	FunctionName   string
	FunctionARN    string
	Integration    string // type and URI
}

// FunctionConfig is a target function as the emulator's Lambda describes it.
type FunctionConfig struct {
	Name         string
	ARN          string
	Env          map[string]string
	Timeout      time.Duration
	Memory       int
	CodeLocation string
	CodeSHA256   string
	Architecture string
	Role         string // execution role ARN
}

// API is a deployed REST API.
type API struct {
	ID        string
	Name      string
	Routes    []Route
	Functions map[string]FunctionConfig
	// BinaryMediaTypes are the media types the API passes as binary.
	BinaryMediaTypes []string
	// Policy is the API's resource policy (nil: none).
	Policy *ResourcePolicy
	// Private is an API of endpoint type PRIVATE: reachable only through a
	// VPC endpoint.
	Private bool
}

// GatewayAPI is the part of the API Gateway client the gateway uses.
type GatewayAPI interface {
	GetRestApi(ctx context.Context, in *apigateway.GetRestApiInput, opts ...func(*apigateway.Options)) (*apigateway.GetRestApiOutput, error)
	GetResources(ctx context.Context, in *apigateway.GetResourcesInput, opts ...func(*apigateway.Options)) (*apigateway.GetResourcesOutput, error)
	GetMethod(ctx context.Context, in *apigateway.GetMethodInput, opts ...func(*apigateway.Options)) (*apigateway.GetMethodOutput, error)
	GetApiKeys(ctx context.Context, in *apigateway.GetApiKeysInput, opts ...func(*apigateway.Options)) (*apigateway.GetApiKeysOutput, error)
	GetUsagePlans(ctx context.Context, in *apigateway.GetUsagePlansInput, opts ...func(*apigateway.Options)) (*apigateway.GetUsagePlansOutput, error)
	GetUsagePlanKeys(ctx context.Context, in *apigateway.GetUsagePlanKeysInput, opts ...func(*apigateway.Options)) (*apigateway.GetUsagePlanKeysOutput, error)
	GetDeployments(ctx context.Context, in *apigateway.GetDeploymentsInput, opts ...func(*apigateway.Options)) (*apigateway.GetDeploymentsOutput, error)
}

// LambdaAPI is the part of the Lambda client the gateway uses.
type LambdaAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
}

// Discover reads a deployed REST API and its target functions.
func Discover(ctx context.Context, gw GatewayAPI, lam LambdaAPI, apiID string) (API, error) {
	rest, routes, err := readMethods(ctx, gw, apiID)
	if err != nil {
		return API{}, err
	}
	api := API{ID: apiID, Name: aws.ToString(rest.Name), Functions: map[string]FunctionConfig{}, BinaryMediaTypes: rest.BinaryMediaTypes}
	if api.Policy, err = ParseResourcePolicy(aws.ToString(rest.Policy)); err != nil {
		return API{}, fmt.Errorf("API %s: %w", apiID, err)
	}
	if ec := rest.EndpointConfiguration; ec != nil {
		for _, t := range ec.Types {
			api.Private = api.Private || t == "PRIVATE"
		}
	}
	for _, r := range routes {
		if r.FunctionARN == "" {
			return API{}, fmt.Errorf("method %s %s has no AWS_PROXY Lambda integration; only those are supported", r.Method, r.Path)
		}
		api.Routes = append(api.Routes, r)
	}
	sort.Slice(api.Routes, func(i, j int) bool {
		if api.Routes[i].Path != api.Routes[j].Path {
			return api.Routes[i].Path < api.Routes[j].Path
		}
		return api.Routes[i].Method < api.Routes[j].Method
	})
	for i, r := range api.Routes {
		fc, ok := api.Functions[r.FunctionARN]
		if !ok {
			if fc, err = ReadFunction(ctx, lam, r.FunctionARN); err != nil {
				return API{}, err
			}
			api.Functions[r.FunctionARN] = fc
		}
		api.Routes[i].FunctionName = fc.Name
	}
	return api, nil
}

// ReadFunction reads a function's configuration from the emulator's Lambda.
func ReadFunction(ctx context.Context, lam LambdaAPI, nameOrARN string) (FunctionConfig, error) {
	out, err := lam.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(nameOrARN)})
	if err != nil {
		return FunctionConfig{}, fmt.Errorf("read function %s: %w", nameOrARN, err)
	}
	c := out.Configuration
	fc := FunctionConfig{
		Name: aws.ToString(c.FunctionName), ARN: aws.ToString(c.FunctionArn),
		Timeout: time.Duration(aws.ToInt32(c.Timeout)) * time.Second, Memory: int(aws.ToInt32(c.MemorySize)),
		CodeSHA256: aws.ToString(c.CodeSha256), Env: map[string]string{}, Role: aws.ToString(c.Role),
	}
	if c.Environment != nil {
		for k, v := range c.Environment.Variables {
			fc.Env[k] = v
		}
	}
	if len(c.Architectures) > 0 {
		fc.Architecture = string(c.Architectures[0])
	}
	if out.Code != nil {
		fc.CodeLocation = aws.ToString(out.Code.Location)
	}
	if fc.Timeout <= 0 {
		fc.Timeout = 3 * time.Second
	}
	return fc, nil
}

// readMethods reads a REST API and every method of its resources.
func readMethods(ctx context.Context, gw GatewayAPI, apiID string) (*apigateway.GetRestApiOutput, []Route, error) {
	rest, err := gw.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(apiID)})
	if err != nil {
		return nil, nil, fmt.Errorf("read REST API %s: %w", apiID, err)
	}
	var routes []Route
	p := apigateway.NewGetResourcesPaginator(gw, &apigateway.GetResourcesInput{RestApiId: aws.String(apiID), Embed: []string{"methods"}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("read resources of %s: %w", apiID, err)
		}
		for _, res := range page.Items {
			for method := range res.ResourceMethods {
				m, err := gw.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: aws.String(apiID), ResourceId: res.Id, HttpMethod: aws.String(method)})
				if err != nil {
					return nil, nil, fmt.Errorf("read method %s %s: %w", method, aws.ToString(res.Path), err)
				}
				r := Route{
					Method: method, Path: aws.ToString(res.Path), ResourceID: aws.ToString(res.Id),
					APIKeyRequired: aws.ToBool(m.ApiKeyRequired), Authorization: aws.ToString(m.AuthorizationType),
				}
				if integ := m.MethodIntegration; integ != nil {
					r.Integration = string(integ.Type) + " " + aws.ToString(integ.Uri)
					if string(integ.Type) == "AWS_PROXY" {
						r.FunctionARN = functionARN(aws.ToString(integ.Uri))
					}
				}
				routes = append(routes, r)
			}
		}
	}
	return rest, routes, nil
}

// functionARN extracts the function ARN from an AWS_PROXY integration URI:
// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations.
func functionARN(uri string) string {
	_, rest, ok := strings.Cut(uri, ":lambda:path/2015-03-31/functions/")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(rest, "/invocations")
}
