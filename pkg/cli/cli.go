// Package cli holds what the project's command-line tools share on top of
// cobra.
package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CommandFirst moves the command name (the first argument that is neither
// a flag nor a flag's value) to the front of args, so a command's flags may
// come before it as well as after: "tool --wait start ID" is "tool start
// --wait ID". Flags taking a value are known from root's command tree.
func CommandFirst(root *cobra.Command, args []string) []string {
	valued := map[string]bool{}
	var note func(cmd *cobra.Command)
	note = func(cmd *cobra.Command) {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.NoOptDefVal == "" {
				valued["--"+f.Name] = true
				if f.Shorthand != "" {
					valued["-"+f.Shorthand] = true
				}
			}
		})
		for _, sub := range cmd.Commands() {
			note(sub)
		}
	}
	note(root)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args
		case strings.HasPrefix(a, "-"):
			if !strings.Contains(a, "=") && valued[a] {
				i++
			}
		case i == 0:
			return args
		default:
			out := append([]string{a}, args[:i]...)
			return append(out, args[i+1:]...)
		}
	}
	return args
}

// VersionLine is what a tool's --version prints: "NAME VERSION (commit
// COMMIT)". A release build stamps version and commit (-ldflags "-X
// main.version=1.2.0 -X main.commit=abc1234"); a plain build passes "dev"
// and "", and the commit is taken from the build's VCS information.
func VersionLine(name, version, commit string) string {
	if commit == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					commit = s.Value[:12]
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("%s %s (commit %s)", name, version, commit)
}
