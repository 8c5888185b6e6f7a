package ports

import "time"

// Clock tells the time; tests substitute a fixed or stepping clock.
type Clock interface {
	Now() time.Time
}

// IDGenerator returns new unique identifiers.
type IDGenerator interface {
	NewID() string
}
