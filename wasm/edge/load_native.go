//go:build !(js && wasm)

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/wasm/edge/edgeapi"
)

// loadConfig bounds the loopback benchmark.
type loadConfig struct {
	URL         string
	N           int           // requests per phase
	Concurrency int           // clients in the concurrent phases
	Tokens      int           // max_tokens per generate request
	Budget      time.Duration // all phases together stop issuing requests after this
}

// staticPaths are the files a page load asks for first.
var staticPaths = []string{"/", "/wasm_exec.js", "/manifest.json", "/assets/css/app.css", "/models/nano/config.json"}

// phaseResult is one phase's latencies.
type phaseResult struct {
	name    string
	lat     []time.Duration
	errors  int
	firstEr string
	wall    time.Duration
}

// percentile is the nearest-rank p-th percentile of sorted d.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

func (r phaseResult) String() string {
	s := slices.Clone(r.lat)
	slices.Sort(s)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	line := fmt.Sprintf("%-28s n=%-4d errors=%-3d p50=%-10s p99=%-10s max=%-10s %.1f req/s",
		r.name, len(s), r.errors, ms(percentile(s, 50)), ms(percentile(s, 99)), ms(percentile(s, 100)),
		float64(len(s))/r.wall.Seconds())
	if r.firstEr != "" {
		line += "\n    first error: " + r.firstEr
	}
	return line
}

// runLoad uploads one adapter, then runs four bounded phases against a
// running edge (sequential and concurrent, static files and generation)
// and prints each phase's latency percentiles and errors to out.
func runLoad(cfg loadConfig, out io.Writer) error {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1" {
		return fmt.Errorf("-url must be a loopback address, got %q", cfg.URL)
	}
	if cfg.N < 1 || cfg.N > 10000 || cfg.Concurrency < 1 || cfg.Concurrency > 64 {
		return fmt.Errorf("-n must be 1..10000 and -c 1..64")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(cfg.Budget)

	// One adapter over the nano base, built to fit its config.
	res, err := client.Get(cfg.URL + "/models/nano/config.json")
	if err != nil {
		return err
	}
	cb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	mc, err := model.ParseConfig(cb)
	if err != nil {
		return fmt.Errorf("/models/nano/config.json: %w", err)
	}
	zip, _, err := randomAdapter(mc, 7, 4)
	if err != nil {
		return err
	}
	res, err = client.Post(cfg.URL+"/api/adapters", "application/zip", bytes.NewReader(zip))
	if err != nil {
		return err
	}
	var up edgeapi.Upload
	err = json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	if err != nil || up.ID == "" {
		return fmt.Errorf("upload: status %d: %v", res.StatusCode, err)
	}
	fmt.Fprintf(out, "load: %s, %d requests per phase, %d concurrent, %d tokens per generation, adapter %s…\n",
		cfg.URL, cfg.N, cfg.Concurrency, cfg.Tokens, up.ID[:12])

	static := func(i int) error {
		res, err := client.Get(cfg.URL + staticPaths[i%len(staticPaths)])
		if err != nil {
			return err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", staticPaths[i%len(staticPaths)], res.StatusCode)
		}
		return nil
	}
	gen := func(i int) error {
		req := map[string]any{"base": mc.Name, "prompt": "reverse: light =", "max_tokens": cfg.Tokens,
			"temperature": 0.8, "seed": i}
		if i%2 == 0 {
			req["adapter"] = up.ID
		}
		body, _ := json.Marshal(req)
		res, err := client.Post(cfg.URL+"/api/generate", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("generate: status %d: %s", res.StatusCode, bytes.TrimSpace(b))
		}
		return nil
	}
	for _, ph := range []struct {
		name string
		c    int
		f    func(int) error
	}{
		{"static, sequential", 1, static},
		{fmt.Sprintf("static, %d concurrent", cfg.Concurrency), cfg.Concurrency, static},
		{"generate, sequential", 1, gen},
		{fmt.Sprintf("generate, %d concurrent", cfg.Concurrency), cfg.Concurrency, gen},
	} {
		r := runPhase(ph.name, cfg.N, ph.c, deadline, ph.f)
		fmt.Fprintln(out, r)
	}
	if time.Now().After(deadline) {
		fmt.Fprintf(out, "load: the %v budget ran out; later phases are short\n", cfg.Budget)
	}
	return nil
}

// runPhase sends n requests through c workers, stopping early at deadline.
func runPhase(name string, n, c int, deadline time.Time, f func(int) error) phaseResult {
	r := phaseResult{name: name}
	var mu sync.Mutex
	next := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n || time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				err := f(i)
				d := time.Since(t0)
				mu.Lock()
				r.lat = append(r.lat, d)
				if err != nil {
					r.errors++
					if r.firstEr == "" {
						r.firstEr = err.Error()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.wall = time.Since(start)
	return r
}
