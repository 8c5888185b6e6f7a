package contracts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/contracts"
	"github.com/hexlambda/hexlambda/infra/workspace"
)

func api(t *testing.T, service string) []byte {
	t.Helper()
	root, err := workspace.Root()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "services", service, "api", "openapi.yaml"))
	require.NoError(t, err)
	return b
}

func edit(t *testing.T, doc []byte, old, replacement string) []byte {
	t.Helper()
	if !strings.Contains(string(doc), old) {
		t.Fatalf("the document has no %q", old)
	}
	return []byte(strings.Replace(string(doc), old, replacement, 1))
}

// withoutInstanceState removes the state an instance reports, which
// ec2powerctl reads.
func withoutInstanceState(t *testing.T, doc []byte) []byte {
	t.Helper()
	doc = edit(t, doc, "required: [instanceId, type, state, hibernationConfigured]", "required: [instanceId, type, hibernationConfigured]")
	return edit(t, doc, "        type: { type: string }\n        state: { $ref: '#/components/schemas/State' }\n", "        type: { type: string }\n")
}

func TestAnUnchangedAPIPasses(t *testing.T) {
	t.Parallel()
	for _, svc := range []string{"claims", "ec2power"} {
		v, err := contracts.Check(svc, api(t, svc), api(t, svc), nil)
		require.NoError(t, err)
		assert.Empty(t, v.Breaking, svc)
		assert.True(t, v.OK())
	}
}

// ec2powerctl reads an instance's state: removing it breaks the CLI.
func TestRemovingAResponseFieldIsRefused(t *testing.T) {
	t.Parallel()
	base := api(t, "ec2power")
	head := withoutInstanceState(t, base)
	v, err := contracts.Check("ec2power", base, head, nil)
	require.NoError(t, err)
	require.False(t, v.OK())
	assert.Contains(t, strings.Join(v.Breaking, "\n"), "state", "the change is named")
	report, err := contracts.Report([]contracts.Verdict{v})
	require.ErrorIs(t, err, contracts.ErrBroken)
	assert.Contains(t, report, "keeps major 1")
}

// The replaced claims API's clients send memberId: renaming it breaks them.
func TestRenamingAParameterOfTheReplacedAPIIsRefused(t *testing.T) {
	t.Parallel()
	base := api(t, "claims")
	head := strings.ReplaceAll(string(base), "- { name: memberId, in: query, required: true,", "- { name: member, in: query, required: true,")
	v, err := contracts.Check("claims", base, []byte(head), nil)
	require.NoError(t, err)
	require.False(t, v.OK())
	assert.Contains(t, strings.Join(v.Breaking, "\n"), "member", "the change is named")
}

func TestABreakingChangeNeedsANewMajorVersionAndAChangelogEntry(t *testing.T) {
	t.Parallel()
	base := api(t, "ec2power")
	removed := withoutInstanceState(t, base)
	current := regexp.MustCompile(`(?m)^  version: 1\.\d+\.\d+$`).Find(removed)
	require.NotNil(t, current, "the document's version is 1.x")
	bumped := edit(t, removed, string(current)+"\n", "  version: 2.0.0\n")

	v, err := contracts.Check("ec2power", base, bumped, []byte("# Changelog\n\n## 1.1.0\n"))
	require.NoError(t, err)
	assert.False(t, v.OK(), "a new major version without a word in the changelog")
	assert.Contains(t, v.Reason, "CHANGELOG.md")

	v, err = contracts.Check("ec2power", base, bumped, []byte("# Changelog\n\n## 2.0.0\n\nInstances no longer report their state.\n"))
	require.NoError(t, err)
	assert.True(t, v.OK(), "released as a new major version, explained")
	assert.NotEmpty(t, v.Breaking, "and still listed")
}

func TestAddingIsNotBreaking(t *testing.T) {
	t.Parallel()
	base := api(t, "ec2power")
	head := edit(t, base, "        stateReason: { type: string }\n        group: { type: string }\n", "        stateReason: { type: string }\n        group: { type: string }\n        zone: { type: string }\n")
	v, err := contracts.Check("ec2power", base, head, nil)
	require.NoError(t, err)
	assert.Empty(t, v.Breaking)
}
