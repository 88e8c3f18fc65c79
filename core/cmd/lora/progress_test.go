package main

import (
	"strings"
	"testing"
	"time"
)

// TestProgress checks the line's content, the throttling of redraws and
// that an invisible progress writes nothing.
func TestProgress(t *testing.T) {
	var b strings.Builder
	clock := time.Unix(0, 0)
	p := newProgress(&b, 10, "train", true)
	p.now = func() time.Time { return clock }
	p.start = clock
	clock = clock.Add(2 * time.Second)
	p.Add(4) // redraws: the first draw is due
	if got, want := b.String(), "\rtrain 4/10 (40%) [2s<3s]  "; got != want {
		t.Fatalf("first draw %q, want %q", got, want)
	}
	clock = clock.Add(100 * time.Millisecond)
	p.Describe("train loss 1.234")
	p.Add(1) // within the interval: no redraw
	if strings.Count(b.String(), "\r") != 1 {
		t.Fatalf("redrew within the interval: %q", b.String())
	}
	p.Finish()
	if !strings.HasSuffix(b.String(), "\rtrain loss 1.234 5/10 (50%) [2s<2s]  ") {
		t.Fatalf("final draw %q", b.String())
	}

	b.Reset()
	q := newProgress(&b, 3, "x", false)
	q.Add(3)
	q.Finish()
	if b.Len() != 0 {
		t.Fatalf("invisible progress wrote %q", b.String())
	}
}
