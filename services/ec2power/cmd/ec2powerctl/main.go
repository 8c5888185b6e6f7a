// Command ec2powerctl starts, stops and inspects ec2power instances from a
// shell or a CI pipeline.
//
//	ec2powerctl start|stop|status INSTANCE_ID [--wait] [--json] ...
//	ec2powerctl start|stop|status --group NAME [--wait]
//	ec2powerctl list
//	ec2powerctl history INSTANCE_ID [--limit N]
//	ec2powerctl help [COMMAND] | completion bash|zsh|fish|powershell | --version
//
// Flags go anywhere on the line. With --wait, network errors and the
// gateway's 429, 502, 503 and 504 are retried with jittered exponential
// backoff within --timeout.
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
