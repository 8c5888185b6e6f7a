module github.com/hexlambda/hexlambda/e2e

go 1.26
