package netfail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/netfail"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr, nil)
	require.NoError(t, err)
	_, refused := http.DefaultClient.Do(req)
	require.Error(t, refused)
	assert.True(t, netfail.Unreachable(fmt.Errorf("get: %w", refused)), "connection refused")
	assert.True(t, netfail.Unreachable(io.ErrUnexpectedEOF), "cut short")
	assert.True(t, netfail.Unreachable(&url.Error{Op: "Post", URL: "http://dynamodb", Err: io.EOF}), "closed before an answer")
	assert.True(t, netfail.Unreachable(&net.DNSError{Err: "no such host", Name: "x.invalid"}))

	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	assert.False(t, netfail.Unreachable(fmt.Errorf("op: %w", ctx.Err())), "the caller's deadline is not the network")
	assert.False(t, netfail.Unreachable(errors.New("ValidationException")))
	assert.False(t, netfail.Unreachable(nil))
}
