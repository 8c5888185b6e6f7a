package workspace_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/workspace"
)

func TestRootFindsGoWork(t *testing.T) {
	root, err := workspace.Root()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.work"))
	require.NoError(t, err)

	t.Chdir(t.TempDir())
	_, err = workspace.Root()
	assert.ErrorIs(t, err, workspace.ErrNotFound)
}
