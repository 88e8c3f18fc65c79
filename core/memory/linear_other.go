//go:build !(js && wasm)

package memory

// linearPages is 0 outside js/wasm: there is no linear memory.
func linearPages() int32 { return 0 }
