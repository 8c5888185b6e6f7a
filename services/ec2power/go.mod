module github.com/hexlambda/hexlambda/services/ec2power

go 1.26

require github.com/hexlambda/hexlambda/pkg v0.0.0

replace github.com/hexlambda/hexlambda/pkg => ../../pkg
