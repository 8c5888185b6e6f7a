// Package e2e tests the deployed system from outside, as a client would:
// API Gateway -> Lambda -> DynamoDB / EC2, deployed by the infra tool, called
// over HTTP, with the backing state checked through the SDK.
//
// E2E_TARGET picks where:
//
//	moto        (the default where no Docker engine answers; CI) moto_server on a
//	            free port, both services deployed with the deploy tool for this
//	            machine's architecture, and the local gateway running them
//	localstack  LocalStack in a container (testcontainers-go), called through its
//	            own execute-api URLs; E2E_LOCALSTACK_IMAGE overrides the image
//	aws         opt-in: stacks already deployed in a real account, stage
//	            E2E_AWS_STAGE (credentials and region as usual)
package e2e
