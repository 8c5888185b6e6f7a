//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

func initialize(ctx context.Context) (*apigw.Adapter, error) {
	wire.Build(providers.ReadSchedules, wire.Value(providers.Operation(api.OpReadSchedules)))
	return nil, nil
}
