package deploy_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/infra/workspace"
)

// copyRepo copies the repository's tracked files into a temporary
// directory, a scratch copy to change.
func copyRepo(t *testing.T) string {
	t.Helper()
	root, err := workspace.Root()
	require.NoError(t, err)
	out, err := exec.CommandContext(t.Context(), "git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(dst, f), b, 0o600))
	}
	return dst
}

func zips(t *testing.T, root, service string) map[string]string {
	t.Helper()
	svc, err := stacks.Lookup(service)
	require.NoError(t, err)
	dist := t.TempDir()
	arch, err := deploy.ParseArch("host") // shares the build cache with the other tests
	require.NoError(t, err)
	_, err = deploy.Build(context.Background(), root, dist, svc, arch, io.Discard)
	require.NoError(t, err)
	arts, err := deploy.Package(dist, svc)
	require.NoError(t, err)
	out := map[string]string{}
	for _, a := range arts {
		out[a.Operation] = a.SHA256
	}
	return out
}

// A team ships its service alone: a change under services/claims/ leaves
// every ec2power artefact byte-identical (so deploying ec2power is a
// no-op), while the claims artefacts it touches do change.
func TestAServiceChangeLeavesTheOtherServicesArtefactsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both services twice")
	}
	t.Parallel()
	repo := copyRepo(t)
	powerBefore, claimsBefore := zips(t, repo, "ec2power"), zips(t, repo, "claims")

	domain := filepath.Join(repo, "services", "claims", "domain", "claim.go")
	b, err := os.ReadFile(domain)
	require.NoError(t, err)
	b = bytes.Replace(b, []byte(`"must be at most %d characters"`), []byte(`"must have at most %d characters"`), 1)
	require.NoError(t, os.WriteFile(domain, b, 0o600))

	assert.Equal(t, powerBefore, zips(t, repo, "ec2power"), "ec2power's zips are byte-identical")
	claimsAfter := zips(t, repo, "claims")
	assert.NotEqual(t, claimsBefore[("createClaim")], claimsAfter["createClaim"], "the change reached the claims functions that use it")
}
