//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/providers/ec2wiring"
)

func initialize(ctx context.Context) (*apigw.Adapter, error) {
	wire.Build(ec2wiring.Act, wire.Value(providers.Operation(api.OpHoldInstance)))
	return nil, nil
}
