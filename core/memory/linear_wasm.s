//go:build js && wasm

#include "textflag.h"

// func linearPages() int32: memory.size of memory 0, as runtime·currentMemory.
TEXT ·linearPages(SB), NOSPLIT, $0
	Get SP
	CurrentMemory
	I32Store ret+0(FP)
	RET
