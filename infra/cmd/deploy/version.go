package main

import (
	"fmt"
	"runtime/debug"
)

// version and commit may be stamped by a build
// (-ldflags "-X main.version=1.2.0 -X main.commit=abc1234"); a plain build
// says dev and takes the commit from the build's VCS information.
var (
	version = "dev"
	commit  = ""
)

// versionLine is what --version prints.
func versionLine() string {
	c := commit
	if c == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					c = s.Value[:12]
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("deploy %s (commit %s)", version, c)
}
