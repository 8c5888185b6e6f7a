// Command bench measures what the functions cost and checks the budgets:
// package sizes, init time, first and warm invocation latency through the
// Lambda Runtime API (local gateway runtime) with the memory adapters and
// with DynamoDB/EC2 on moto, peak RSS, AWS calls per operation, and the Go
// benchmarks of the inbound path. It prints one table, writes it as JSON and
// Markdown under .bench/, and exits non-zero naming every budget broken.
//
//	go tool task bench            # or: go run ./infra/cmd/bench -n 1000 -inits 20
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var o options
	flag.IntVar(&o.n, "n", 1000, "warm invocations per function and variant")
	flag.IntVar(&o.inits, "inits", 20, "fresh processes per function for the init time")
	flag.StringVar(&o.out, "out", ".bench", "directory for results.json and results.md")
	flag.BoolVar(&o.goBench, "go-bench", true, "run the Go benchmarks too")
	flag.Parse()
	code, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	os.Exit(code)
}
