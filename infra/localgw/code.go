package localgw

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client used to fetch code.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// CodeSource fetches and unpacks functions' deployment packages.
type CodeSource struct {
	HTTP *http.Client
	S3   S3API
	// Endpoint is the emulator's endpoint; code locations on other hosts
	// are not fetched over HTTP (an emulator's locations are often
	// placeholders on AWS hosts), but looked up by key in Buckets.
	Endpoint string
	// Buckets may hold the code under the location's key (the deploy
	// tool's artifact bucket).
	Buckets []string
	// CacheDir keeps unpacked code by content hash.
	CacheDir string
}

// Fetch returns a directory holding the function's unpacked code, checked
// against the function's CodeSha256.
func (c CodeSource) Fetch(ctx context.Context, fc FunctionConfig) (string, error) {
	name := fc.Name
	if fc.CodeSHA256 != "" {
		sum, err := base64.StdEncoding.DecodeString(fc.CodeSHA256)
		if err == nil {
			name = hex.EncodeToString(sum)
		}
	}
	dir := filepath.Join(c.CacheDir, name)
	if st, err := os.Stat(filepath.Join(dir, "bootstrap")); err == nil && st.Mode()&0o111 != 0 && fc.CodeSHA256 != "" {
		return dir, nil
	}
	zipped, err := c.download(ctx, fc)
	if err != nil {
		return "", fmt.Errorf("code of %s: %w", fc.Name, err)
	}
	if fc.CodeSHA256 != "" {
		sum := sha256.Sum256(zipped)
		if got := base64.StdEncoding.EncodeToString(sum[:]); got != fc.CodeSHA256 {
			return "", fmt.Errorf("code of %s: sha256 %s, but the function says %s", fc.Name, got, fc.CodeSHA256)
		}
	}
	if err := unzip(zipped, dir); err != nil {
		return "", fmt.Errorf("code of %s: %w", fc.Name, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
		return "", fmt.Errorf("code of %s has no bootstrap executable (runtime provided.al2023 needs one)", fc.Name)
	}
	return dir, nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && ua.Host == ub.Host
}

func (c CodeSource) download(ctx context.Context, fc FunctionConfig) ([]byte, error) {
	if fc.CodeLocation == "" {
		return nil, errors.New("the function has no code location")
	}
	if c.Endpoint == "" || sameHost(fc.CodeLocation, c.Endpoint) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fc.CodeLocation, nil)
		if err != nil {
			return nil, fmt.Errorf("code location: %w", err)
		}
		client := c.HTTP
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("download code: %w", err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("download code: status %d", resp.StatusCode)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		if err != nil {
			return nil, fmt.Errorf("download code: %w", err)
		}
		return b, nil
	}
	u, err := url.Parse(fc.CodeLocation)
	if err != nil {
		return nil, fmt.Errorf("code location: %w", err)
	}
	key := strings.TrimPrefix(u.Path, "/")
	for _, bucket := range c.Buckets {
		out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(out.Body, 256<<20))
		_ = out.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("code location %s is not on the emulator, and no code bucket %v holds its key %s", fc.CodeLocation, c.Buckets, key)
}

func unzip(b []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil { //nolint:gosec // code must be executable
		return fmt.Errorf("unzip: %w", err)
	}
	for _, f := range zr.File {
		target := filepath.Join(tmp, f.Name) //nolint:gosec // checked just below
		if !strings.HasPrefix(target, filepath.Clean(tmp)+string(os.PathSeparator)) {
			return fmt.Errorf("unzip: entry %q leaves the directory", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil { //nolint:gosec // code directory
				return fmt.Errorf("unzip: %w", err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil { //nolint:gosec // code directory
			return fmt.Errorf("unzip: %w", err)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("unzip %s: %w", f.Name, err)
		}
		mode := f.Mode().Perm()
		if f.Name == "bootstrap" {
			mode |= 0o755
		}
		w, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode) //nolint:gosec // inside the code directory
		if err != nil {
			_ = rc.Close()
			return fmt.Errorf("unzip %s: %w", f.Name, err)
		}
		_, err = io.Copy(w, io.LimitReader(rc, 512<<20))
		_ = rc.Close()
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("unzip %s: %w", f.Name, err)
		}
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	return nil
}
