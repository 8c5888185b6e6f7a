// Command contracts is the contract gate (go tool task contracts): it
// compares each service's published API (services/NAME/api/openapi.yaml)
// with the same document at a base revision and fails, naming each change,
// when one breaks the API's clients (a removed route, operation, response
// field or enum value, a new required parameter, a narrowed type) unless
// the document's info.version has a new major version that the service's
// CHANGELOG.md has an entry for.
//
//	go run ./infra/cmd/contracts                 # base: the merge base with main
//	go run ./infra/cmd/contracts --base v1.2.0   # or BASE=<ref> go tool task contracts
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hexlambda/hexlambda/infra/contracts"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/infra/workspace"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contracts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", os.Getenv("BASE"), "revision to compare with (default: the merge base with main)")
	root := fs.String("root", "", "repository root (default: the workspace's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *root == "" {
		r, err := workspace.Root()
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "contracts:", err)
			return 2
		}
		*root = r
	}
	if *base == "" {
		*base = mergeBase(ctx, *root)
	}
	var verdicts []contracts.Verdict
	for _, svc := range stacks.Names() {
		path := filepath.Join("services", svc, "api", "openapi.yaml")
		head, err := os.ReadFile(filepath.Join(*root, path)) //nolint:gosec // the repository's own file
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "contracts:", err)
			return 1
		}
		old, err := git(ctx, *root, "show", *base+":"+filepath.ToSlash(path))
		if err != nil {
			_, _ = fmt.Fprintf(stdout, "%s: no API at %s; nothing to compare\n", svc, *base)
			continue
		}
		changelog, _ := os.ReadFile(filepath.Join(*root, "services", svc, "CHANGELOG.md")) //nolint:gosec // the repository's own file
		v, err := contracts.Check(svc, []byte(old), head, changelog)
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "contracts:", err)
			return 1
		}
		verdicts = append(verdicts, v)
	}
	report, err := contracts.Report(verdicts)
	_, _ = fmt.Fprintf(stdout, "compared with %s\n%s", *base, report)
	if errors.Is(err, contracts.ErrBroken) {
		return 1
	}
	return 0
}

// mergeBase is the merge base of HEAD with main (or origin/main); HEAD
// itself when there is none.
func mergeBase(ctx context.Context, root string) string {
	for _, ref := range []string{"main", "origin/main"} {
		if out, err := git(ctx, root, "merge-base", "HEAD", ref); err == nil {
			return strings.TrimSpace(out)
		}
	}
	return "HEAD"
}

func git(ctx context.Context, root string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...) //nolint:gosec // fixed command
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
