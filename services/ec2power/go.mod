module github.com/hexlambda/hexlambda/services/ec2power

go 1.26
