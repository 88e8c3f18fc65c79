//go:build !(js && wasm)

package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

const usage = `usage: go run ./wasm/edge <command> [flags]

  serve  -dist dist -addr 127.0.0.1:8788
         the site and the API natively, with in-memory R2 and KV: the same
         handlers and header rules the worker uses (no wrangler needed)
  stage  -dist dist -out wasm/edge/.site [-fixtures]
         copy the built site and write its _headers file, for wrangler;
         -fixtures adds what the API tests need if dist/ lacks it
  load   -url http://127.0.0.1:8787 -n 40 -c 4 -time 60s
         bounded loopback benchmark of /api/generate and static files;
         prints p50/p99 latency and errors
`

// main is the native side of the edge: tools around the worker.
func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fl := flag.NewFlagSet(cmd, flag.ExitOnError)
	switch cmd {
	case "serve":
		dist := fl.String("dist", "dist", "built site whose models/ the API reads")
		addr := fl.String("addr", "127.0.0.1:8788", "listen address")
		fl.Parse(args)
		srv := &Server{Blobs: &MemBlobs{}, Meta: &MemMeta{}, Assets: FSAssets{os.DirFS(*dist)}}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatalf("edge serve: %v", err)
		}
		fmt.Printf("edge (in-memory R2 and KV): http://%s/\n", ln.Addr())
		hs := &http.Server{Handler: siteHandler(*dist, srv), ReadHeaderTimeout: 10 * time.Second}
		log.Fatal(hs.Serve(ln))
	case "stage":
		dist := fl.String("dist", "dist", "built site to copy")
		out := fl.String("out", "wasm/edge/.site", "folder for wrangler's [assets] (emptied first)")
		fixtures := fl.Bool("fixtures", false, "also add what the API tests need: a fingerprinted probe file, and random nano/tiny models where dist/ has none")
		fl.Parse(args)
		n, err := stage(*dist, *out)
		if err != nil {
			log.Fatalf("edge stage: %v", err)
		}
		fmt.Printf("staged %d files from %s into %s (with _headers)\n", n, *dist, *out)
		if *fixtures {
			added, err := addFixtures(*out)
			if err != nil {
				log.Fatalf("edge stage: fixtures: %v", err)
			}
			fmt.Printf("test fixtures added: %s\n", strings.Join(added, ", "))
		}
	case "load":
		cfg := loadConfig{}
		fl.StringVar(&cfg.URL, "url", "http://127.0.0.1:8787", "base URL of a running edge (loopback)")
		fl.IntVar(&cfg.N, "n", 40, "requests per phase")
		fl.IntVar(&cfg.Concurrency, "c", 4, "concurrent clients in the concurrent phases")
		fl.IntVar(&cfg.Tokens, "tokens", 32, "max_tokens per generate request")
		fl.DurationVar(&cfg.Budget, "time", 90*time.Second, "stop every phase once this much time has passed in total")
		fl.Parse(args)
		if err := runLoad(cfg, os.Stdout); err != nil {
			log.Fatalf("edge load: %v", err)
		}
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}

// siteHandler stands in for Workers: /api/* goes to api, everything else
// is a static file from dir with the headers _headers would give it.
func siteHandler(dir string, api http.Handler) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" {
			api.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if ct, ok := contentTypes[path.Ext(r.URL.Path)]; ok {
			h.Set("Content-Type", ct)
		}
		if cc := CacheControl(r.URL.Path); cc != "" {
			h.Set("Cache-Control", cc)
		} else {
			h.Set("Cache-Control", "public, max-age=0, must-revalidate")
		}
		files.ServeHTTP(w, r)
	})
}
