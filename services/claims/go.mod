module github.com/hexlambda/hexlambda/services/claims

go 1.26

require (
	github.com/getkin/kin-openapi v0.152.0 // indirect
	github.com/google/wire v0.7.0 // indirect
)
