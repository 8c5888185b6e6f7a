// Package e2e will hold the end-to-end tests that drive the deployed
// services over HTTP against an AWS emulator.
package e2e
