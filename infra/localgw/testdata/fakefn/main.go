// Command fakefn is a Lambda function for the local gateway's tests. Its
// event says what to do; FAKE_INIT makes its init fail.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type command struct {
	Action string `json:"action"`
	Ms     int    `json:"ms"`
	MB     int    `json:"mb"`
	Path   string `json:"path"`
}

// kept holds what "allocate" allocates, so it stays resident.
var kept [][]byte

func main() {
	switch os.Getenv("FAKE_INIT") {
	case "exit":
		os.Stderr.WriteString("cannot read configuration\n")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var cmd command
	_ = json.Unmarshal(raw, &cmd)
	var proxy events.APIGatewayProxyRequest
	if json.Unmarshal(raw, &proxy) == nil && proxy.HTTPMethod != "" {
		cmd.Action = proxy.QueryStringParameters["action"]
		if cmd.Action == "" {
			cmd.Action = "proxy"
		}
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	switch cmd.Action {
	case "sleep":
		time.Sleep(time.Duration(cmd.Ms) * time.Millisecond)
		return map[string]any{"slept": cmd.Ms, "pid": os.Getpid()}, nil
	case "error":
		return nil, errors.New("boom")
	case "allocate":
		for range cmd.MB {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			kept = append(kept, b)
		}
		return map[string]any{"allocatedMB": cmd.MB}, nil
	case "write":
		if err := os.WriteFile(cmd.Path, []byte("x"), 0o600); err != nil {
			return map[string]any{"written": false, "error": err.Error()}, nil
		}
		return map[string]any{"written": true}, nil
	case "crash":
		os.Exit(2)
	case "badproxy":
		return "not a proxy response", nil
	case "slowproxy":
		time.Sleep(3 * time.Second)
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	case "binary":
		return events.APIGatewayProxyResponse{
			StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body: "AAEC", IsBase64Encoded: true,
		}, nil
	case "merge":
		return events.APIGatewayProxyResponse{
			StatusCode:        200,
			Headers:           map[string]string{"X-Single": "s", "X-Both": "from-headers"},
			MultiValueHeaders: map[string][]string{"X-Both": {"m1", "m2"}, "X-Multi": {"a", "b"}},
		}, nil
	case "huge":
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: strings.Repeat("x", 6<<20+200)}, nil
	case "proxy":
		body, _ := json.Marshal(map[string]any{"event": proxy, "pid": os.Getpid(), "env": os.Getenv("GREETING"), "functionArn": lc.InvokedFunctionArn})
		return events.APIGatewayProxyResponse{
			StatusCode:        201,
			MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}, "Content-Type": {"application/json"}},
			Body:              string(body),
		}, nil
	}
	return map[string]any{
		"pid": os.Getpid(), "requestId": lc.AwsRequestID, "deadlineIn": time.Until(deadline).Milliseconds(),
		"function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "greeting": os.Getenv("GREETING"),
	}, nil
}
