package main

import (
	"fmt"
	"io"

	"github.com/lora-playground/lora-playground/core/memory"
)

// printMemory prints the memory line of lora bench: in js/wasm the linear
// memory's size (its peak, since it never shrinks), then what the Go
// runtime holds.
func printMemory(w io.Writer, u memory.Usage) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprint(w, "memory:")
	if u.LinearBytes > 0 {
		fmt.Fprintf(w, " wasm linear memory %.1f MiB (peak),", mib(u.LinearBytes))
	}
	fmt.Fprintf(w, " Go runtime Sys %.1f MiB, HeapSys %.1f MiB, HeapAlloc %.1f MiB\n", mib(u.Sys), mib(u.HeapSys), mib(u.HeapAlloc))
}
