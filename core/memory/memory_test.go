package memory

import (
	"runtime"
	"testing"
)

var sink [][]byte

// TestReadSeesGrowth allocates 8 MiB and checks that every figure that
// should cover it does: the heap, the runtime's total and, in js/wasm,
// linear memory (which must also be a whole number of pages and at least
// everything the runtime obtained).
func TestReadSeesGrowth(t *testing.T) {
	before := Read()
	for i := 0; i < 8; i++ {
		sink = append(sink, make([]byte, 1<<20))
	}
	after := Read()
	const grew = 8 << 20
	if after.HeapAlloc < before.HeapAlloc+grew*9/10 {
		t.Errorf("HeapAlloc %d → %d after allocating 8 MiB", before.HeapAlloc, after.HeapAlloc)
	}
	if after.Sys < grew || after.HeapSys < grew {
		t.Errorf("Sys %d, HeapSys %d: less than the 8 MiB just allocated", after.Sys, after.HeapSys)
	}
	if runtime.GOARCH == "wasm" {
		if after.LinearBytes%WasmPageSize != 0 || after.LinearBytes < after.Sys || after.LinearBytes < before.LinearBytes {
			t.Errorf("linear memory %d bytes (before %d), Sys %d", after.LinearBytes, before.LinearBytes, after.Sys)
		}
	} else if after.LinearBytes != 0 {
		t.Errorf("LinearBytes = %d outside wasm", after.LinearBytes)
	}
	if m := before.Max(after); m != after.Max(before) || m.HeapAlloc != max(before.HeapAlloc, after.HeapAlloc) {
		t.Errorf("Max is not the element-wise maximum: %+v", m)
	}
	sink = nil
}
