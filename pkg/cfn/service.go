package cfn

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
)

// Auth modes of a service's API.
const (
	AuthAPIKey = "API_KEY"
	AuthIAM    = "AWS_IAM"
	AuthNone   = "NONE"
)

// Statement is one IAM policy statement. Resources and condition values may
// be intrinsic functions.
type Statement struct {
	Sid       string
	Actions   []string
	Resources []any
	Condition map[string]any
}

// Function is one Lambda function, serving one operation.
type Function struct {
	// Operation is the operation name in the service's route table.
	Operation string
	// Package is the Go package of the function's main, relative to the
	// repository root (./services/NAME/cmd/OPERATION).
	Package string
	// Timeout in seconds.
	Timeout int
	// Env are the environment variables the code reads; values may be
	// intrinsic functions.
	Env map[string]any
	// Statements are the function's permissions beyond its own logs and
	// X-Ray traces.
	Statements []Statement
	// Waits marks a function that may hold a request for long (polling
	// until instances settle): it runs with the stage's reserved
	// concurrency (WaitingConcurrency), so a burst of waits can neither take
	// the account's Lambda concurrency nor grow without bound.
	Waits bool
	// Internal marks a function no route serves: the service's own
	// resources invoke it (a schedule, a rule), so API Gateway may not.
	Internal bool
}

// Route is one method of the REST API.
type Route struct {
	Method    string
	Pattern   string
	Operation string
	// Legacy marks a route of the API the service replaced: a stage
	// serves it until LegacyRoutes=false retires it.
	Legacy bool
}

// ParamLegacyRoutes says whether a stage serves its service's legacy
// routes ("true", the default) or has retired them ("false"): the template
// is rendered without their methods, so the deploy takes them off the API
// and deploys the stage anew without them. Only services with legacy
// routes have it.
const ParamLegacyRoutes = "LegacyRoutes"

// Network parameters: with Network=private the API is PRIVATE, callable
// only through the VPC endpoints its resource policy names, and every
// function runs in the network stack's private subnets. The deploy tool
// fills the ids from the network stack's outputs.
const (
	ParamNetwork                 = "Network"
	NetworkPublic                = "public"
	NetworkPrivate               = "private"
	ParamVpcID                   = "VpcId"
	ParamSubnetIDs               = "SubnetIds"
	ParamFunctionSecurityGroupID = "FunctionSecurityGroupId"
	ParamAPIEndpointID           = "ApiEndpointId"
	ParamExtraVpcEndpointIDs     = "ExtraVpcEndpointIds"
)

// AllowAnonymous is the parameter that must be "true" for Auth NONE: an
// API open to anyone who reaches it is never the default.
const AllowAnonymous = "AllowAnonymous"

// EnvServiceVersion is the variable every function gets with its
// service's release.
const EnvServiceVersion = "SERVICE_VERSION"

// CursorKeyName is the SSM parameter holding a stack's cursor signing key,
// for Fn::Sub: the deploy tool creates it once per stack, a SecureString,
// so the key is in no template, parameter or function configuration.
const CursorKeyName = "/hexlambda/${AWS::StackName}/cursor-signing-key"

// CursorKeyStatement lets a function read the stack's cursor key.
func CursorKeyStatement() Statement {
	return Statement{
		Sid: "ReadCursorKey", Actions: []string{"ssm:GetParameter"},
		Resources: []any{Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter" + CursorKeyName)},
	}
}

// RoutesOf returns the methods of a service's route table.
func RoutesOf(table []httpapi.Route) []Route {
	out := make([]Route, 0, len(table))
	for _, r := range table {
		out = append(out, Route{Method: r.Method, Pattern: r.Pattern, Operation: r.Operation, Legacy: r.Legacy})
	}
	return out
}

// Table is a DynamoDB table with the adapter's layout (string keys PK and
// SK), on demand, with point-in-time recovery, encryption, and a TTL on
// expiresAt.
type Table struct {
	LogicalID   string
	Description string
}

// Service describes one independently deployed service.
type Service struct {
	Name        string
	Description string
	Functions   []Function
	Routes      []Route
	Tables      []Table
	// DefaultAuth is the Auth parameter's default.
	DefaultAuth string
	// ExtraParameters are service-specific parameters (referenced by Env).
	ExtraParameters map[string]Parameter
	// AccessPolicies are the managed policies the stack offers its
	// callers, one per role: each allows execute-api:Invoke on the routes of
	// its operations in this API and stage, and nothing else.
	AccessPolicies []AccessPolicy
	// Resources are the service's own further resources, by logical id
	// (what invokes its internal functions, for example).
	Resources map[string]Resource
	// Outputs are the service's own further outputs.
	Outputs map[string]Output
}

// AccessPolicy is a managed policy for the callers of some operations.
type AccessPolicy struct {
	// Name is the policy's logical name (Intake): the resource is
	// <Name>Policy, the output <Name>PolicyArn.
	Name        string
	Description string
	Operations  []string
	// PrincipalTags scopes path parameters to the caller: a path parameter
	// named here must equal the caller's principal tag of that name
	// ({memberId} -> aws:PrincipalTag/memberId).
	PrincipalTags []string
}

// LogicalName turns an operation or path into a CloudFormation logical id
// part: "getOrder" -> "GetOrder".
func LogicalName(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FunctionLogicalID is the logical id of an operation's function.
func FunctionLogicalID(op string) string { return LogicalName(op) + "Function" }

// RoleLogicalID is the logical id of an operation's role.
func RoleLogicalID(op string) string { return LogicalName(op) + "Role" }

// CodeKeyParameter is the parameter naming an operation's code object.
func CodeKeyParameter(op string) string { return LogicalName(op) + "CodeKey" }

// MethodLogicalID is the logical id of a route's method.
func MethodLogicalID(r Route) string {
	return "Method" + LogicalName(strings.ToLower(r.Method)) + pathName(r.Pattern)
}

func pathName(pattern string) string {
	var b strings.Builder
	for _, seg := range strings.Split(strings.Trim(pattern, "/"), "/") {
		if strings.HasPrefix(seg, "{") {
			b.WriteString("By")
		}
		b.WriteString(LogicalName(seg))
	}
	if b.Len() == 0 {
		return "Root"
	}
	return b.String()
}

func resourceLogicalID(path string) string { return "Resource" + pathName(path) }

// resourceIDs returns the logical ids of the API's path resources, sorted.
func resourceIDs(t *Template) []string {
	var out []string
	for id, r := range t.Resources {
		if r.Type == "AWS::ApiGateway::Resource" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

const (
	prodCondition     = "IsProduction"
	apiKeyCondition   = "UseApiKey"
	iamCondition      = "UseIam"
	privateCondition  = "IsPrivate"
	extraEndpoints    = "HasExtraVpcEndpoints"
	reservedCondition = "ReservesConcurrency"
	// alarmTopicCondition holds when alarms notify a topic.
	alarmTopicCondition = "NotifiesAlarmTopic"
)

// SnapshotParameters are the parameters whose values API Gateway's stage
// deployment captures (through the methods' authorization and API key
// requirement, and the API's endpoint and resource policy): a change of any
// of them needs a new deployment to go live.
var SnapshotParameters = []string{"Auth", ParamNetwork, ParamAPIEndpointID, ParamExtraVpcEndpointIDs, ParamLegacyRoutes}

// ServiceTemplate builds the service's stack template for its default
// parameter values (the template committed for review).
func ServiceTemplate(s Service) (Template, error) { return ServiceTemplateFor(s, nil) }

// ServiceTemplateFor builds the service's stack template for the values the
// stage will have of SnapshotParameters (defaults for the missing ones).
// The API deployment's logical id covers everything a stage snapshot holds
// (methods, their authorization, API key requirement and integration, the
// API's endpoint and policy) and those values, so a change to any of them
// creates a new deployment instead of leaving the stage on the old one.
func ServiceTemplateFor(s Service, values map[string]string) (Template, error) {
	if err := s.check(); err != nil {
		return Template{}, err
	}
	declared := s
	s, err := s.withLegacyRoutes(values[ParamLegacyRoutes])
	if err != nil {
		return Template{}, err
	}
	t := Template{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              s.Description,
		Parameters:               commonParameters(declared),
		Conditions: map[string]any{
			prodCondition:     Or(Equals(Ref("Stage"), "prod"), Equals(Ref("Stage"), "production")),
			apiKeyCondition:   Equals(Ref("Auth"), AuthAPIKey),
			iamCondition:      Equals(Ref("Auth"), AuthIAM),
			privateCondition:  Equals(Ref(ParamNetwork), NetworkPrivate),
			extraEndpoints:    Not(Equals(map[string]any{"Fn::Join": []any{",", Ref(ParamExtraVpcEndpointIDs)}}, "")),
			reservedCondition: Not(Equals(Ref("WaitingConcurrency"), "0")),
		},
		Rules: map[string]any{
			"AnonymousOnlyWhenAllowed": map[string]any{
				"RuleCondition": Equals(Ref("Auth"), AuthNone),
				"Assertions": []any{map[string]any{
					"Assert":            Equals(Ref(AllowAnonymous), "true"),
					"AssertDescription": "Auth NONE needs AllowAnonymous=true (the deploy tool's --allow-anonymous)",
				}},
			},
			"PrivateNeedsItsNetwork": map[string]any{
				"RuleCondition": Equals(Ref(ParamNetwork), NetworkPrivate),
				"Assertions": []any{
					map[string]any{"Assert": Not(Equals(Ref(ParamVpcID), "")), "AssertDescription": "Network private needs VpcId (the deploy tool reads the network stack)"},
					map[string]any{"Assert": Not(Equals(Ref(ParamFunctionSecurityGroupID), "")), "AssertDescription": "Network private needs FunctionSecurityGroupId"},
					map[string]any{"Assert": Not(Equals(Ref(ParamAPIEndpointID), "")), "AssertDescription": "Network private needs ApiEndpointId"},
				},
			},
			"NoAnonymousProduction": map[string]any{
				"RuleCondition": map[string]any{"Fn::Contains": []any{[]any{"prod", "production"}, Ref("Stage")}},
				"Assertions": []any{map[string]any{
					"Assert":            Not(Equals(Ref("Auth"), AuthNone)),
					"AssertDescription": "Auth NONE is only allowed for non-production stages",
				}},
			},
		},
		Mappings: map[string]any{"LogLevels": map[string]any{
			"debug": map[string]any{"Lambda": "DEBUG"}, "info": map[string]any{"Lambda": "INFO"},
			"warn": map[string]any{"Lambda": "WARN"}, "error": map[string]any{"Lambda": "ERROR"},
		}},
		Resources: map[string]Resource{},
		Outputs:   map[string]Output{},
	}
	t.Conditions[alarmTopicCondition] = Not(Equals(Ref("AlarmTopicArn"), ""))
	for k, v := range s.ExtraParameters {
		t.Parameters[k] = v
	}
	for _, tb := range s.Tables {
		addTable(&t, tb)
	}
	waits := false
	for _, f := range s.Functions {
		addFunction(&t, s, f)
		waits = waits || f.Waits
	}
	if !waits {
		delete(t.Conditions, reservedCondition)
		delete(t.Parameters, "WaitingConcurrency")
	}
	addAPI(&t, s, values)
	for _, id := range slices.Sorted(maps.Keys(s.Resources)) {
		t.Add(id, s.Resources[id])
	}
	for id, o := range s.Outputs {
		t.Outputs[id] = o
	}
	for _, p := range s.AccessPolicies {
		addAccessPolicy(&t, s, p)
	}
	addAlarms(&t, s)
	addDashboard(&t, s)
	Tag(&t, s.Name, Ref("Stage"), Ref("Owner"))
	ExportOutputs(&t)
	return t, nil
}

// InvokeResource is the execute-api ARN of a route of this stack's API and
// stage, for Fn::Sub: path parameters match any value, or the caller's
// principal tag of the same name when listed in tags.
func InvokeResource(r Route, tags ...string) string {
	segs := strings.Split(strings.Trim(r.Pattern, "/"), "/")
	for i, seg := range segs {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "+")
			segs[i] = "*"
			if slices.Contains(tags, name) {
				segs[i] = "${!aws:PrincipalTag/" + name + "}"
			}
		}
	}
	return "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/${Stage}/" + r.Method + "/" + strings.Join(segs, "/")
}

func addAccessPolicy(t *Template, s Service, p AccessPolicy) {
	var resources []any
	for _, r := range s.Routes {
		if slices.Contains(p.Operations, r.Operation) {
			resources = append(resources, Sub(InvokeResource(r, p.PrincipalTags...)))
		}
	}
	id := p.Name + "Policy"
	t.Add(id, Resource{
		Type: "AWS::IAM::ManagedPolicy",
		Properties: map[string]any{
			"ManagedPolicyName": Sub("${AWS::StackName}-" + strings.ToLower(p.Name)),
			"Description":       p.Description,
			"PolicyDocument": map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Sid": "Invoke" + p.Name + "Routes", "Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resources,
				}},
			},
		},
	})
	t.Outputs[id+"Arn"] = Output{Description: p.Description, Value: Ref(id)}
}

func (s Service) check() error {
	ops := map[string]bool{}
	for _, f := range s.Functions {
		if ops[f.Operation] {
			return fmt.Errorf("service %s: operation %s has two functions", s.Name, f.Operation)
		}
		ops[f.Operation] = true
	}
	used := map[string]bool{}
	for _, r := range s.Routes {
		if !ops[r.Operation] {
			return fmt.Errorf("service %s: route %s %s has no function for %s", s.Name, r.Method, r.Pattern, r.Operation)
		}
		used[r.Operation] = true
	}
	for _, f := range s.Functions {
		if f.Internal && used[f.Operation] {
			return fmt.Errorf("service %s: internal function %s serves a route", s.Name, f.Operation)
		}
		used[f.Operation] = used[f.Operation] || f.Internal
	}
	for op := range ops {
		if !used[op] {
			return fmt.Errorf("service %s: function %s serves no route", s.Name, op)
		}
	}
	return nil
}

// hasLegacyRoutes reports whether any route is legacy.
func (s Service) hasLegacyRoutes() bool {
	return slices.ContainsFunc(s.Routes, func(r Route) bool { return r.Legacy })
}

// withLegacyRoutes returns s serving its legacy routes or not, as the
// LegacyRoutes value says (empty: the default, served).
func (s Service) withLegacyRoutes(value string) (Service, error) {
	switch value {
	case "", "true":
		return s, nil
	case "false":
	default:
		return s, fmt.Errorf("service %s: %s is %q, not true or false", s.Name, ParamLegacyRoutes, value)
	}
	s.Routes = slices.DeleteFunc(slices.Clone(s.Routes), func(r Route) bool { return r.Legacy })
	return s, nil
}

func commonParameters(s Service) map[string]Parameter {
	p := map[string]Parameter{
		"Stage": {
			Type: "String", Default: "dev", AllowedPattern: "^[a-z][a-z0-9-]{0,19}$",
			Description: "Stage name (dev, staging, prod, ...); prod and production are production stages", ConstraintDescription: "lower-case letters, digits and dashes",
		},
		"ArtifactBucket": {Type: "String", Description: "Bucket holding the function code (the bootstrap stack's output)", MinLength: intp(3)},
		"Architecture":   {Type: "String", Default: "arm64", AllowedValues: []string{"arm64", "x86_64"}, Description: "Instruction set of the functions"},
		"MemorySize":     {Type: "Number", Default: 128, MinValue: intp(128), MaxValue: intp(10240), Description: "Memory of each function (MB)"},
		"LogRetentionDays": {
			Type: "Number", Default: "14", Description: "Days to keep function and access logs",
			AllowedValues: []string{"1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"},
		},
		"LogLevel": {
			Type: "String", Default: "info", AllowedValues: []string{"debug", "info", "warn", "error"},
			Description: "Level of the functions' logs (Lambda filters their JSON lines by it)",
		},
		"Owner": {
			Type: "String", Default: "unassigned", AllowedPattern: `^[A-Za-z0-9 _.:/=+@-]{1,128}$`,
			Description: "Team or person owning the stage: the owner tag of every resource, for cost allocation",
		},
		"AlarmTopicArn": {
			Type: "String", Default: "", AllowedPattern: `^(|arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256})$`,
			Description: "SNS topic the stage's alarms notify (empty: alarms without notification)",
		},
		ParamNetwork: {
			Type: "String", Default: NetworkPublic, AllowedValues: []string{NetworkPublic, NetworkPrivate},
			Description: "public: a regional API; private: a PRIVATE API callable only through the network stack's execute-api endpoint (and ExtraVpcEndpointIds), functions in its private subnets",
		},
		ParamVpcID:                   {Type: "String", Default: "", Description: "Network private: the network stack's VPC (the deploy tool fills it)"},
		ParamSubnetIDs:               {Type: "CommaDelimitedList", Default: "", Description: "Network private: the functions' subnets (the deploy tool fills them)"},
		ParamFunctionSecurityGroupID: {Type: "String", Default: "", Description: "Network private: the functions' security group (the deploy tool fills it)"},
		ParamAPIEndpointID:           {Type: "String", Default: "", Description: "Network private: the network stack's execute-api endpoint (the deploy tool fills it)"},
		ParamExtraVpcEndpointIDs: {
			Type: "CommaDelimitedList", Default: "",
			Description: "Network private: more execute-api endpoints allowed to call the API, for clients in peered VPCs",
		},
		"Auth":               {Type: "String", Default: s.DefaultAuth, AllowedValues: []string{AuthAPIKey, AuthIAM, AuthNone}, Description: "API_KEY (usage plan), AWS_IAM (SigV4) or NONE (non-production stages only)"},
		"ThrottleRateLimit":  {Type: "Number", Default: 50, MinValue: intp(1), Description: "Steady requests per second of the stage"},
		"ThrottleBurstLimit": {Type: "Number", Default: 100, MinValue: intp(1), Description: "Burst of the stage"},
		"KeyThrottleRateLimit": {
			Type: "Number", Default: 10, MinValue: intp(1),
			Description: "Steady requests per second of each API key: below the stage's, so no one consumer can take the stage (the deploy tool checks)",
		},
		"KeyThrottleBurstLimit": {Type: "Number", Default: 20, MinValue: intp(1), Description: "Burst of each API key, below the stage's"},
		"QuotaPerDay":           {Type: "Number", Default: 10000, MinValue: intp(1), Description: "Requests per day per API key"},
		AllowAnonymous:          {Type: "String", Default: "false", AllowedValues: []string{"false", "true"}, Description: "Must be true for Auth NONE"},
		"ServiceVersion": {
			Type: "String", Default: "unreleased", AllowedPattern: "^[A-Za-z0-9._/+-]{1,64}$",
			Description: "The service's release (its latest tag, SERVICE/vX.Y.Z), stamped by the deploy tool into every function and the stack's tags",
		},
		"WaitingConcurrency": {
			Type: "Number", Default: 5, MinValue: intp(0), MaxValue: intp(1000),
			Description: "Reserved concurrency of each function that may wait (0: none reserved; new accounts may need 0, as reservations must leave 100 unreserved)",
		},
	}
	if s.hasLegacyRoutes() {
		p[ParamLegacyRoutes] = Parameter{
			Type: "String", Default: "true", AllowedValues: []string{"true", "false"},
			Description: "false retires the routes of the API this service replaced: the stage no longer serves them (the deploy tool renders the template without them)",
		}
	}
	for _, f := range s.Functions {
		p[CodeKeyParameter(f.Operation)] = Parameter{Type: "String", Description: "S3 key of the " + f.Operation + " code zip", MinLength: intp(1)}
	}
	return p
}

func addTable(t *Template, tb Table) {
	retain := If(prodCondition, "Retain", "Delete")
	t.Add(tb.LogicalID, Resource{
		Type:                "AWS::DynamoDB::Table",
		DeletionPolicy:      retain,
		UpdateReplacePolicy: retain,
		Properties: map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"AttributeDefinitions": []any{
				map[string]any{"AttributeName": "PK", "AttributeType": "S"},
				map[string]any{"AttributeName": "SK", "AttributeType": "S"},
			},
			"KeySchema": []any{
				map[string]any{"AttributeName": "PK", "KeyType": "HASH"},
				map[string]any{"AttributeName": "SK", "KeyType": "RANGE"},
			},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
			"DeletionProtectionEnabled":        If(prodCondition, true, false),
		},
	})
	t.Outputs[tb.LogicalID+"Name"] = Output{Description: tb.Description, Value: Ref(tb.LogicalID)}
}

func functionName(op string) any { return Sub("${AWS::StackName}-" + op) }

func addFunction(t *Template, s Service, f Function) {
	id := LogicalName(f.Operation)
	logGroup := id + "LogGroup"
	t.Add(logGroup, Resource{
		Type: "AWS::Logs::LogGroup",
		Properties: map[string]any{
			"LogGroupName":    Sub("/aws/lambda/${AWS::StackName}-" + f.Operation),
			"RetentionInDays": Ref("LogRetentionDays"),
		},
	})
	statements := []any{
		map[string]any{
			"Sid":      "WriteOwnLogs",
			"Effect":   "Allow",
			"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": []any{Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${AWS::StackName}-" + f.Operation + ":*")},
		},
		map[string]any{
			"Sid":      "WriteTraces",
			"Effect":   "Allow",
			"Action":   TraceActions,
			"Resource": "*",
		},
	}
	statements = append(statements, networkInterfaceStatements()...)
	for _, st := range f.Statements {
		m := map[string]any{"Sid": st.Sid, "Effect": "Allow", "Action": st.Actions, "Resource": st.Resources}
		if st.Condition != nil {
			m["Condition"] = st.Condition
		}
		statements = append(statements, m)
	}
	t.Add(RoleLogicalID(f.Operation), Resource{
		Type: "AWS::IAM::Role",
		Properties: map[string]any{
			"Description": Sub("Role of ${AWS::StackName}-" + f.Operation),
			"AssumeRolePolicyDocument": map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
				}},
			},
			"Policies": []any{map[string]any{
				"PolicyName":     f.Operation,
				"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": statements},
			}},
		},
	})
	env := map[string]any{EnvServiceVersion: Ref("ServiceVersion")}
	for k, v := range f.Env {
		env[k] = v
	}
	props := map[string]any{
		"FunctionName":  functionName(f.Operation),
		"Description":   fmt.Sprintf("%s: %s", s.Name, f.Operation),
		"Runtime":       "provided.al2023",
		"Handler":       "bootstrap",
		"Architectures": []any{Ref("Architecture")},
		"MemorySize":    Ref("MemorySize"),
		"Timeout":       f.Timeout,
		"Role":          GetAtt(RoleLogicalID(f.Operation), "Arn"),
		"Code":          map[string]any{"S3Bucket": Ref("ArtifactBucket"), "S3Key": Ref(CodeKeyParameter(f.Operation))},
		"Environment":   map[string]any{"Variables": env},
		"TracingConfig": map[string]any{"Mode": "Active"},
		// JSON lines, so Lambda filters them by the LogLevel parameter
		// (and its own platform lines at WARN).
		"LoggingConfig": map[string]any{
			"LogGroup": Ref(logGroup), "LogFormat": "JSON",
			"ApplicationLogLevel": map[string]any{"Fn::FindInMap": []any{"LogLevels", Ref("LogLevel"), "Lambda"}},
			"SystemLogLevel":      "WARN",
		},
		"VpcConfig": If(privateCondition, map[string]any{
			"SubnetIds": Ref(ParamSubnetIDs), "SecurityGroupIds": []any{Ref(ParamFunctionSecurityGroupID)},
		}, NoValue),
	}
	if f.Waits {
		props["ReservedConcurrentExecutions"] = If(reservedCondition, Ref("WaitingConcurrency"), NoValue)
	}
	t.Add(FunctionLogicalID(f.Operation), Resource{
		Type: "AWS::Lambda::Function", Properties: props,
		// The security group parameter is empty for public stages, which
		// leave VpcConfig out; cfn-lint checks its default as an id anyway.
		Metadata: map[string]any{"cfn-lint": map[string]any{"config": map[string]any{"ignore_checks": []string{"W1030"}}}},
	})
	if f.Internal {
		return
	}
	t.Add(id+"Permission", Resource{
		Type: "AWS::Lambda::Permission",
		Properties: map[string]any{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": GetAtt(FunctionLogicalID(f.Operation), "Arn"),
			"Principal":    "apigateway.amazonaws.com",
			"SourceArn":    Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"),
		},
	})
}

// allowedEndpoints are the VPC endpoints a private API admits: the network
// stack's and the extra ones.
var allowedEndpoints = If(extraEndpoints,
	map[string]any{"Fn::Split": []any{",", map[string]any{"Fn::Join": []any{",", []any{
		Ref(ParamAPIEndpointID), map[string]any{"Fn::Join": []any{",", Ref(ParamExtraVpcEndpointIDs)}},
	}}}}},
	[]any{Ref(ParamAPIEndpointID)})

// PrivatePolicy is a private API's resource policy: anyone may invoke it,
// but only through one of the endpoints; a call from anywhere else is
// denied explicitly, whatever else allows it.
func PrivatePolicy(endpoints any) map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "InvokeThroughTheEndpoints", "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
			map[string]any{
				"Sid": "DenyEveryOtherSource", "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
				"Condition": map[string]any{"StringNotEquals": map[string]any{"aws:SourceVpce": endpoints}},
			},
		},
	}
}

// TraceActions are what the X-Ray daemon in a function's execution
// environment does with its role (active tracing); they support no
// resource-level permission.
var TraceActions = []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}

// NetworkInterfaceActions are what Lambda does with a private function's
// role to attach it to its subnets: describing first, then the rest.
var NetworkInterfaceActions = []string{
	"ec2:DescribeNetworkInterfaces",
	"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses",
}

// networkInterfaceStatements let Lambda attach a private function to its
// subnets: it manages the function's network interfaces with the
// function's role. Creating, deleting and addressing them is scoped to the
// network stack's VPC (its interfaces and subnets) and the functions'
// security group; ec2:DescribeNetworkInterfaces supports no resource-level
// permission, so it alone is on "*". Public stages get neither statement.
func networkInterfaceStatements() []any {
	inVpc := Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${" + ParamVpcID + "}")
	return []any{
		If(privateCondition, map[string]any{
			"Sid": "DescribeNetworkInterfaces", "Effect": "Allow", "Action": NetworkInterfaceActions[:1], "Resource": "*",
		}, NoValue),
		If(privateCondition, map[string]any{
			"Sid": "ManageNetworkInterfacesInTheVpc", "Effect": "Allow",
			"Action": NetworkInterfaceActions[1:],
			"Resource": []any{
				Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*"),
				Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/*"),
				Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${" + ParamFunctionSecurityGroupID + "}"),
			},
			"Condition": map[string]any{"ArnEquals": map[string]any{"ec2:Vpc": inVpc}},
		}, NoValue),
	}
}

func addAPI(t *Template, s Service, values map[string]string) {
	t.Add("Api", Resource{
		Type: "AWS::ApiGateway::RestApi",
		Properties: map[string]any{
			"Name":        Sub("${AWS::StackName}"),
			"Description": s.Description,
			"EndpointConfiguration": map[string]any{
				"Types":          []any{If(privateCondition, "PRIVATE", "REGIONAL")},
				"VpcEndpointIds": If(privateCondition, allowedEndpoints, NoValue),
			},
			"Policy":                    If(privateCondition, PrivatePolicy(allowedEndpoints), NoValue),
			"DisableExecuteApiEndpoint": false,
		},
	})
	// Resources: one per distinct path prefix.
	paths := map[string]bool{}
	for _, r := range s.Routes {
		segs := strings.Split(strings.Trim(r.Pattern, "/"), "/")
		for i := range segs {
			paths["/"+strings.Join(segs[:i+1], "/")] = true
		}
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted) // parents before children
	for _, p := range sorted {
		parent := GetAtt("Api", "RootResourceId")
		if i := strings.LastIndex(p, "/"); i > 0 {
			parent = Ref(resourceLogicalID(p[:i]))
		}
		t.Add(resourceLogicalID(p), Resource{
			Type: "AWS::ApiGateway::Resource",
			Properties: map[string]any{
				"RestApiId": Ref("Api"),
				"ParentId":  parent,
				"PathPart":  p[strings.LastIndex(p, "/")+1:],
			},
		})
	}
	methods := make([]string, 0, len(s.Routes))
	hash := sha256.New()
	for _, r := range s.Routes {
		id := MethodLogicalID(r)
		methods = append(methods, id)
		_, _ = fmt.Fprintf(hash, "%s %s %s\n", r.Method, r.Pattern, r.Operation)
		t.Add(id, Resource{
			Type: "AWS::ApiGateway::Method",
			Properties: map[string]any{
				"RestApiId":         Ref("Api"),
				"ResourceId":        Ref(resourceLogicalID(r.Pattern)),
				"HttpMethod":        r.Method,
				"AuthorizationType": If(iamCondition, AuthIAM, AuthNone),
				"ApiKeyRequired":    If(apiKeyCondition, true, false),
				"OperationName":     r.Operation,
				"Integration": map[string]any{
					"Type":                  "AWS_PROXY",
					"IntegrationHttpMethod": "POST",
					"Uri": Sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${" +
						FunctionLogicalID(r.Operation) + ".Arn}/invocations"),
				},
			},
		})
	}
	sort.Strings(methods)
	// A new deployment whenever what the stage snapshots changes: the
	// methods and the API as declared, and the parameter values they take.
	for _, id := range append(append([]string{"Api"}, methods...), resourceIDs(t)...) {
		b, _ := json.Marshal(t.Resources[id]) // plain values always marshal
		_, _ = fmt.Fprintf(hash, "%s %s\n", id, b)
	}
	for _, name := range SnapshotParameters {
		p, declared := t.Parameters[name]
		if !declared {
			continue
		}
		v, ok := values[name]
		if !ok {
			v = fmt.Sprint(p.Default)
		}
		_, _ = fmt.Fprintf(hash, "%s=%s\n", name, v)
	}
	deployment := "Deployment" + hex.EncodeToString(hash.Sum(nil))[:10]
	t.Add(deployment, Resource{
		Type:       "AWS::ApiGateway::Deployment",
		DependsOn:  methods,
		Properties: map[string]any{"RestApiId": Ref("Api"), "Description": "snapshot " + hex.EncodeToString(hash.Sum(nil))[:10]},
	})
	t.Add("AccessLogGroup", Resource{
		Type: "AWS::Logs::LogGroup",
		Properties: map[string]any{
			"LogGroupName":    Sub("/aws/apigateway/${AWS::StackName}-access"),
			"RetentionInDays": Ref("LogRetentionDays"),
		},
	})
	t.Add("ApiStage", Resource{
		Type: "AWS::ApiGateway::Stage",
		Properties: map[string]any{
			"RestApiId":      Ref("Api"),
			"DeploymentId":   Ref(deployment),
			"StageName":      Ref("Stage"),
			"TracingEnabled": true,
			"AccessLogSetting": map[string]any{
				"DestinationArn": GetAtt("AccessLogGroup", "Arn"),
				"Format": `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller",` +
					`"apiKeyId":"$context.identity.apiKeyId","requestTime":"$context.requestTime","method":"$context.httpMethod",` +
					`"path":"$context.resourcePath","status":"$context.status","latencyMs":"$context.responseLatency",` +
					`"integrationLatencyMs":"$context.integrationLatency","responseLength":"$context.responseLength"}`,
			},
			"MethodSettings": []any{map[string]any{
				"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": true,
				"ThrottlingRateLimit": Ref("ThrottleRateLimit"), "ThrottlingBurstLimit": Ref("ThrottleBurstLimit"),
			}},
		},
	})
	t.Add("UsagePlan", Resource{
		Type:      "AWS::ApiGateway::UsagePlan",
		Condition: apiKeyCondition,
		DependsOn: []string{"ApiStage"},
		Properties: map[string]any{
			"UsagePlanName": Sub("${AWS::StackName}"),
			"Description":   "Keys of the consumers of " + s.Name,
			"ApiStages":     []any{map[string]any{"ApiId": Ref("Api"), "Stage": Ref("Stage")}},
			"Throttle":      map[string]any{"RateLimit": Ref("KeyThrottleRateLimit"), "BurstLimit": Ref("KeyThrottleBurstLimit")},
			"Quota":         map[string]any{"Limit": Ref("QuotaPerDay"), "Period": "DAY"},
		},
	})
	t.Outputs["ApiUrl"] = Output{Description: "Invoke URL of the stage", Value: Sub("https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}")}
	t.Outputs["ApiId"] = Output{Description: "REST API id", Value: Ref("Api")}
	if _, ok := t.Parameters[ParamLegacyRoutes]; ok {
		t.Outputs[ParamLegacyRoutes] = Output{Description: "Whether the stage serves the routes of the API the service replaced", Value: Ref(ParamLegacyRoutes)}
	}
	t.Outputs["UsagePlanId"] = Output{Description: "Usage plan of the API keys", Condition: apiKeyCondition, Value: Ref("UsagePlan")}
}
