package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// goBenchmarks runs the Go benchmarks of the inbound path and the routes,
// returning their result lines (benchstat reads the same lines).
func goBenchmarks(ctx context.Context, root string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "2000x", "-count", "1",
		"./pkg/adapters/apigw/", "./services/claims/api/", "./services/ec2power/api/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go benchmarks: %w\n%s", err, out)
	}
	// Keep the header lines (goos, goarch, pkg, cpu) with the results:
	// benchstat reads exactly this format.
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		for _, prefix := range []string{"goos:", "goarch:", "pkg:", "cpu:", "Benchmark"} {
			if strings.HasPrefix(l, prefix) {
				lines = append(lines, l)
			}
		}
	}
	return lines, nil
}

func write(dir string, rep Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // results directory
		return fmt.Errorf("results directory: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil { //nolint:gosec // results are not secret
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(markdown(rep)), 0o644); err != nil { //nolint:gosec // results are not secret
		return fmt.Errorf("write results: %w", err)
	}
	if len(rep.GoBench) > 0 {
		// For benchstat: benchstat old.txt .bench/gobench.txt
		if err := os.WriteFile(filepath.Join(dir, "gobench.txt"), []byte(strings.Join(rep.GoBench, "\n")+"\n"), 0o644); err != nil { //nolint:gosec // results are not secret
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

func markdown(rep Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", rep.When, rep.Machine)
	b.WriteString("| function | bootstrap MB | zip MB | init p50 / p95 ms (minimal handler beside it) | first invocation ms | warm p50 / p99 ms, memory (minimal handler) | warm p50 / p99 ms, moto | peak RSS MB | AWS calls |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s/%s | %.1f | %.2f | %.2f / %.2f (%.2f) | %.2f | %.3f / %.3f (%.3f) | %.2f / %.2f | %.1f | %s |\n",
			r.Service, r.Function, r.BootstrapMB, r.ZipMB, r.InitP50ms, r.InitP95ms, r.RefInitP50ms, r.FirstMs,
			r.MemP50ms, r.MemP99ms, r.RefWarmP50ms, r.MotoP50ms, r.MotoP99ms, r.PeakRSSMB, r.AWSCalls)
	}
	ops := make([]string, 0, len(rep.RawP50))
	for op := range rep.RawP50 {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	b.WriteString("\nThe same DynamoDB request sent raw to the same moto (p50 ms):")
	for _, op := range ops {
		fmt.Fprintf(&b, " %s %.2f;", op, rep.RawP50[op])
	}
	b.WriteString(" Sizes are for arm64 (as deployed); timings run the host build under the local gateway's Runtime API.\n")
	if rep.NodeInitP50 > 0 {
		fmt.Fprintf(&b, "\nNode.js 20 reference (infra/bench/nodefn: AWS SDK v3 DynamoDB client at init), same host, same run: init p50 %.1f ms, p95 %.1f ms", rep.NodeInitP50, rep.NodeInitP95)
		lo, hi := 0.0, 0.0
		for _, r := range rep.Results {
			if r.InitP50ms <= 0 {
				continue
			}
			x := rep.NodeInitP50 / r.InitP50ms
			if lo == 0 || x < lo {
				lo = x
			}
			hi = max(hi, x)
		}
		fmt.Fprintf(&b, ": the Go functions start %.0f-%.0fx faster.\n", lo, hi)
	} else if rep.NodeSkipped != "" {
		fmt.Fprintf(&b, "\nNode.js reference not measured: %s.\n", rep.NodeSkipped)
	}
	b.WriteString("\nAWS calls per operation (counted by SDK middleware):\n\n")
	keys := make([]string, 0, len(rep.Calls))
	for k := range rep.Calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, rep.Calls[k])
	}
	if len(rep.GoBench) > 0 {
		b.WriteString("\nGo benchmarks (`go test -bench . -benchmem`; also in gobench.txt for benchstat):\n\n```\n")
		for _, l := range rep.GoBench {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}
	if len(rep.Violations) == 0 {
		b.WriteString("\nEvery budget holds.\n")
	} else {
		b.WriteString("\nBudgets broken:\n\n")
		for _, v := range rep.Violations {
			b.WriteString("- " + v + "\n")
		}
	}
	return b.String()
}
