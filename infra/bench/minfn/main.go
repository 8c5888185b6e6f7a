// Command minfn is the bench's reference Lambda function: the smallest
// aws-lambda-go handler that answers an API Gateway event, with no AWS
// client and no configuration. Built and run beside the functions in the
// same bench run, its init and warm times are what the Go runtime and the
// Runtime API cost on that machine at that moment, and the functions'
// budgets are ratios to them.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, _ json.RawMessage) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{}`, Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
