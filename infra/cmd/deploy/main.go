// Command deploy builds, packages and deploys the services' stacks, one
// service at a time, to AWS, LocalStack or moto (AWS_ENDPOINT_URL).
//
//	deploy bootstrap                                  the shared artifact bucket stack
//	deploy build    --service claims [--arch arm64]   bootstrap binaries in dist/
//	deploy package  --service claims [--arch arm64]   deterministic zips, named by content hash
//	deploy deploy   --service claims --stage dev [--param Auth=API_KEY ...]
//	deploy deploy   --service network --stage dev [--param VpcCidr=10.40.0.0/16 --param AZCount=2]
//	deploy deploy   --service claims --stage dev --param Network=private   (in network-dev)
//	deploy diff     --service claims --stage dev      what a deploy would change
//	deploy outputs  --service claims --stage dev      the stack's outputs (API URL, ...)
//	deploy destroy  --service claims --stage dev [--force for production stages]
//	deploy keys issue|list|revoke --service ec2power --stage dev [--consumer jenkins]
//	deploy templates [--out infra/cloudformation] [--check]
//
// Progress goes to stderr; results (outputs, keys) to stdout.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal, where a person can answer a
// question (/dev/null, a character device too, is not one).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, func(ctx context.Context) (aws.Config, error) {
		return config.LoadDefaultConfig(ctx)
	}, Console{In: os.Stdin, Terminal: isTerminal(os.Stdin)})
	stop()
	os.Exit(code)
}
