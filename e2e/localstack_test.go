package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
)

// LocalStackImage is the pinned image: a community release that needs no
// auth token. E2E_LOCALSTACK_IMAGE overrides it.
const LocalStackImage = "localstack/localstack:3.8.1"

var container *localstack.LocalStackContainer

// dockerAnswers reports whether a Docker engine is reachable; testcontainers
// panics when none is, so the check recovers.
func dockerAnswers() (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return false
	}
	defer func() { _ = provider.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return provider.Health(ctx) == nil
}

func setupLocalStack() (*env, string, error) {
	if !dockerAnswers() {
		return nil, "E2E_TARGET=localstack needs a Docker engine, and none answers here (testcontainers-go found no healthy provider)", nil
	}
	image := LocalStackImage
	if v := os.Getenv("E2E_LOCALSTACK_IMAGE"); v != "" {
		image = v
	}
	ctx := context.Background()
	c, err := localstack.Run(ctx, image)
	if err != nil {
		return nil, "", fmt.Errorf("start %s: %w", image, err)
	}
	container = c
	port, err := c.MappedPort(ctx, "4566/tcp")
	if err != nil {
		return nil, "", err
	}
	host, err := c.Host(ctx)
	if err != nil {
		return nil, "", err
	}
	ep := fmt.Sprintf("http://%s:%d", host, port.Num())
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(ep),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		return nil, "", err
	}
	e := &env{target: "localstack", cfg: cfg, endpoint: ep}
	if err := e.deployAndSeed(); err != nil {
		return e, "", err
	}
	// LocalStack runs the functions itself behind its execute-api URLs.
	e.claimsURL = fmt.Sprintf("%s/restapis/%s/%s/_user_request_", ep, e.claims["ApiId"], Stage)
	e.powerURL = fmt.Sprintf("%s/restapis/%s/%s/_user_request_", ep, e.power["ApiId"], Stage)
	return e, "", nil
}

func stopContainer() {
	if container != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testcontainers.TerminateContainer(container, testcontainers.StopContext(ctx)); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "stop LocalStack:", err)
		}
	}
}
