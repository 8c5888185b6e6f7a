// Package deploy builds, packages and deploys the services: Lambda
// bootstrap binaries, deterministic zips uploaded by content hash, and
// CloudFormation stacks created or updated through change sets. The same
// code deploys to AWS, LocalStack or moto; only AWS_ENDPOINT_URL differs.
package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// Arch is a Lambda instruction set and the Go architecture that targets it.
type Arch struct {
	Lambda string // arm64 or x86_64
	GOARCH string // arm64 or amd64
}

// ParseArch reads arm64, amd64/x86_64, or host (this machine's).
func ParseArch(s string) (Arch, error) {
	if s == "host" {
		s = runtime.GOARCH
	}
	switch s {
	case "arm64":
		return Arch{Lambda: "arm64", GOARCH: "arm64"}, nil
	case "amd64", "x86_64":
		return Arch{Lambda: "x86_64", GOARCH: "amd64"}, nil
	default:
		return Arch{}, fmt.Errorf("unknown architecture %q (arm64, amd64, host)", s)
	}
}

// Artifact is one function's built and packaged code.
type Artifact struct {
	Operation string
	Binary    string
	Zip       []byte
	SHA256    string
	// Key is the S3 key: SERVICE/OPERATION/SHA256.zip.
	Key string
}

// Build compiles every function of svc for arch into
// DIST/SERVICE/OPERATION/bootstrap, from the repository at root.
func Build(ctx context.Context, root, dist string, svc cfn.Service, arch Arch, log io.Writer) ([]string, error) {
	var out []string
	for _, f := range svc.Functions {
		bin := filepath.Join(dist, svc.Name, f.Operation, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil { //nolint:gosec // build output
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(bin), err)
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", //nolint:gosec // builds the packages the service declares
			"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
			"-ldflags=-s -w", "-o", bin, f.Package)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch.GOARCH)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build %s: %w", f.Operation, err)
		}
		st, err := os.Stat(bin)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", f.Operation, err)
		}
		_, _ = fmt.Fprintf(log, "built %-40s %6.1f MB  (%s)\n", bin, float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond))
		out = append(out, bin)
	}
	return out, nil
}

// fixedTime is the modification time of every zip entry, so the same binary
// always makes the same zip.
var fixedTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip packages a bootstrap binary as a Lambda zip, deterministically: one
// entry named bootstrap, mode 0755, fixed time, deflated.
func Zip(binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: fixedTime}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	if _, err := w.Write(binary); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), nil
}

// Package zips the built binaries of svc and names them by content hash.
func Package(dist string, svc cfn.Service) ([]Artifact, error) {
	out := make([]Artifact, 0, len(svc.Functions))
	for _, f := range svc.Functions {
		bin := filepath.Join(dist, svc.Name, f.Operation, "bootstrap")
		b, err := os.ReadFile(bin) //nolint:gosec // our own build output
		if err != nil {
			return nil, fmt.Errorf("package %s (build it first): %w", f.Operation, err)
		}
		z, err := Zip(b)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(bin), "function.zip"), z, 0o644); err != nil { //nolint:gosec // build output
			return nil, fmt.Errorf("write zip: %w", err)
		}
		sum := sha256.Sum256(z)
		hexSum := hex.EncodeToString(sum[:])
		out = append(out, Artifact{
			Operation: f.Operation, Binary: bin, Zip: z, SHA256: hexSum,
			Key: svc.Name + "/" + f.Operation + "/" + hexSum + ".zip",
		})
	}
	return out, nil
}
