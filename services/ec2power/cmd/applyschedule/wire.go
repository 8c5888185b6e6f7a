//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/services/ec2power/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/providers/ec2wiring"
)

func initialize(ctx context.Context) (*providers.Windows, error) {
	wire.Build(ec2wiring.ApplySchedule)
	return nil, nil
}
