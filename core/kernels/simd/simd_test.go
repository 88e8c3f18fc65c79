package simd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestCommittedModuleIsFresh checks that kernels.wasm is exactly what the
// emitter writes now; after changing the emitter, run go generate.
func TestCommittedModuleIsFresh(t *testing.T) {
	got, err := os.ReadFile("kernels.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if want := Module(); !bytes.Equal(got, want) {
		t.Fatalf("kernels.wasm (%d bytes) differs from a fresh emission (%d bytes): run go generate ./core/kernels/simd/", len(got), len(want))
	}
}

// TestModuleValidates asks node's WebAssembly.validate about the module,
// when node is available (natively; the js/wasm tests run the kernels).
func TestModuleValidates(t *testing.T) {
	if runtime.GOOS == "js" {
		t.Skip("needs to start node")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	p := filepath.Join(t.TempDir(), "k.wasm")
	if err := os.WriteFile(p, Module(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `const b = require('fs').readFileSync(process.argv[1]);
if (!WebAssembly.validate(b)) { console.log('invalid'); process.exit(1); }
const m = new WebAssembly.Module(b);
console.log(JSON.stringify([WebAssembly.Module.imports(m), WebAssembly.Module.exports(m)]));`
	out, err := exec.Command(node, "-e", script, p).CombinedOutput()
	if err != nil {
		// Compile errors name the function and byte offset.
		_, cerr := exec.Command(node, "-e", `new WebAssembly.Module(require('fs').readFileSync(process.argv[1]))`, p).CombinedOutput()
		t.Fatalf("node rejects the module: %s %v", out, cerr)
	}
	const want = `[[{"module":"env","name":"memory","kind":"memory"}],[{"name":"sgemm","kind":"function"},{"name":"sdot_nt","kind":"function"},{"name":"gelu_fwd","kind":"function"},{"name":"gelu_bwd","kind":"function"},{"name":"softmax_causal","kind":"function"},{"name":"layernorm_fwd","kind":"function"},{"name":"layernorm_bwd","kind":"function"}]]`
	if got := string(bytes.TrimSpace(out)); got != want {
		t.Fatalf("imports/exports %s, want %s", got, want)
	}
}
