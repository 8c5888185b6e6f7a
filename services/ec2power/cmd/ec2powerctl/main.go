// Command ec2powerctl starts, stops and inspects ec2power instances from a
// shell or a CI pipeline.
//
//	ec2powerctl [flags] start|stop|status INSTANCE_ID
//	ec2powerctl [flags] --group NAME start|stop|status
//	ec2powerctl [flags] list
//	ec2powerctl [flags] history INSTANCE_ID
//
// The base URL comes from --url or EC2POWER_URL. Requests carry the API key
// in EC2POWER_API_KEY as x-api-key, or, with --sigv4 (or EC2POWER_AUTH=sigv4),
// are signed with AWS Signature Version 4 for execute-api using the standard
// AWS credential chain. Progress goes to stderr, the result to stdout (JSON
// with --json).
//
// Exit codes: 0 success, 1 action failed, 2 usage error, 3 timed out,
// 4 denied.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}
