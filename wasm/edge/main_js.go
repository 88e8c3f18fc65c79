//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/fetch"
	"github.com/syumai/workers/cloudflare/kv"
	"github.com/syumai/workers/cloudflare/r2"
)

// Binding names, as declared in wrangler.toml.
const (
	bucketBinding = "ADAPTERS"     // R2: adapter archives
	kvBinding     = "ADAPTER_META" // KV: their metadata
	assetsBinding = "ASSETS"       // the static site
)

// main binds the API to the Workers runtime. It runs once per request (the
// generated worker.mjs starts a fresh Go instance each time).
func main() {
	h, err := bind()
	if err != nil {
		msg := err.Error()
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, errorf(http.StatusInternalServerError, "misconfigured", "%s", msg))
		})
	}
	workers.Serve(h)
}

func bind() (http.Handler, error) {
	bucket, err := r2.NewBucket(bucketBinding)
	if err != nil {
		return nil, fmt.Errorf("R2 binding %s: %w", bucketBinding, err)
	}
	ns, err := kv.NewNamespace(kvBinding)
	if err != nil {
		return nil, fmt.Errorf("KV binding %s: %w", kvBinding, err)
	}
	assets := cloudflare.GetBinding(assetsBinding)
	if assets.IsUndefined() {
		return nil, fmt.Errorf("assets binding %s is undefined", assetsBinding)
	}
	client := fetch.NewClient(fetch.WithBinding(assets))
	return &Server{Blobs: r2Blobs{bucket}, Meta: kvMeta{ns}, Assets: fetchAssets{client}}, nil
}

// r2Blobs is a BlobStore over an R2 bucket.
type r2Blobs struct{ b *r2.Bucket }

func (s r2Blobs) Exists(_ context.Context, key string) (bool, error) {
	o, err := s.b.Head(key)
	return o != nil, err
}

func (s r2Blobs) Get(_ context.Context, key string) (*Blob, error) {
	o, err := s.b.Get(key)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, ErrNotFound
	}
	b, err := io.ReadAll(o.Body)
	if err != nil {
		return nil, err
	}
	return &Blob{Data: b, Uploaded: o.Uploaded}, nil
}

func (s r2Blobs) Put(_ context.Context, key string, data []byte, contentType string) error {
	_, err := s.b.Put(key, io.NopCloser(bytes.NewReader(data)), &r2.PutOptions{
		HTTPMetadata: r2.HTTPMetadata{ContentType: contentType}})
	return err
}

// kvMeta is a MetaStore over a KV namespace.
type kvMeta struct{ ns *kv.Namespace }

// kvMissing is what kv.Namespace.GetString returns for a missing key (the
// JS null, converted to a string). Values stored here are JSON objects, so
// it cannot be a real value.
const kvMissing = "<null>"

func (m kvMeta) Get(_ context.Context, key string) (string, error) {
	v, err := m.ns.GetString(key, nil)
	if err != nil {
		return "", err
	}
	if v == kvMissing {
		return "", ErrNotFound
	}
	return v, nil
}

func (m kvMeta) Put(_ context.Context, key, value string) error {
	return m.ns.PutString(key, value, nil)
}

// fetchAssets reads static assets through the ASSETS binding. It calls
// fetch.Client.Do, not an *http.Client: linking net/http's client side
// (transport, HTTP/2, TLS) would add 5 MB to the worker, 1.2 MB gzip.
type fetchAssets struct{ c *fetch.Client }

func (a fetchAssets) Read(ctx context.Context, urlPath string, limit int64) ([]byte, error) {
	// The host is ignored by the binding; the path selects the asset.
	req, err := fetch.NewRequest(ctx, http.MethodGet, "https://assets.invalid"+urlPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.c.Do(req, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("assets: %s: status %d", urlPath, resp.StatusCode)
	}
	return readLimited(resp.Body, limit)
}
