package main

import (
	clitool "github.com/hexlambda/hexlambda/pkg/cli"
)

// version and commit are stamped by the release build
// (-ldflags "-X main.version=1.1.0 -X main.commit=abc1234"); a plain build
// says dev and takes the commit from the build's VCS information.
var (
	version = "dev"
	commit  = ""
)

// versionLine is what --version prints.
func versionLine() string { return clitool.VersionLine("ec2powerctl", version, commit) }
