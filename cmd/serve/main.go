// Command serve serves the built playground (dist/) on a local address, so
// `./build.sh serve` needs nothing but Go. It exists instead of
// `python -m http.server` because browsers refuse to compile a .wasm served
// with the wrong Content-Type (instantiateStreaming wants application/wasm)
// and because it must stay on 127.0.0.1 by default.
package main

import (
	"flag"
	"fmt"
	"github.com/lora-playground/lora-playground/internal/sitetypes"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"time"
)

// contentTypes pins the types the playground depends on, whatever the
// host's mime tables say (minimal containers often have none).
var contentTypes = sitetypes.ByExtension

func init() {
	for ext, typ := range contentTypes {
		if err := mime.AddExtensionType(ext, typ); err != nil {
			panic(err)
		}
	}
}

// handler serves dir. It disables caching so a rebuild is seen on reload:
// a stale ui.wasm next to a fresh wasm_exec.js fails in confusing ways. It
// isolates the page (sitetypes.Isolation), so that training workers can
// share memory.
func handler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		for _, h := range sitetypes.Isolation {
			w.Header().Set(h[0], h[1])
		}
		files.ServeHTTP(w, r)
	})
}

func main() {
	dir := flag.String("dir", "dist", "directory to serve")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		log.Fatalf("serve: %s is not a directory; run ./build.sh first", *dir)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("serve: %v", err)
	}
	fmt.Printf("LoRA Playground: http://%s/\n", ln.Addr())
	srv := &http.Server{Handler: handler(*dir), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
