// Command gen writes kernels.wasm, the SIMD128 kernel module emitted by
// package simd. Run it with `go generate ./core/kernels/simd/` (from the
// repository root) after changing the emitter; a test checks the committed
// file matches.
package main

import (
	"log"
	"os"

	"github.com/lora-playground/lora-playground/core/kernels/simd"
)

func main() {
	out := "kernels.wasm"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := os.WriteFile(out, simd.Module(), 0o644); err != nil {
		log.Fatal(err)
	}
}
