package cli_test

import (
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"

	"github.com/hexlambda/hexlambda/pkg/cli"
)

func TestCommandFirst(t *testing.T) {
	t.Parallel()
	root := &cobra.Command{Use: "tool"}
	root.PersistentFlags().String("url", "", "")
	root.PersistentFlags().Bool("json", false, "")
	start := &cobra.Command{Use: "start"}
	start.Flags().Bool("wait", false, "")
	start.Flags().Duration("timeout", 0, "")
	keys := &cobra.Command{Use: "keys"}
	issue := &cobra.Command{Use: "issue"}
	issue.Flags().StringP("service", "s", "", "")
	keys.AddCommand(issue)
	root.AddCommand(start, keys)
	for _, c := range []struct{ in, want []string }{
		{[]string{"start", "i-1", "--wait"}, []string{"start", "i-1", "--wait"}},
		{[]string{"--wait", "--timeout", "2m", "start", "i-1"}, []string{"start", "--wait", "--timeout", "2m", "i-1"}},
		{[]string{"--url", "http://x", "--json", "start", "i-1"}, []string{"start", "--url", "http://x", "--json", "i-1"}},
		{[]string{"--url=http://x", "start"}, []string{"start", "--url=http://x"}},
		{[]string{"-s", "claims", "keys", "issue"}, []string{"keys", "-s", "claims", "issue"}},
		{[]string{"--wait"}, []string{"--wait"}},
		{[]string{"--json", "--", "start"}, []string{"--json", "--", "start"}},
	} {
		assert.Equal(t, c.want, cli.CommandFirst(root, c.in), "%v", c.in)
	}
}
