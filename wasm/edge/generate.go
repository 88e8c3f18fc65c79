package main

import (
	"errors"
	"time"
)

// errDeadline ends a generation that reached the time cap.
var errDeadline = errors.New("time limit reached")

// stopAt returns a sample.Options.Continue function that stops generation
// once now() passes deadline. Go on wasm cannot be preempted, so the clock
// is checked between tokens; the tokens made so far come back with
// errDeadline, and the handler says how far it got.
func stopAt(now func() time.Time, deadline time.Time) func(int) error {
	return func(int) error {
		if now().After(deadline) {
			return errDeadline
		}
		return nil
	}
}
