package porttest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// race runs n attempts at once and returns how many succeeded. An attempt
// that fails with one of lost lost the race; any other error fails the
// test (reported here, on the test's goroutine).
func race(t *testing.T, n int, attempt func(i int) error, lost ...error) int32 {
	t.Helper()
	var won atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			err := attempt(i)
			if err == nil {
				won.Add(1)
				return
			}
			for _, l := range lost {
				if errors.Is(err, l) {
					return
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return won.Load()
}
