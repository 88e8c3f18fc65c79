package main

import (
	"fmt"
	"io"
	"time"

	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/memory"
	"github.com/lora-playground/lora-playground/core/profile"
	"github.com/lora-playground/lora-playground/core/train"
)

// profileSteps takes n more steps with the per-phase profile on and
// returns it, each phase per step beside the steps' measured mean. They
// come after the timed steps, so the clock readings cannot slow those.
func profileSteps(tr *train.Trainer, n int) (profile.Profile, error) {
	if n < 1 {
		return profile.Profile{}, nil
	}
	profile.Reset()
	profile.Enable(true)
	start := time.Now()
	_, err := tr.Run(n, 0)
	el := time.Since(start)
	profile.Enable(false)
	return profile.Snapshot(n, el/time.Duration(n)), err
}

// benchRuntime names the runtime in lora bench's text report, marking the
// js/wasm build that runs the SIMD128 kernels.
func benchRuntime() string {
	if kernels.SIMD {
		return runtimeName() + "+simd128"
	}
	return runtimeName()
}

// printMemory prints the memory lines of lora bench: in js/wasm the linear
// memory's size after the run (its peak, since it never shrinks) and how
// much of it the run added to what the program held before building the
// model, data and trainer; then what the Go runtime holds.
func printMemory(w io.Writer, before, after memory.Usage) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprint(w, "memory:")
	if after.LinearBytes > 0 {
		fmt.Fprintf(w, " wasm linear memory %.1f MiB (peak; the run added %.1f MiB to the program's %.1f MiB),",
			mib(after.LinearBytes), mib(after.LinearBytes-before.LinearBytes), mib(before.LinearBytes))
	}
	fmt.Fprintf(w, " Go runtime Sys %.1f MiB, HeapSys %.1f MiB, HeapAlloc %.1f MiB\n", mib(after.Sys), mib(after.HeapSys), mib(after.HeapAlloc))
}
