package main

import (
	"github.com/hexlambda/hexlambda/pkg/cli"
)

// version and commit may be stamped by a build
// (-ldflags "-X main.version=1.2.0 -X main.commit=abc1234"); a plain build
// says dev and takes the commit from the build's VCS information.
var (
	version = "dev"
	commit  = ""
)

// versionLine is what --version prints.
func versionLine() string { return cli.VersionLine("deploy", version, commit) }
