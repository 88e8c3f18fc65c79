// Package memory reports how much memory the process holds, for the
// benchmark's LoRA-versus-full-fine-tuning comparison.
//
// In js/wasm a Go program's memory is one WebAssembly linear memory that
// the runtime grows in 64 KiB pages and can never shrink, so its size at
// any moment is the peak so far: the number a browser tab actually pays.
// Go's runtime.MemStats says what that memory is used for (Sys is
// everything the runtime obtained, HeapSys the heap's share of it,
// HeapAlloc the live and not yet collected objects).
package memory

import "runtime"

// WasmPageSize is the size of a WebAssembly memory page in bytes.
const WasmPageSize = 64 << 10

// Usage is a snapshot of the process's memory.
type Usage struct {
	// LinearBytes is the WebAssembly linear memory's size (js/wasm only,
	// else 0). It only grows, so it is also the peak.
	LinearBytes int64 `json:"linear_bytes,omitempty"`
	Sys         int64 `json:"sys_bytes"`        // runtime.MemStats.Sys
	HeapSys     int64 `json:"heap_sys_bytes"`   // runtime.MemStats.HeapSys
	HeapAlloc   int64 `json:"heap_alloc_bytes"` // runtime.MemStats.HeapAlloc
}

// Read takes a snapshot. runtime.ReadMemStats stops the world briefly:
// call it between training steps, never inside one.
func Read() Usage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Usage{LinearBytes: int64(linearPages()) * WasmPageSize,
		Sys: int64(ms.Sys), HeapSys: int64(ms.HeapSys), HeapAlloc: int64(ms.HeapAlloc)}
}

// Max returns the element-wise maximum of u and v, to track peaks across
// snapshots (LinearBytes needs no tracking; the others can fall).
func (u Usage) Max(v Usage) Usage {
	return Usage{LinearBytes: max(u.LinearBytes, v.LinearBytes), Sys: max(u.Sys, v.Sys),
		HeapSys: max(u.HeapSys, v.HeapSys), HeapAlloc: max(u.HeapAlloc, v.HeapAlloc)}
}
