package ec2_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// failingEC2 answers every request with one EC2 error and counts requests.
func failingEC2(t *testing.T, status int, code string) (*awsec2.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>injected %s</Message></Error></Errors><RequestID>r-1</RequestID></Response>`, code, code)
	}))
	t.Cleanup(srv.Close)
	client := awsec2.New(awsec2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("a", "b", ""),
		// The standard retryer, without waiting between attempts.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
	return client, &n
}

func TestErrorCodesMapToPortErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		code   string
		want   error
	}{
		{400, "InvalidInstanceID.NotFound", fleet.ErrNotFound},
		{400, "InvalidInstanceID.Malformed", fleet.ErrNotFound},
		{400, "IncorrectInstanceState", fleet.ErrIncorrectState},
		{500, "InsufficientInstanceCapacity", fleet.ErrInsufficientCapacity},
		{503, "RequestLimitExceeded", fleet.ErrThrottled},
		{403, "UnauthorizedOperation", fleet.ErrDenied},
		{412, "DryRunOperation", fleet.ErrDryRunSucceeded},
		{400, "UnsupportedHibernationConfiguration", fleet.ErrHibernationUnsupported},
		{500, "InternalError", fleet.ErrUnavailable},
		{503, "Unavailable", fleet.ErrUnavailable},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			t.Parallel()
			client, _ := failingEC2(t, c.status, c.code)
			f := ec2.NewFleet(client)
			_, err := f.Start(context.Background(), []string{"i-0123456789abcdef0"}, fleet.ActionOptions{})
			require.ErrorIs(t, err, c.want)
			_, err = f.Stop(context.Background(), []string{"i-0123456789abcdef0"}, fleet.ActionOptions{})
			require.ErrorIs(t, err, c.want)
			_, err = f.Describe(context.Background(), "i-0123456789abcdef0")
			require.ErrorIs(t, err, c.want)
		})
	}
}

func TestThrottlingIsRetriedByTheSDKFirst(t *testing.T) {
	t.Parallel()
	client, n := failingEC2(t, 503, "RequestLimitExceeded")
	_, err := ec2.NewFleet(client).Describe(context.Background(), "i-0123456789abcdef0")
	require.ErrorIs(t, err, fleet.ErrThrottled)
	assert.Equal(t, int32(3), n.Load(), "the SDK's standard retryer makes three attempts")
}

func TestUnknownCodesStayUnmapped(t *testing.T) {
	t.Parallel()
	client, _ := failingEC2(t, 400, "SomethingNew")
	_, err := ec2.NewFleet(client).Start(context.Background(), []string{"i-0123456789abcdef0"}, fleet.ActionOptions{})
	require.Error(t, err)
	for _, sentinel := range []error{fleet.ErrNotFound, fleet.ErrThrottled, fleet.ErrDenied, fleet.ErrIncorrectState} {
		assert.NotErrorIs(t, err, sentinel)
	}
}

// An EC2 endpoint that cannot be reached is ErrUnavailable, which the API
// answers 503 with a Retry-After, never a 500.
func TestAnUnreachableEC2IsUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	client := awsec2.New(awsec2.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(closed), Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
	f := ec2.NewFleet(client)
	_, err = f.Describe(context.Background(), "i-0123456789abcdef0")
	require.ErrorIs(t, err, fleet.ErrUnavailable)
	_, err = f.Start(context.Background(), []string{"i-0123456789abcdef0"}, fleet.ActionOptions{})
	require.ErrorIs(t, err, fleet.ErrUnavailable)
}
