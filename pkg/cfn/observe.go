package cfn

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Alarm thresholds.
const (
	// API5xxRate is the share of 5XX answers over five minutes that alarms.
	API5xxRate = 0.05
	// DurationShareOfTimeout is how close to its timeout a function's p99
	// duration may come before it alarms.
	DurationShareOfTimeout = 0.8
)

// taggable lists the resource types whose Tags property is a list of
// Key/Value pairs.
var taggable = map[string]bool{
	"AWS::ApiGateway::RestApi": true, "AWS::ApiGateway::Stage": true, "AWS::ApiGateway::UsagePlan": true,
	"AWS::CloudWatch::Alarm": true, "AWS::DynamoDB::Table": true, "AWS::IAM::Role": true,
	"AWS::Lambda::Function": true, "AWS::Logs::LogGroup": true, "AWS::S3::Bucket": true,
	"AWS::EC2::VPC": true, "AWS::EC2::Subnet": true, "AWS::EC2::RouteTable": true, "AWS::EC2::SecurityGroup": true,
	"AWS::EC2::VPCEndpoint": true,
}

// Tag gives every taggable resource of the template the tags service,
// stage and owner (cost allocation), keeping tags it has of other keys.
func Tag(t *Template, service, stage, owner any) {
	for id, r := range t.Resources {
		if !taggable[r.Type] {
			continue
		}
		tags := []any{
			map[string]any{"Key": "service", "Value": service},
			map[string]any{"Key": "stage", "Value": stage},
			map[string]any{"Key": "owner", "Value": owner},
		}
		if old, ok := r.Properties["Tags"].([]any); ok {
			for _, tag := range old {
				if m, ok := tag.(map[string]any); ok && !slices.Contains([]any{"service", "stage", "owner"}, m["Key"]) {
					tags = append(tags, tag)
				}
			}
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		r.Properties["Tags"] = tags
		t.Resources[id] = r
	}
}

// ExportOutputs exports every output as STACK-NAME, for other stacks'
// Fn::ImportValue.
func ExportOutputs(t *Template) {
	for k, o := range t.Outputs {
		if o.Export == nil {
			o.Export = &Export{Name: Sub("${AWS::StackName}-" + k)}
			t.Outputs[k] = o
		}
	}
}

func alarm(t *Template, id, description string, props map[string]any) {
	props["AlarmName"] = Sub("${AWS::StackName}-" + id)
	props["AlarmDescription"] = description
	props["AlarmActions"] = If(alarmTopicCondition, []any{Ref("AlarmTopicArn")}, []any{})
	props["OKActions"] = If(alarmTopicCondition, []any{Ref("AlarmTopicArn")}, []any{})
	props["TreatMissingData"] = "notBreaching"
	t.Add(id, Resource{Type: "AWS::CloudWatch::Alarm", Properties: props})
}

// addAlarms alarms on what tells a service is failing: its API's 5XX rate,
// each function's errors, throttles and p99 duration near its timeout, and
// each table's throttled reads and writes. They notify AlarmTopicArn when
// it is set.
func addAlarms(t *Template, s Service) {
	api := map[string]any{"ApiName": Sub("${AWS::StackName}"), "Stage": Ref("Stage")}
	alarm(t, "Api5xxAlarm", fmt.Sprintf("%s: more than %.0f%% of the API's answers are 5XX over 5 minutes", s.Name, API5xxRate*100), map[string]any{
		"Namespace": "AWS/ApiGateway", "MetricName": "5XXError", "Dimensions": dims(api), "Statistic": "Average",
		"Period": 300, "EvaluationPeriods": 1, "Threshold": API5xxRate, "ComparisonOperator": "GreaterThanThreshold",
	})
	for _, f := range s.Functions {
		fn := map[string]any{"FunctionName": Ref(FunctionLogicalID(f.Operation))}
		id := LogicalName(f.Operation)
		alarm(t, id+"ErrorsAlarm", fmt.Sprintf("%s %s: invocations failed (errors or timeouts)", s.Name, f.Operation), map[string]any{
			"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": dims(fn), "Statistic": "Sum",
			"Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
		})
		alarm(t, id+"ThrottlesAlarm", fmt.Sprintf("%s %s: invocations throttled", s.Name, f.Operation), map[string]any{
			"Namespace": "AWS/Lambda", "MetricName": "Throttles", "Dimensions": dims(fn), "Statistic": "Sum",
			"Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
		})
		alarm(t, id+"DurationAlarm", fmt.Sprintf("%s %s: p99 duration above %.0f%% of its %d s timeout", s.Name, f.Operation, DurationShareOfTimeout*100, f.Timeout), map[string]any{
			"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": dims(fn), "ExtendedStatistic": "p99",
			"Period": 300, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
			"Threshold": float64(f.Timeout) * 1000 * DurationShareOfTimeout, "ComparisonOperator": "GreaterThanThreshold",
		})
	}
	for _, tb := range s.Tables {
		for _, kind := range []string{"Read", "Write"} {
			alarm(t, tb.LogicalID+kind+"ThrottleAlarm", fmt.Sprintf("%s %s: %s requests throttled", s.Name, tb.LogicalID, strings.ToLower(kind)), map[string]any{
				"Namespace": "AWS/DynamoDB", "MetricName": kind + "ThrottleEvents", "Dimensions": dims(map[string]any{"TableName": Ref(tb.LogicalID)}),
				"Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
			})
		}
	}
}

func dims(m map[string]any) []any {
	out := make([]any, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, map[string]any{"Name": k, "Value": m[k]})
	}
	return out
}

// addDashboard is one dashboard per stage: the API's traffic, errors and
// latency; each function's invocations, errors, throttles and p99
// duration; the tables' throttled requests.
func addDashboard(t *Template, s Service) {
	type widget struct {
		Type       string         `json:"type"`
		X          int            `json:"x"`
		Y          int            `json:"y"`
		Width      int            `json:"width"`
		Height     int            `json:"height"`
		Properties map[string]any `json:"properties"`
	}
	graph := func(title, stat string, metrics [][]any) map[string]any {
		return map[string]any{"title": title, "region": "${AWS::Region}", "stat": stat, "period": 300, "view": "timeSeries", "metrics": metrics}
	}
	api := []any{"ApiName", "${AWS::StackName}", "Stage", "${Stage}"}
	var fnMetrics = func(name string) [][]any {
		var out [][]any
		for _, f := range s.Functions {
			out = append(out, []any{"AWS/Lambda", name, "FunctionName", "${AWS::StackName}-" + f.Operation})
		}
		return out
	}
	widgets := []widget{
		{Type: "metric", Width: 12, Height: 6, Properties: graph("API requests and errors", "Sum", [][]any{
			append([]any{"AWS/ApiGateway", "Count"}, api...), append([]any{"AWS/ApiGateway", "4XXError"}, api...), append([]any{"AWS/ApiGateway", "5XXError"}, api...),
		})},
		{Type: "metric", X: 12, Width: 12, Height: 6, Properties: graph("API latency p99 (ms)", "p99", [][]any{
			append([]any{"AWS/ApiGateway", "Latency"}, api...), append([]any{"AWS/ApiGateway", "IntegrationLatency"}, api...),
		})},
		{Type: "metric", Y: 6, Width: 12, Height: 6, Properties: graph("Function invocations", "Sum", fnMetrics("Invocations"))},
		{Type: "metric", X: 12, Y: 6, Width: 12, Height: 6, Properties: graph("Function errors", "Sum", fnMetrics("Errors"))},
		{Type: "metric", Y: 12, Width: 12, Height: 6, Properties: graph("Function throttles", "Sum", fnMetrics("Throttles"))},
		{Type: "metric", X: 12, Y: 12, Width: 12, Height: 6, Properties: graph("Function duration p99 (ms)", "p99", fnMetrics("Duration"))},
	}
	var tables [][]any
	for _, tb := range s.Tables {
		for _, kind := range []string{"Read", "Write"} {
			tables = append(tables, []any{"AWS/DynamoDB", kind + "ThrottleEvents", "TableName", "${" + tb.LogicalID + "}"})
		}
	}
	if len(tables) > 0 {
		widgets = append(widgets, widget{Type: "metric", Y: 18, Width: 24, Height: 6, Properties: graph("Table throttled requests", "Sum", tables)})
	}
	body, _ := json.Marshal(map[string]any{"widgets": widgets}) // plain values always marshal
	t.Add("Dashboard", Resource{Type: "AWS::CloudWatch::Dashboard", Properties: map[string]any{
		"DashboardName": Sub("${AWS::StackName}"),
		"DashboardBody": Sub(string(body)),
	}})
	t.Outputs["DashboardUrl"] = Output{
		Description: "The stage's CloudWatch dashboard",
		Value:       Sub("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${AWS::StackName}"),
	}
}
