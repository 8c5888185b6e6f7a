package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// nodeReference measures the init time of the Node.js 20 reference
// function (infra/bench/nodefn: an AWS SDK v3 DynamoDB client built at
// init) under the same Runtime API host, n fresh processes. It needs node
// and npm; without them it says why and measures nothing.
func nodeReference(ctx context.Context, root, work string, env []string, n int) ([]time.Duration, string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, "node is not installed", nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, "npm is not installed", nil
	}
	dir := filepath.Join(work, "nodefn")
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // build directory
		return nil, "", fmt.Errorf("node reference: %w", err)
	}
	for _, f := range []string{"package.json", "package-lock.json", "index.mjs"} {
		b, err := os.ReadFile(filepath.Join(root, "infra", "bench", "nodefn", f)) //nolint:gosec // the repository's own file
		if err != nil {
			return nil, "", fmt.Errorf("node reference: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil { //nolint:gosec // build directory
			return nil, "", fmt.Errorf("node reference: %w", err)
		}
	}
	bootstrap := "#!/bin/sh\nexec " + node + " \"$(dirname \"$0\")/index.mjs\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(bootstrap), 0o755); err != nil { //nolint:gosec // an executable by design
		return nil, "", fmt.Errorf("node reference: %w", err)
	}
	// npm ci installs exactly the committed lockfile (versions and
	// integrity hashes), and fails rather than resolve anything anew.
	install := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--omit=dev") //nolint:gosec // npm from the PATH
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("npm install failed: %v: %s", err, out), nil
	}
	fn := localgw.Function{Name: "node20-reference", Dir: dir, Timeout: 30 * time.Second, Memory: 128}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var inits []time.Duration
	for range n {
		info, err := firstInvocation(ctx, fn, env, []byte(`{"path":"/"}`), logger)
		if err != nil {
			return nil, "", fmt.Errorf("node reference: %w", err)
		}
		inits = append(inits, info.Init)
	}
	return inits, "", nil
}
