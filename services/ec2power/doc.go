// Package ec2power will hold the ec2power service: starting, stopping and
// inspecting tagged EC2 instances over HTTP.
package ec2power
