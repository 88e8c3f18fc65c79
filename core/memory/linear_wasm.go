//go:build js && wasm

package memory

// linearPages returns the current size of linear memory in pages (the
// memory.size instruction; see linear_wasm.s).
func linearPages() int32
