// Package porttest holds the contract suites of the ports: reusable tests
// that every adapter of a port must pass, so that the memory adapters and
// the cloud adapters behave the same.
package porttest

import (
	"sync"
	"time"
)

// Clock is a settable clock for contract tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now implements ports.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
