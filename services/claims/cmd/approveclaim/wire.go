//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/providers"
)

func initialize(ctx context.Context) (*apigw.Adapter, error) {
	wire.Build(providers.Single, wire.Value(providers.Operation(api.OpApproveClaim)))
	return nil, nil
}
