//go:build !(js && wasm)

package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const usage = `usage: go run ./wasm/edge <command> [flags]

  serve  -dist dist -addr 127.0.0.1:8788
         the API natively, with in-memory R2 and KV and base models read
         from dist/; the same handlers the worker runs (no wrangler needed)
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
		fmt.Printf("edge API (in-memory stores): http://%s/api/health\n", ln.Addr())
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
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
